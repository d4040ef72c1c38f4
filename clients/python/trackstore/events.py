"""Events as users have them (Profile Store JSON objects) and as the wire carries them.

An event is a plain dict keyed by Profile Store field names (`EventType`, `User`, `Payload`,
`EventTime`, ...) or a generated `trackstore.v1.TrackEvent`. `User` and `Payload` travel as
compact JSON text, which the server decodes 2 to 4 times faster than a Struct.

TrackIds: `to_message(event, assign_id=True)` gives an event without one a UUIDv7 whose time
field is the event's time, as the server does for the ids it makes, so a retried Track carries
the same ids (the server stores a TrackId once) and a Delete by id still reads only the row
groups of its time.
"""
from __future__ import annotations

import datetime as dt
import re
import time

import orjson
import uuid_utils
from google.protobuf import json_format, timestamp_pb2

from trackstore.v1 import trackevents_pb2 as pb

# Profile Store name -> proto field, for the plain string fields.
STRING_FIELDS = {
    "TrackId": "track_id",
    "DeviceId": "device_id",
    "EventType": "event_type",
    "Value": "value",
    "Scope": "scope",
    "PageUri": "page_uri",
    "PageTitle": "page_title",
    "RemoteAddress": "remote_address",
    "SessionId": "session_id",
    "CountryCode": "country_code",
    "City": "city",
}
JSON_FIELDS = {"User": "user_json", "Payload": "payload_json"}
# The order of a stored event's fields (List items, the columns of `Events`).
EVENT_FIELD_ORDER = (
    "TrackId", "DeviceId", "EventType", "Value", "Scope", "PageUri", "PageTitle", "RemoteAddress",
    "SessionId", "User", "Payload", "CountryCode", "City", "EventTime",
)

_RFC3339 = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})?$"
)
_UUID7_MAX_MILLIS = (1 << 48) - 1


def parse_event_time(text: str) -> timestamp_pb2.Timestamp:
    """RFC 3339 with up to 9 fractional digits (.NET writes 7: ...49.3361008Z); no zone = UTC."""
    match = _RFC3339.match(text.strip())
    if not match:
        raise ValueError(f"EventTime {text!r} is not an RFC 3339 time like 2020-01-23T21:27:49Z")
    date, clock, fraction, zone = match.groups()
    if zone is None or zone in ("Z", "z"):
        zone = "+00:00"
    try:
        parsed = dt.datetime.fromisoformat(f"{date}T{clock}{zone}")
    except ValueError:
        raise ValueError(f"EventTime {text!r} is not a valid date and time") from None
    nanos = int((fraction or "").ljust(9, "0"))
    return timestamp_pb2.Timestamp(seconds=int(parsed.timestamp()), nanos=nanos)


def event_time(value) -> timestamp_pb2.Timestamp:
    """An EventTime given as RFC 3339 text, a datetime (naive = UTC) or a Timestamp."""
    if isinstance(value, str):
        return parse_event_time(value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        stamp = timestamp_pb2.Timestamp()
        stamp.FromDatetime(value)
        return stamp
    if isinstance(value, timestamp_pb2.Timestamp):
        return value
    raise ValueError(f"EventTime must be RFC 3339 text or a datetime, not {type(value).__name__}")


def track_id_at(unix_nanos: int) -> str:
    """A fresh UUIDv7 whose time field (milliseconds) is `unix_nanos`."""
    millis = min(max(unix_nanos // 1_000_000, 0), _UUID7_MAX_MILLIS)
    return str(uuid_utils.uuid7(nanoseconds=millis * 1_000_000))


def _json_text(name: str, value) -> str:
    if not isinstance(value, dict):
        raise ValueError(f"{name} must be a JSON object")
    try:
        return orjson.dumps(value).decode()
    except orjson.JSONEncodeError as error:  # e.g. nested deeper than orjson's 254 levels
        raise ValueError(f"{name} cannot be written as JSON: {error}") from None


def _fields_of(document: dict) -> dict:
    fields: dict = {}
    for name, value in document.items():
        if value is None:
            continue
        field = STRING_FIELDS.get(name)
        if field is not None:
            fields[field] = value if isinstance(value, str) else str(value)
        elif name in JSON_FIELDS:
            fields[JSON_FIELDS[name]] = _json_text(name, value)
        elif name == "EventTime":
            fields["event_time"] = event_time(value)
        else:
            unknown = sorted(set(document) - set(STRING_FIELDS) - set(JSON_FIELDS) - {"EventTime"})
            raise ValueError(f"unknown event fields: {', '.join(unknown)}")
    return fields


def event_from_json(document: dict) -> pb.TrackEvent:
    """Builds a TrackEvent from a Profile Store JSON object (User/Payload sent as JSON text)."""
    if not isinstance(document, dict):
        raise ValueError("an event must be a JSON object")
    return pb.TrackEvent(**_fields_of(document))


def to_message(event, assign_id: bool, default_time_ns: int | None = None) -> pb.TrackEvent:
    """`event` (a dict or a TrackEvent) as a TrackEvent. An event without EventTime gets
    `default_time_ns` when given (else the server sets its receive time); with `assign_id`, an
    event without a TrackId gets a UUIDv7 of its EventTime (or of now).

    A TrackEvent passed in is never changed: one that needs a field set is copied."""
    if isinstance(event, pb.TrackEvent):
        return _completed(event, assign_id, default_time_ns)
    if not isinstance(event, dict):
        raise ValueError("an event must be a JSON object")
    fields = _fields_of(event)
    stamp = fields.get("event_time")
    if stamp is None and default_time_ns is not None:
        seconds, nanos = divmod(default_time_ns, 1_000_000_000)
        fields["event_time"] = stamp = {"seconds": seconds, "nanos": nanos}
    if assign_id and "track_id" not in fields:
        fields["track_id"] = track_id_at(
            time.time_ns() if stamp is None else
            default_time_ns if isinstance(stamp, dict) else
            stamp.seconds * 1_000_000_000 + stamp.nanos)
    return pb.TrackEvent(**fields)


def _completed(event: pb.TrackEvent, assign_id: bool, default_time_ns: int | None):
    needs_time = default_time_ns is not None and not event.HasField("event_time")
    needs_id = assign_id and not event.HasField("track_id")
    if not needs_time and not needs_id:
        return event
    message = pb.TrackEvent()
    message.CopyFrom(event)
    if needs_time:
        message.event_time.seconds, message.event_time.nanos = divmod(
            default_time_ns, 1_000_000_000)
    if needs_id:
        stamp = message.event_time
        message.track_id = track_id_at(stamp.seconds * 1_000_000_000 + stamp.nanos
                                       if message.HasField("event_time") else time.time_ns())
    return message


def event_to_json(event: pb.TrackEvent) -> dict:
    """A TrackEvent as a Profile Store JSON object (every field, None where unset)."""
    out = {}
    for name, field in STRING_FIELDS.items():
        out[name] = getattr(event, field) if event.HasField(field) else None
    for name, kind in (("User", "user"), ("Payload", "payload")):
        which = event.WhichOneof(kind)
        if which and which.endswith("_json"):
            out[name] = orjson.loads(getattr(event, which))
        elif which:
            out[name] = json_format.MessageToDict(getattr(event, which))
        else:
            out[name] = None
    out["EventTime"] = (
        event.event_time.ToDatetime().strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        if event.HasField("event_time") else None
    )
    return out
