"""Turns TrackEvent messages into a columnar batch ready for one INSERT.

This is the hot path of ingest: each event is read once with ListFields() (one C call that
returns only the fields that are set, which also gives presence for the optional strings), and
the columns are built as plain Python lists handed to Arrow in one go.
"""
from __future__ import annotations

import itertools
import time
from dataclasses import dataclass

import orjson
import pyarrow as pa
import uuid_utils

from . import _wire, nesting
from .errors import BadEvent, BadRequest, BatchTooLarge, FieldViolation
from .event_schema import (ARROW_SCHEMA, COLUMN_NAMES, COLUMN_OF_FIELD, EVENT,
                           PLAIN_STRING_FIELDS)
from .limits import (MAX_EVENT_BYTES, MAX_EVENTS_PER_BATCH, MAX_JSON_DEPTH, MAX_SCOPE_LENGTH,
                     MAX_TRACK_ID_LENGTH)

_JSON_TEXT = pa.json_(pa.string())


def with_json_types(table: pa.Table) -> pa.Table:
    """The table with User and Payload typed as JSON text (the arrow.json extension type, the
    same buffers). DuckDB stores such columns in the lake's JSON columns as they are, instead of
    parsing every text again (bench/NOTES.md#ingest-batches); every ingest path has already
    checked each text is a JSON object (orjson, or server/wire/json_check.c, which accepts only
    what orjson does)."""
    for name in ("User", "Payload"):
        index = table.schema.get_field_index(name)
        chunks = [pa.ExtensionArray.from_storage(_JSON_TEXT, chunk)
                  for chunk in table.column(index).chunks]
        table = table.set_column(index, pa.field(name, _JSON_TEXT),
                                 pa.chunked_array(chunks, _JSON_TEXT))
    return table


_ARROW_TYPES = tuple(ARROW_SCHEMA.field(name).type for name in COLUMN_NAMES)
# Batches up to this size keep their columns as Python lists until the writer builds one table
# for its whole group (`concat`): building a table has a fixed cost per column, the largest
# cost of a small Track call (bench/NOTES.md#ingest-batches).
DEFER_BUILD_MAX_EVENTS = 64


@dataclass
class EventBatch:
    scope: str
    # An Arrow table, or the columns as Python lists in COLUMN_NAMES order (small batches).
    data: pa.Table | list[list]
    track_ids: list[str]
    # True when any TrackId came from the client, so a retry may repeat it.
    client_ids: bool

    @property
    def size(self) -> int:
        return len(self.track_ids)

    @property
    def table(self) -> pa.Table:
        return concat([self])


_ROW_TYPE = pa.struct(list(ARROW_SCHEMA))
# Up to a few hundred rows, one conversion of row tuples into a struct array is cheaper than one
# per column; beyond, the columns are cheaper (bench/NOTES.md#ingest-batches).
ROW_BUILD_MAX_ROWS = 256


def build_columns(columns: list[list]) -> pa.Table:
    if len(columns[0]) <= ROW_BUILD_MAX_ROWS:
        rows = pa.array(list(zip(*columns)), type=_ROW_TYPE)
        return pa.Table.from_batches([pa.RecordBatch.from_struct_array(rows)])
    arrays = [pa.array(values, type=kind) for values, kind in zip(columns, _ARROW_TYPES)]
    return pa.Table.from_arrays(arrays, schema=ARROW_SCHEMA)


def merge_columns(column_sets: list[list[list]]) -> list[list]:
    """Sets of Python columns (COLUMN_NAMES order) as one set, their events in order (the one
    set itself when there is one: no batch's columns change once built)."""
    if len(column_sets) == 1:
        return column_sets[0]
    return [list(itertools.chain.from_iterable(parts)) for parts in zip(*column_sets)]


def merged_columns(batches: list[EventBatch]) -> list[list] | None:
    """The batches' events as one set of Python columns, if every batch still has its columns
    (small batches), else None."""
    if not all(isinstance(batch.data, list) for batch in batches):
        return None
    return merge_columns([batch.data for batch in batches])


def concat(batches: list[EventBatch]) -> pa.Table:
    """One table of the batches' events in order; runs of small batches are built together."""
    tables: list[pa.Table] = []
    run: list[list[list]] = []
    for batch in batches:
        if isinstance(batch.data, pa.Table):
            if run:
                tables.append(build_columns(merge_columns(run)))
                run = []
            tables.append(batch.data)
        else:
            run.append(batch.data)
    if run:
        tables.append(build_columns(merge_columns(run)))
    return tables[0] if len(tables) == 1 else pa.concat_tables(tables)


def normalize_scope(scope: str) -> str:
    scope = scope or "default"
    if len(scope) > MAX_SCOPE_LENGTH or not scope.isprintable():
        raise BadRequest(
            f"scope must be printable and at most {MAX_SCOPE_LENGTH} characters",
            [FieldViolation("scope", "invalid scope")],
        )
    return scope


def _struct_to_python(value):
    # google.protobuf.Value -> plain Python, for Structs nested deeper than _wire follows.
    kind = value.WhichOneof("kind")
    if kind == "struct_value":
        return {k: _struct_to_python(v) for k, v in value.struct_value.fields.items()}
    if kind == "list_value":
        return [_struct_to_python(v) for v in value.list_value.values]
    if kind == "number_value":
        number = value.number_value
        return int(number) if number.is_integer() and abs(number) < 2**53 else number
    if kind == "string_value":
        return value.string_value
    if kind == "bool_value":
        return value.bool_value
    return None


class TooDeep(ValueError):
    """A User/Payload nests deeper than MAX_JSON_DEPTH (nesting.py)."""

    def __init__(self, where: str):
        super().__init__(f"{where} nests deeper than {MAX_JSON_DEPTH} levels, the most a stored "
                         f"JSON value may (MAX_JSON_DEPTH)")


class NulInText(ValueError):
    """A text field holds U+0000, which no text of trackstore's may: DuckLake writes string
    constants into its catalog queries as C strings, which end at the first NUL."""

    def __init__(self, field: str):
        super().__init__(f"{field} contains the NUL character (U+0000), which no text field may "
                         f"hold (in User and Payload JSON it is data: \\u0000)")
        self.field = field


def check_text(value: str, field: str) -> str:
    """`value`, unless it holds a NUL character (raises NulInText naming `field`)."""
    if "\0" in value:
        raise NulInText(field)
    return value


def struct_to_json(struct) -> str:
    """The JSON text of a Struct, as the columnar decode writes it (server/wire/struct_json.c):
    keys sorted, integers below 2^53 without a fraction, NaN and infinities as null. Raises
    TooDeep beyond MAX_JSON_DEPTH levels, where the C code stops too."""
    text = _wire.struct_json(struct.SerializeToString())
    if text is None:
        if nesting.struct_deeper_than(struct):
            raise TooDeep("the Struct")
        text = orjson.dumps({k: _struct_to_python(v) for k, v in struct.fields.items()},
                            option=orjson.OPT_SORT_KEYS).decode()
    return text


def _check_json_object(text: str, where: str) -> str:
    try:
        parsed = orjson.loads(text)
    except orjson.JSONDecodeError as error:
        if nesting.text_may_exceed(text) and "depth limit" in str(error):
            raise TooDeep(where) from None  # orjson stops at 1024 levels
        raise ValueError(f"{where} is not valid JSON: {error}") from None
    if parsed is not None and not isinstance(parsed, dict):
        raise ValueError(f"{where} must be a JSON object")
    if nesting.text_may_exceed(text) and nesting.deeper_than(parsed):
        raise TooDeep(where)
    return text if parsed is not None else None


def _struct_json(struct, where: str) -> str:
    try:
        return struct_to_json(struct)
    except TooDeep:
        raise TooDeep(where) from None


def build_batch(scope: str, events, encoded_size: int | None = None,
                receive_time_us: int | None = None) -> EventBatch:
    """Validates and converts events; raises BadEvent naming the first bad event.

    `encoded_size` is the serialized size of the request: a request no larger than the event
    limit cannot hold an event over it, so ordinary batches skip the per-event size check.
    """
    scope = normalize_scope(scope)
    count = len(events)
    if count > MAX_EVENTS_PER_BATCH:
        raise BatchTooLarge(
            f"a batch holds at most {MAX_EVENTS_PER_BATCH} events, got {count}",
            [FieldViolation("events", f"at most {MAX_EVENTS_PER_BATCH} events")],
        )
    if receive_time_us is None:
        receive_time_us = time.time_ns() // 1000
    build_fast = getattr(events, "build_fast", None)
    if build_fast is not None:  # a fast_decode.FastRequest: columnar, else the events
        batch = build_fast(scope, receive_time_us)
        if batch is not None:
            return batch
        events = events.events
    columns, client_ids = _columns_of(events, encoded_size, receive_time_us)
    columns[_SCOPE] = [scope] * count
    data = build_columns(columns) if count > DEFER_BUILD_MAX_EVENTS else columns
    return EventBatch(scope, data, columns[_TRACK_ID], client_ids)


def _micros(timestamp) -> int:
    return timestamp.seconds * 1_000_000 + timestamp.nanos // 1000


def _user_json(text: str) -> str:
    return _check_json_object(text, "User")


def _payload_json(text: str) -> str:
    return _check_json_object(text, "Payload")


def _user_struct(struct) -> str:
    return _struct_json(struct, "User")


def _payload_struct(struct) -> str:
    return _struct_json(struct, "Payload")


# How each field of an event fills its column: by descriptor (what ListFields gives, so the
# loop reads no descriptor attribute), the column's position and the conversion, None for a
# string stored as it is given (once it is known to hold no NUL). Fields of no column (the event's scope) are ignored.
_CONVERSIONS = {"event_time": _micros, "user_json": _user_json, "payload_json": _payload_json,
                "user_struct": _user_struct, "payload_struct": _payload_struct}
_FIELD_COLUMNS = {
    field: (COLUMN_NAMES.index(COLUMN_OF_FIELD[field.number]), _CONVERSIONS.get(field.name))
    for field in EVENT.fields
    if field.number in PLAIN_STRING_FIELDS or field.name in _CONVERSIONS
}
_TRACK_ID, _SCOPE, _EVENT_TIME = (COLUMN_NAMES.index(name)
                                  for name in ("TrackId", "Scope", "EventTime"))


def _columns_of(events, encoded_size: int | None,
                receive_time_us: int) -> tuple[list[list], bool]:
    """(the events' columns in COLUMN_NAMES order, whether any TrackId came from the client),
    each event checked in order; a missing EventTime is the receive time, a missing TrackId a
    UUIDv7. The Scope column is left for the caller."""
    count = len(events)
    columns = [[None] * count for _ in COLUMN_NAMES]
    track_ids, times = columns[_TRACK_ID], columns[_EVENT_TIME]
    client_ids = False
    if encoded_size is None:
        encoded_size = sum(event.ByteSize() for event in events)
    check_sizes = encoded_size > MAX_EVENT_BYTES
    for index, event in enumerate(events):
        try:
            if check_sizes and event.ByteSize() > MAX_EVENT_BYTES:
                raise ValueError(f"is larger than {MAX_EVENT_BYTES} bytes")
            for descriptor, value in event.ListFields():
                found = _FIELD_COLUMNS.get(descriptor)
                if found is None:
                    continue
                position, convert = found
                if convert is not None:
                    columns[position][index] = convert(value)
                elif "\0" in value:
                    raise NulInText(descriptor.name)
                else:
                    columns[position][index] = value
        except ValueError as error:
            field = f"events[{index}]" + (f".{error.field}" if isinstance(error, NulInText)
                                          else "")
            raise BadEvent(f"events[{index}]: {error}", [FieldViolation(field, str(error))]
                           ) from None
        track_id = track_ids[index]
        if track_id:
            if len(track_id) > MAX_TRACK_ID_LENGTH:
                raise BadEvent(
                    f"events[{index}].track_id is longer than {MAX_TRACK_ID_LENGTH} characters",
                    [FieldViolation(f"events[{index}].track_id", "too long")])
            client_ids = True
        if times[index] is None:
            times[index] = receive_time_us
        if not track_id:
            track_ids[index] = event_track_id(times[index])
    return columns, client_ids


def event_track_id(event_time_us: int) -> str:
    """A fresh UUIDv7 whose time field is the event's time (as the C decoder makes them, see
    server/wire/requests.c): files are laid out by EventTime, so the row groups' TrackId
    min/max stay narrow and a Delete by id reads only the row groups of its time."""
    millis = min(max(event_time_us // 1000, 0), _UUID7_MAX_MILLIS)
    return str(uuid_utils.uuid7(nanoseconds=millis * 1_000_000))


_UUID7_MAX_MILLIS = (1 << 48) - 1
