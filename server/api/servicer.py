"""The services of the contract: each method checks access, makes one engine call, maps the
result. Registered from the descriptors by registration.py (each servicer's SERVICE)."""
from __future__ import annotations

import asyncio
import functools
from collections import deque
from concurrent.futures import Future

from google.protobuf import struct_pb2

from trackstore.v1 import admin_pb2 as admin_pb
from trackstore.v1 import trackevents_pb2 as pb

from .. import fast_decode
from ..errors import BadRequest, FieldViolation, Starting, StreamTooLong
from ..event_batch import normalize_scope
from ..limits import MAX_STREAM_ACK_BYTES
from .auth import authorize, authorize_admin
from .registration import checked, preserialized, tolerant
from .rpc import in_pool, rpc

# A stream keeps at most this many batches waiting for their commit, so a fast client cannot
# fill the server's memory; the next batch is read once the oldest is durable.
STREAM_BATCHES_IN_FLIGHT = 64
# A message of at most this many bytes (about 2,000 events of 500 bytes, 5-10 ms of work) is
# decoded and prepared on the event loop, a larger one on a pool thread. The hand-off cost a
# TrackStream of 1,000-event messages 10% of its events/s, and moves no stall off the loop:
# a pool thread preparing holds the GIL, which the loop gets back only every switch interval
# (5 ms). A larger message on the loop would hold up every other call for longer than that
# (bench/NOTES.md#one-event-loop-for-every-call).
INLINE_BATCH_BYTES = 1 << 20
PREVIEW_ITEMS_FIELD = pb.PreviewResponse.DESCRIPTOR.fields_by_name["items"].number
LIST_ITEMS_FIELD = pb.ListResponse.DESCRIPTOR.fields_by_name["items"].number


def _to_struct(item: dict) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(item)
    return struct


def _with_items(message, rows, field: int) -> bytes:
    """The serialized response: `message` with the rows as its Struct items (field `field`).
    Serialized messages concatenate into their merge, so the rows' bytes are appended."""
    encoded = rows.encode(field)
    if encoded is None:
        message.items.extend(_to_struct(item) for item in rows.items())
        return message.SerializeToString()
    return message.SerializeToString() + encoded


class Encoded:
    """A Track or TrackStream message as it arrived, decoded where its size says (`_prepared`):
    a large one's decoding would hold up every other call on the event loop."""

    __slots__ = ("data", "_decode")

    def __init__(self, data: bytes, decode):
        self.data = data
        self._decode = decode

    def decoded(self):
        """The message; raises the BadRequest of bytes it cannot be."""
        return checked(self._decode(self.data))


def encoded(message_class: type):
    """A request deserializer that leaves the decoding to the method (`Encoded`)."""
    decode = tolerant(fast_decode.deserializer(message_class), message_class.DESCRIPTOR.full_name)
    return lambda data: Encoded(data, decode)


def _listed_bytes(track_ids: list[str]) -> int:
    """What the TrackIds add to a TrackStream answer: their UTF-8 bytes, and at most 3 bytes
    each of a field's tag and length (a length under 16,384)."""
    return len("".join(track_ids).encode()) + 3 * len(track_ids)


async def _stored(engine, submitted: Future) -> list[str]:
    """The TrackIds of a submitted batch once it is durable. A cancelled call stops waiting;
    the batch is committed all the same (the client retries with the same TrackIds)."""
    durable = asyncio.get_running_loop().create_future()
    submitted.add_done_callback(functools.partial(_settle_from_thread, durable))
    await durable
    return engine.stored(submitted)


def _settle_from_thread(durable: asyncio.Future, _) -> None:
    """Settles `durable` on its loop. Not asyncio.wrap_future (nor asyncio.wait on it): their
    chaining of two futures both ways was a tenth of the event loop's time under batch-1
    Track calls (bench/NOTES.md#batch-1-on-the-event-loop). A call cancelled meanwhile
    leaves the batch's own future alone: the writer settles it all the same."""
    try:
        durable.get_loop().call_soon_threadsafe(_settle, durable)
    except RuntimeError:  # the loop has closed: the server stopped, no call waits
        pass


def _settle(durable: asyncio.Future) -> None:
    if not durable.done():  # a cancelled call's
        durable.set_result(None)


class TrackEventsServicer:
    SERVICE = pb.DESCRIPTOR.services_by_name["TrackEventsService"]
    # Track requests are decoded by the method (`Encoded`), column by column when large
    # (fast_decode.py); Preview and List answer their rows already serialized (rows.py).
    REQUEST_DECODERS = {"Track": encoded, "TrackStream": encoded}
    RESPONSE_ENCODERS = {"Preview": preserialized, "List": preserialized}

    def __init__(self):
        self.engine = None  # set once the store is open; calls before that are refused

    def _engine(self):
        if self.engine is None:
            raise Starting()
        return self.engine

    def _scope(self, scope: str, call: dict) -> str:
        call["scope"] = scope = normalize_scope(scope)  # logged even when refused below
        authorize(scope)
        return scope

    async def _prepared(self, engine, request: Encoded, call: dict):
        """The request's events as a batch for the write-ahead log, decoded and prepared on the
        event loop when small, else on a pool thread."""
        if len(request.data) <= INLINE_BATCH_BYTES:
            return self._prepare(engine, request, call)
        return await in_pool(self._prepare, engine, request, call)

    def _prepare(self, engine, request: Encoded, call: dict):
        message = request.decoded()
        scope = self._scope(message.scope, call)
        return engine.prepare(scope, fast_decode.events_of(message), len(request.data))

    @rpc()
    async def Track(self, request, context, call):
        engine = self._engine()
        batch = await self._prepared(engine, request, call)
        track_ids = await _stored(engine, engine.submit(batch)) if batch.size else []
        call["rows"] = len(track_ids)
        return pb.TrackResponse(track_ids=track_ids)

    @rpc()
    async def TrackStream(self, requests, context, call):
        engine = self._engine()
        in_flight: deque = deque()
        track_ids: list[str] = []
        stored_batches = index = ack_bytes = submitted_events = 0
        async for request in requests:
            try:
                batch = await self._prepared(engine, request, call)
                # Refused before it is stored: an answer over the message limit would fail
                # after every event of the stream was durable, and a client that retried the
                # stream would store them twice.
                ack_bytes += _listed_bytes(batch.track_ids)
                if ack_bytes > MAX_STREAM_ACK_BYTES:
                    message = (f"the stream's answer would list more than "
                               f"{MAX_STREAM_ACK_BYTES:,} bytes of TrackIds ({submitted_events:,} "
                               f"events before this batch): send the rest in a new stream")
                    raise StreamTooLong(message, [FieldViolation("events", message)])
            except BadRequest as error:
                # The batches before this one are durable once the answer says so: a client
                # resumes from this one.
                while in_flight:
                    await _stored(engine, in_flight.popleft())
                    stored_batches += 1
                raise BadRequest(
                    f"batch {index}: {error.message}; the {stored_batches} batches before it "
                    f"are stored",
                    [FieldViolation(f"batch[{index}].{v.field}", v.description)
                     for v in error.violations],
                    reason=error.reason,
                ) from None
            index += 1
            if batch.size:
                in_flight.append(engine.submit(batch))
                submitted_events += batch.size
            while len(in_flight) > STREAM_BATCHES_IN_FLIGHT:
                track_ids.extend(await _stored(engine, in_flight.popleft()))
                stored_batches += 1
        while in_flight:
            track_ids.extend(await _stored(engine, in_flight.popleft()))
        call["rows"] = len(track_ids)
        return pb.TrackStreamResponse(track_ids=track_ids, event_count=len(track_ids))

    @rpc()
    def Preview(self, request, context, call):
        engine = self._engine()
        scope = self._scope(request.scope, call)
        columns, items, truncated = engine.preview(
            scope, request.query, timeout_seconds=context.time_remaining(),
            on_cancel=context.add_callback,
        )
        call["rows"] = len(items)
        response = pb.PreviewResponse(
            columns=[pb.Column(name=name, type=kind) for name, kind in columns],
            count=len(items), truncated=truncated)
        return _with_items(response, items, PREVIEW_ITEMS_FIELD)

    @rpc()
    def List(self, request, context, call):
        engine = self._engine()
        scope = self._scope(request.scope, call)
        items = engine.list(
            scope, request.filter, request.orderby,
            request.skip if request.HasField("skip") else None,
            request.top if request.HasField("top") else None,
            timeout_seconds=context.time_remaining(), on_cancel=context.add_callback,
        )
        call["rows"] = len(items)
        return _with_items(pb.ListResponse(count=len(items)), items, LIST_ITEMS_FIELD)

    @rpc()
    def Delete(self, request, context, call):
        engine = self._engine()
        scope = self._scope(request.scope, call)
        engine.delete(scope, request.track_id)
        call["rows"] = 1
        return pb.DeleteResponse(track_id=request.track_id)

    @rpc()
    def BatchDelete(self, request, context, call):
        engine = self._engine()
        scope = self._scope(request.scope, call)
        deleted = engine.batch_delete(scope, list(request.track_ids), request.allow_missing)
        call["rows"] = len(deleted)
        return pb.BatchDeleteResponse(track_ids=deleted)


class AdminServicer:
    """Store maintenance; needs a key allowed every scope."""

    SERVICE = admin_pb.DESCRIPTOR.services_by_name["AdminService"]

    def __init__(self, track_servicer: TrackEventsServicer):
        self._track = track_servicer

    @rpc()
    def Compact(self, request, context, call):
        authorize_admin()
        report = self._track._engine().compact()
        call["rows"] = report.applied_deletions
        return admin_pb.CompactResponse(
            applied_deletions=report.applied_deletions, seconds=report.seconds
        )

    @rpc()
    def GetStoreStats(self, request, context, call):
        authorize_admin()
        stats = self._track._engine().stats()
        return admin_pb.GetStoreStatsResponse(**stats)
