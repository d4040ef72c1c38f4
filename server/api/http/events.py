"""Profile Store event JSON in and out: the body of `POST api/v2.0/TrackEvents/track` as the
TrackEvent messages the engine stores, and result rows as the Profile Store writes them.

The fields are the stored columns (event_schema.py, tied to the contract), matched without
regard to case as the Profile Store's .NET deserializer matches them (`EventType`, `eventType`).
A field that is not one of them is refused rather than dropped, so a misspelt field loses no
data silently. Times are RFC 3339; one without a zone is UTC, as the Profile Store reads them.
"""
from __future__ import annotations

import datetime as dt

import orjson
from google.protobuf.descriptor import FieldDescriptor

from trackstore.v1 import trackevents_pb2 as pb

from ... import nesting
from ...errors import BadEvent, BadRequest, FieldViolation
from ...event_schema import COLUMN_NAMES, FIELDS
from ...limits import MAX_JSON_DEPTH
from ...rows import ResultRows, format_datetime_ticks

SCOPE_FIELD = "Scope"
_BY_LOWER_NAME = {name.lower(): name for name in COLUMN_NAMES}


def _setter(column: str):
    """How a JSON value of `column` goes into a TrackEvent: a string field, the JSON-text member
    of a oneof (User, Payload), or the event time."""
    fields = FIELDS[column]
    json_text = [f for f in fields if f.name.endswith("_json")]
    if json_text:
        return _json_object_setter(json_text[0].name)
    if fields[0].type == FieldDescriptor.TYPE_STRING:
        return _string_setter(fields[0].name)
    return _time_setter(fields[0].name)


def _string_setter(name: str):
    def put(event: pb.TrackEvent, value) -> None:
        if not isinstance(value, str):
            raise ValueError("must be a string")
        setattr(event, name, value)

    return put


def _json_object_setter(name: str):
    def put(event: pb.TrackEvent, value) -> None:
        if not isinstance(value, dict):
            raise ValueError("must be a JSON object")
        if nesting.deeper_than(value):
            raise ValueError(f"nests deeper than {MAX_JSON_DEPTH} levels, the most a stored "
                             f"JSON value may (MAX_JSON_DEPTH)")
        setattr(event, name, orjson.dumps(value).decode())

    return put


def _time_setter(name: str):
    def put(event: pb.TrackEvent, value) -> None:
        getattr(event, name).FromDatetime(parse_time(value))

    return put


_SETTERS = {column: _setter(column) for column in COLUMN_NAMES}


def parse_time(value) -> dt.datetime:
    """An RFC 3339 time as naive UTC; .NET's seven fractional digits are read to the
    microsecond, the precision the store keeps."""
    if not isinstance(value, str):
        raise ValueError("must be an RFC 3339 time such as 2020-01-23T21:27:49.3361008Z")
    try:
        parsed = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"{value!r} is not an RFC 3339 time such as "
                         f"2020-01-23T21:27:49.3361008Z") from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return parsed


def _event(document, where: str) -> tuple[str, pb.TrackEvent]:
    """(the event's Scope, or "", the event) from one JSON object."""
    if not isinstance(document, dict):
        raise BadEvent(f"{where} must be a JSON object", [FieldViolation(where, "not an object")])
    event = pb.TrackEvent()
    scope = ""
    seen: dict[str, str] = {}
    for key, value in document.items():
        column = _BY_LOWER_NAME.get(key.lower())
        if column is None:
            raise BadEvent(f"{where}: unknown field {key!r}; the fields are "
                           f"{', '.join(COLUMN_NAMES)}", [FieldViolation(f"{where}.{key}",
                                                                         "unknown field")])
        if column in seen:
            raise BadEvent(f"{where}: {key!r} repeats {seen[column]!r}",
                           [FieldViolation(f"{where}.{key}", "given twice")])
        seen[column] = key
        if value is None:
            continue
        if column == SCOPE_FIELD:
            if not isinstance(value, str):
                raise BadEvent(f"{where}.{key} must be a string",
                               [FieldViolation(f"{where}.{key}", "must be a string")])
            scope = value
            continue
        try:
            _SETTERS[column](event, value)
        except ValueError as error:
            raise BadEvent(f"{where}.{key} {error}",
                           [FieldViolation(f"{where}.{key}", str(error))]) from None
    return scope, event


def track_request(body) -> tuple[str, list[pb.TrackEvent], bool]:
    """(the scope, the events, whether the body was one event rather than an array) of a track
    body. Every event of a request shares its scope, so the request is stored all or nothing
    as a gRPC Track batch is."""
    single = isinstance(body, dict)
    documents = [body] if single else body
    if not isinstance(documents, list):
        raise BadRequest("the body must be an event (a JSON object) or an array of events",
                         [FieldViolation("body", "not an event or an array of events")])
    scopes: set[str] = set()
    events = []
    for index, document in enumerate(documents):
        scope, event = _event(document, "event" if single else f"events[{index}]")
        scopes.add(scope or "default")
        events.append(event)
    if len(scopes) > 1:
        raise BadRequest(
            f"the events of one request must share a Scope, got {', '.join(sorted(scopes))}",
            [FieldViolation("Scope", "differs between the events")])
    return (scopes.pop() if scopes else "default"), events, single


def items(rows: ResultRows) -> list[dict]:
    """Result rows keyed by Profile Store field names, times with seven fractional digits."""
    return rows.items(format_datetime_ticks)
