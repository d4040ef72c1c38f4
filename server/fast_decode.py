"""The columnar decode of Track/TrackStream requests, in C (server/wire/requests.c), proven exact.

`event_batch.build_batch` reads each event with ListFields(): several µs of Python per event
(about 70 for a Struct Payload). Here `_wire.decode` reads the serialized request in one pass
with the GIL released: it checks UTF-8 and that each User/Payload text is a JSON object, writes
Struct User/Payloads as JSON text (as `event_batch.struct_to_json` does, which calls the same C
code), and returns one Arrow string column per field; only column-level steps are Python.
Measured on 1000-event batches of bench/generate.py: 1.5 µs per event with JSON text (10.8 with
the numpy decode this replaced), 3-6 µs with Struct Payloads.

The decoder takes only what it reads exactly as the protobuf parse would (each field at most
once per event, no unknown fields, Timestamps of the usual shape, TrackIds on every event or
none, JSON its strict checker is sure of); anything else, a request under FAST_MIN_BYTES
included, takes the ordinary parse, so stored rows and errors are unchanged.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa

from trackstore.v1 import trackevents_pb2 as pb

from . import _wire, event_batch

# `_wire.decode`'s string columns, in table order (Scope and EventTime are made here).
_DECODED_COLUMNS = tuple(name for name in event_batch.COLUMN_NAMES
                         if name not in ("Scope", "EventTime"))
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
    decoded = _wire.decode(data, event_batch.MAX_EVENTS_PER_BATCH, event_batch.MAX_EVENT_BYTES)
    return None if decoded is None else FastRequest(data, decoded)


def _string_array(count: int, column: tuple) -> pa.Array:
    validity, offsets, data, nulls = column
    buffers = [None if validity is None else pa.py_buffer(validity), pa.py_buffer(offsets),
               pa.py_buffer(data)]
    return pa.Array.from_buffers(pa.string(), count, buffers, null_count=nulls)


def build(request: FastRequest, scope: str, receive_time_us: int) -> event_batch.EventBatch:
    count = request.count
    arrays = {name: _string_array(count, column)
              for name, column in zip(_DECODED_COLUMNS, request.columns)}
    micros = np.frombuffer(request.micros, dtype=np.int64)
    if request.some_time_missing:
        micros = np.where(micros == _NO_TIME, receive_time_us, micros)
    arrays["EventTime"] = pa.array(micros, pa.timestamp("us"))
    arrays["Scope"] = pa.array([scope] * count, pa.string())
    table = pa.Table.from_arrays([arrays[name] for name in event_batch.COLUMN_NAMES],
                                 schema=event_batch.ARROW_SCHEMA)
    return event_batch.EventBatch(scope, table, arrays["TrackId"].to_pylist(),
                                  request.client_ids)


# Below this size (a few dozen ordinary events) the ordinary parse is cheaper.
FAST_MIN_BYTES = 16 * 1024
SERVICE = "trackstore.v1.TrackEventsService"


def deserializer(message_class):
    """A gRPC request deserializer: a FastRequest when the common shape allows, else the
    message parsed as before (so a malformed request fails exactly as it did)."""
    from_string = message_class.FromString

    def deserialize(data: bytes):
        if len(data) >= FAST_MIN_BYTES:
            try:
                fast = parse(data)
            except Exception:  # noqa: BLE001 - anything unusual takes the ordinary parse
                fast = None
            if fast is not None:
                return fast
        return from_string(data)

    return deserialize


def events_of(request):
    """What build_batch takes: the FastRequest itself, or the parsed message's events."""
    return request if type(request) is FastRequest else request.events


def _serialized(response) -> bytes:
    """Preview and List answer serialized bytes (servicer._with_items); anything else is a
    message."""
    return response if type(response) is bytes else response.SerializeToString()


def add_track_service(servicer, server) -> None:
    """As pb_grpc.add_TrackEventsServiceServicer_to_server, with the columnar decode for Track
    and TrackStream requests."""
    import grpc

    handlers = {
        "Track": grpc.unary_unary_rpc_method_handler(
            servicer.Track, request_deserializer=deserializer(pb.TrackRequest),
            response_serializer=pb.TrackResponse.SerializeToString),
        "TrackStream": grpc.stream_unary_rpc_method_handler(
            servicer.TrackStream, request_deserializer=deserializer(pb.TrackStreamRequest),
            response_serializer=pb.TrackStreamResponse.SerializeToString),
        "Preview": grpc.unary_unary_rpc_method_handler(
            servicer.Preview, request_deserializer=pb.PreviewRequest.FromString,
            response_serializer=_serialized),
        "List": grpc.unary_unary_rpc_method_handler(
            servicer.List, request_deserializer=pb.ListRequest.FromString,
            response_serializer=_serialized),
        "Delete": grpc.unary_unary_rpc_method_handler(
            servicer.Delete, request_deserializer=pb.DeleteRequest.FromString,
            response_serializer=pb.DeleteResponse.SerializeToString),
        "BatchDelete": grpc.unary_unary_rpc_method_handler(
            servicer.BatchDelete, request_deserializer=pb.BatchDeleteRequest.FromString,
            response_serializer=pb.BatchDeleteResponse.SerializeToString),
    }
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))
    server.add_registered_method_handlers(SERVICE, handlers)
