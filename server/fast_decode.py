"""The columnar decode of Track/TrackStream requests, in C (server/wire/requests.c), proven exact.

`event_batch.build_batch` reads each event with ListFields(), in Python, one event at a time.
Here `_wire.decode` reads the serialized request in one pass with the GIL released: it checks
UTF-8 and that each User/Payload text is a JSON object, writes Struct User/Payloads as JSON text
(as `event_batch.struct_to_json` does, which calls the same C code), and returns one Arrow
string column per field; only column-level steps are Python (bench/NOTES.md#columnar-decode).

The decoder takes only what it reads exactly as the protobuf parse would (each field at most
once per event, no unknown fields, Timestamps of the usual shape, TrackIds on every event or
none, JSON its strict checker is sure of); anything else, a request under FAST_MIN_BYTES
included, takes the ordinary parse, so stored rows and errors are unchanged.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa
from google.protobuf.message import DecodeError

from trackstore.v1 import trackevents_pb2 as pb

from . import _wire, event_batch, nesting
from .errors import BadEvent, FieldViolation
from .event_schema import ARROW_SCHEMA, COLUMN_NAMES, COLUMN_OF_FIELD
from .limits import MAX_EVENT_BYTES, MAX_EVENTS_PER_BATCH

# The table column of each string column `_wire.decode` returns, found by the TrackEvent field
# it is read from (Scope and EventTime are made here).
DECODED_COLUMNS = tuple(COLUMN_OF_FIELD[number] for number in _wire.DECODED_COLUMN_FIELDS)
_NO_TIME = np.iinfo(np.int64).min


class FastRequest:
    """A request decoded column by column; `events` parses it the ordinary way when needed."""

    __slots__ = ("data", "scope", "count", "client_ids", "columns", "micros",
                 "some_time_missing", "_message")

    def __init__(self, data: bytes, decoded: tuple):
        self.data = data
        (self.scope, self.count, self.client_ids, self.columns, self.micros,
         self.some_time_missing) = decoded
        self._message = None

    @property
    def events(self):
        if self._message is None:
            self._message = pb.TrackStreamRequest.FromString(self.data)
        return self._message.events

    def __len__(self) -> int:
        return self.count

    def ByteSize(self) -> int:  # noqa: N802 - the protobuf spelling, used by the servicer
        return len(self.data)

    def build_fast(self, scope: str, receive_time_us: int):
        """event_batch.build_batch's result for these events."""
        return build(self, scope, receive_time_us)


def parse(data: bytes) -> FastRequest | None:
    """A FastRequest when the decoder reads the request exactly, else None."""
    decoded = _wire.decode(data, MAX_EVENTS_PER_BATCH, MAX_EVENT_BYTES)
    return None if decoded is None else FastRequest(data, decoded)


def _string_array(count: int, column: tuple) -> pa.Array:
    validity, offsets, data, nulls = column
    buffers = [None if validity is None else pa.py_buffer(validity), pa.py_buffer(offsets),
               pa.py_buffer(data)]
    return pa.Array.from_buffers(pa.string(), count, buffers, null_count=nulls)


def build(request: FastRequest, scope: str, receive_time_us: int) -> event_batch.EventBatch:
    count = request.count
    arrays = {name: _string_array(count, column)
              for name, column in zip(DECODED_COLUMNS, request.columns)}
    micros = np.frombuffer(request.micros, dtype=np.int64)
    if request.some_time_missing:
        micros = np.where(micros == _NO_TIME, receive_time_us, micros)
    arrays["EventTime"] = pa.array(micros, pa.timestamp("us"))
    arrays["Scope"] = pa.array([scope] * count, pa.string())
    table = pa.Table.from_arrays([arrays[name] for name in COLUMN_NAMES], schema=ARROW_SCHEMA)
    return event_batch.EventBatch(scope, table, arrays["TrackId"].to_pylist(),
                                  request.client_ids)


# Below this size (a few dozen ordinary events) the ordinary parse is cheaper.
FAST_MIN_BYTES = 16 * 1024


def deserializer(message_class):
    """A gRPC request deserializer: a FastRequest when the common shape allows, else the
    message parsed by protobuf (so a malformed request fails exactly as it would there). A
    request protobuf cannot parse because a Struct User/Payload nests too deeply is BadEvent
    naming the event."""
    from_string = message_class.FromString

    def deserialize(data: bytes):
        if len(data) >= FAST_MIN_BYTES:
            try:
                fast = parse(data)
            except Exception:  # noqa: BLE001 - anything unusual takes the ordinary parse
                fast = None
            if fast is not None:
                return fast
        try:
            return from_string(data)
        except DecodeError:
            too_deep = nesting.too_deep_event(data)
            if too_deep is None:
                raise
            index, field = too_deep
            error = event_batch.TooDeep(field)
            raise BadEvent(f"events[{index}]: {error}",
                           [FieldViolation(f"events[{index}]", str(error))]) from None

    return deserialize


def events_of(request):
    """What build_batch takes: the FastRequest itself, or the parsed message's events."""
    return request if type(request) is FastRequest else request.events
