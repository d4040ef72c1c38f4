"""Each platform's event, field by field, as a Profile Store event (the tables of
docs/formats.md).

A mapping names the source fields that land in a column, and how each is read; every other
source field lands in Payload under its own name, so nothing is dropped. Times are read as the
sources write them: numbers of milliseconds since the epoch, strings of such digits, or RFC 3339
text (any number of fractional digits; the store keeps microseconds). A source's own event id
becomes the TrackId; a record without one gets a TrackId derived from its content (a UUIDv5 of
the format's name and the record's JSON with sorted keys), so importing the same file again
stores nothing twice.
"""
from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass, field
from typing import Callable

import orjson

# The namespace of derived TrackIds (uuid5): fixed forever, or re-imports would store twice.
DERIVED_ID_NAMESPACE = uuid.UUID("5b6c8f0e-7a1d-4c39-9e36-2f0d4b8a61c7")
_DIGITS = re.compile(r"^-?\d{1,16}$")
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


class MappingError(ValueError):
    """A record that cannot be an event; the message names the field."""


def as_text(value, name: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return orjson.dumps(value).decode()
    raise MappingError(f"{name} must be a string, got {type(value).__name__}")


def as_object(value, name: str) -> dict | None:
    if value is None or isinstance(value, dict):
        return value
    raise MappingError(f"{name} must be a JSON object, got {type(value).__name__}")


def as_time(value, name: str) -> int:
    """Microseconds since the epoch, from ms (a number or a string of digits) or RFC 3339."""
    try:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return round(value * 1000)
        if isinstance(value, str) and _DIGITS.match(value.strip()):
            return int(value.strip()) * 1000
        if isinstance(value, str):
            parsed = dt.datetime.fromisoformat(value.strip())
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=dt.timezone.utc)
            return (parsed - _EPOCH) // dt.timedelta(microseconds=1)
    except (ValueError, OverflowError):
        pass
    raise MappingError(f"{name} {value!r} is not a time: milliseconds since the epoch or RFC "
                       f"3339 text like 2020-01-23T21:27:49.3361008Z")


Reader = Callable[[object, str], object]
COLUMN_READERS: dict[str, Reader] = {
    "User": as_object, "Payload": as_object, "EventTime": as_time,
}


@dataclass(frozen=True)
class Mapping:
    name: str
    # source field -> the column it lands in
    columns: dict[str, str]
    # source fields read by `special` (their columns are its business)
    special_fields: tuple[str, ...] = ()
    special: Callable[[dict, dict, dict], None] | None = field(default=None)

    def event(self, record) -> dict:
        """The Profile Store event of a record (column -> value, EventTime in µs)."""
        if not isinstance(record, dict):
            raise MappingError(f"a {self.name} event must be a JSON object")
        event: dict = {}
        payload: dict = {}
        for source, column in self.columns.items():
            if source in record:
                event[column] = COLUMN_READERS.get(column, as_text)(record[source], source)
        if self.special is not None:
            self.special(record, event, payload)
        taken = set(self.columns) | set(self.special_fields)
        for source, value in record.items():
            if source not in taken:
                _into_payload(payload, source, value)
        if payload:
            for key, value in (event.get("Payload") or {}).items():
                _into_payload(payload, key, value)
            event["Payload"] = payload
        if not event.get("TrackId"):
            event["TrackId"] = derived_track_id(self.name, record)
        return event


def _into_payload(payload: dict, key: str, value) -> None:
    if key in payload and payload[key] != value:
        raise MappingError(f"{key!r} would land in Payload twice with different values")
    payload[key] = value


def derived_track_id(format_name: str, record: dict) -> str:
    content = orjson.dumps(record, option=orjson.OPT_SORT_KEYS).decode()
    return str(uuid.uuid5(DERIVED_ID_NAMESPACE, f"{format_name}\n{content}"))


PROFILE_STORE_COLUMNS = ("TrackId", "DeviceId", "EventType", "Value", "PageUri", "PageTitle",
                         "RemoteAddress", "SessionId", "User", "Payload", "CountryCode", "City",
                         "EventTime")


def _croct(record: dict, event: dict, payload: dict) -> None:
    user_id = record.get("userId")
    if user_id is not None:
        event["User"] = {"userId": user_id}
    context = as_object(record.get("context"), "context")
    if context:
        event["PageUri"] = as_text(context.get("url"), "context.url")
        rest = {k: v for k, v in context.items() if k != "url"}
        if rest:
            _into_payload(payload, "context", rest)
    body = as_object(record.get("payload"), "payload") or {}
    event["EventType"] = as_text(body.get("@type"), "payload.@type")
    for key, value in body.items():
        if key != "@type":
            _into_payload(payload, key, value)


MAPPINGS: dict[str, Mapping] = {
    # Scope lands in its column here; the import refuses a record of another scope than its own.
    "profilestore": Mapping(
        "profilestore", {name: name for name in (*PROFILE_STORE_COLUMNS, "Scope")}),
    "statsig": Mapping("statsig", {
        "timeUUID": "TrackId", "eventName": "EventType", "value": "Value", "user": "User",
        "timestamp": "EventTime"}),
    "absmartly": Mapping("absmartly", {
        "event_type": "EventType", "goal_name": "Value", "unit_uid": "DeviceId",
        "event_at": "EventTime"}),
    "croct": Mapping("croct", {
        "id": "TrackId", "sessionId": "SessionId", "timestamp": "EventTime"},
        special_fields=("userId", "context", "payload"), special=_croct),
}
