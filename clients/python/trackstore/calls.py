"""What each RPC sends and how its answer reads, shared by the blocking and asyncio clients.

`ClientBase` holds the settings (target, key, default scope, deadlines, retry policy) and
defines the unary methods once: each builds a `Call` (the RPC, its request, how to read the
answer, whether a retry is safe) and hands it to `_run`, which the blocking client runs at once
and the asyncio client returns as a coroutine. Only streaming and paging differ between them.
"""
from __future__ import annotations

import contextlib
import warnings
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

import grpc

from trackstore.v1 import admin_pb2 as admin_pb
from trackstore.v1 import admin_pb2_grpc as admin_grpc
from trackstore.v1 import segments_pb2 as segments_pb
from trackstore.v1 import segments_pb2_grpc as segments_grpc
from trackstore.v1 import trackevents_pb2 as pb
from trackstore.v1 import trackevents_pb2_grpc as pb_grpc

from .errors import from_rpc_error
from .events import to_message
from .results import Fields, ListResult, PreviewResult
from .retry import RetryPolicy

DEFAULT_TARGET = "localhost:50051"
DEFAULT_SCOPE = "default"
# Seconds a call may take unless the client or the call says otherwise. A Preview may run two
# minutes on the server (so may a filter definition's, or a segment's fresh evaluation);
# compaction and bulk streams take as long as the store is large.
DEFAULT_TIMEOUT = 60.0
METHOD_TIMEOUTS = {"Preview": 150.0, "PreviewFilterDefinition": 150.0, "EvaluateSegment": 150.0,
                   "TrackStream": 3600.0, "Compact": 3600.0}
MAX_MESSAGE_BYTES = 64 * 1024 * 1024
LIST_WINDOW = 10_000  # List answers only while skip + top is under this
STREAM_BATCH = 1000
# A TrackStream's answer lists every TrackId of the stream and must fit one message (the
# server's limits.MAX_STREAM_ACK_BYTES): a stream ends before its ids would pass this, and the
# events go on in the next one. An id costs its UTF-8 bytes and 3 of framing; one the server
# makes is a 36-character UUID.
STREAM_ACK_BYTES = MAX_MESSAGE_BYTES - (1 << 20)
SERVER_TRACK_ID_LENGTH = 36
CHANNEL_OPTIONS = (
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    # Reconnect soon after a restarted server is back, rather than after gRPC's default backoff
    # (1 s growing to 120 s), which would hold retries back long after it answers again.
    ("grpc.initial_reconnect_backoff_ms", 200),
    ("grpc.max_reconnect_backoff_ms", 5000),
)


class ListWindowWarning(UserWarning):
    """iter_list stopped at List's window (skip + top under 10,000) with events left."""


@dataclass(frozen=True)
class Call:
    method: str                 # the RPC's name in its service
    request: object
    answer: Callable            # response message -> what the client method returns
    safe_to_repeat: bool        # a retry cannot apply the call twice
    timeout: float | None       # the caller's, or None for the client's default


def _service_methods(channel) -> dict[str, object]:
    """The channel's callables of every RPC, by name, from the services' descriptors."""
    stubs = {"TrackEventsService": pb_grpc.TrackEventsServiceStub(channel),
             "AdminService": admin_grpc.AdminServiceStub(channel),
             "FilterDefinitionService": segments_grpc.FilterDefinitionServiceStub(channel),
             "SegmentService": segments_grpc.SegmentServiceStub(channel)}
    services = {**pb.DESCRIPTOR.services_by_name, **admin_pb.DESCRIPTOR.services_by_name,
                **segments_pb.DESCRIPTOR.services_by_name}
    return {method.name: getattr(stubs[name], method.name)
            for name, service in services.items() for method in service.methods}


def credentials_of(tls) -> grpc.ChannelCredentials | None:
    """tls=True: TLS with the system's root certificates; a ChannelCredentials: those."""
    if isinstance(tls, grpc.ChannelCredentials):
        return tls
    return grpc.ssl_channel_credentials() if tls else None


class ClientBase:
    """Settings and the unary methods; subclasses open the channel and run the calls."""

    def __init__(self, target: str = DEFAULT_TARGET, api_key: str | None = None,
                 tls: bool | grpc.ChannelCredentials = False, scope: str = DEFAULT_SCOPE, *,
                 timeout: float | None = None, retry: RetryPolicy = RetryPolicy(),
                 client_track_ids: bool = True, options: Iterable[tuple] = ()):
        self.target = target
        self.scope = scope
        self.timeout = timeout
        self.retry = retry
        self.client_track_ids = client_track_ids
        self._settings = dict(target=target, api_key=api_key, tls=tls, scope=scope,
                              timeout=timeout, retry=retry, client_track_ids=client_track_ids,
                              options=tuple(options))
        self._metadata = (("authorization", f"epi-single {api_key}"),) if api_key else ()
        self._channel = self._open_channel(target, credentials_of(tls),
                                           CHANNEL_OPTIONS + tuple(options))
        self._methods = _service_methods(self._channel)

    def _open_channel(self, target, credentials, options):
        raise NotImplementedError

    def _run(self, call: Call):
        raise NotImplementedError

    def _scope(self, scope: str | None) -> str:
        return self.scope if scope is None else scope

    def _timeout(self, method: str, timeout: float | None) -> float:
        if timeout is not None:
            return timeout
        return self.timeout if self.timeout is not None else \
            METHOD_TIMEOUTS.get(method, DEFAULT_TIMEOUT)

    def _messages(self, events) -> list[pb.TrackEvent]:
        return [to_message(event, self.client_track_ids) for event in events]

    def track(self, events, *, scope: str | None = None, timeout: float | None = None):
        """Stores a batch of events (dicts with Profile Store names, or TrackEvents; at most
        10,000) atomically; returns their TrackIds in order."""
        messages = self._messages(events)
        safe = all(message.HasField("track_id") for message in messages)
        request = pb.TrackRequest(scope=self._scope(scope), events=messages)
        return self._run(Call("Track", request, _track_ids, safe, timeout))

    def preview(self, query: str, *, scope: str | None = None, timeout: float | None = None):
        """Runs a KQL query (at most 1000 rows; `truncated` says when there were more)."""
        request = pb.PreviewRequest(scope=self._scope(scope), query=query)
        return self._run(Call("Preview", request, PreviewResult.from_response, True, timeout))

    def list(self, filter: str = "", orderby: str = "", skip: int | None = None,
             top: int | None = None, *, scope: str | None = None, timeout: float | None = None):
        """One page of events matching an OData $filter in $orderby order (skip + top under
        10,000; default skip 0, top 100)."""
        request = pb.ListRequest(scope=self._scope(scope), filter=filter, orderby=orderby,
                                 skip=skip, top=top)
        return self._run(Call("List", request, ListResult.from_response, True, timeout))

    def delete(self, track_id: str, *, scope: str | None = None, timeout: float | None = None):
        """Deletes one event; NotFound when the scope holds no such TrackId."""
        request = pb.DeleteRequest(scope=self._scope(scope), track_id=track_id)
        return self._run(Call("Delete", request, _deleted_id, True, timeout))

    def batch_delete(self, track_ids: Iterable[str], *, allow_missing: bool = False,
                     scope: str | None = None, timeout: float | None = None):
        """Deletes up to 1000 events in one transaction, all or none; returns the TrackIds
        deleted (with `allow_missing`, unknown ones are skipped instead of failing)."""
        request = pb.BatchDeleteRequest(scope=self._scope(scope), track_ids=list(track_ids),
                                        allow_missing=allow_missing)
        return self._run(Call("BatchDelete", request, _track_ids, True, timeout))

    def compact(self, *, timeout: float | None = None):
        """Compacts the store now: applies pending deletions, merges files (admin)."""
        return self._run(Call("Compact", admin_pb.CompactRequest(), Fields.from_response,
                              True, timeout))

    def stats(self, *, timeout: float | None = None):
        """The store's statistics: events, data files, pending deletions, promoted keys."""
        return self._run(Call("GetStoreStats", admin_pb.GetStoreStatsRequest(),
                              Fields.from_response, True, timeout))


def _track_ids(response) -> list[str]:
    return list(response.track_ids)


def _deleted_id(response) -> str:
    return response.track_id


class StreamRequests:
    """TrackStream's requests from an iterable of events, `batch_size` events a message, as
    one stream after another: each stream ends before its answer's TrackIds would pass
    `ack_bytes` (`more` then says events are left for the next), so any number of events can
    be streamed.

    gRPC reads the requests on its own thread and reports an exception raised there only as
    `UNKNOWN: Exception iterating requests!`; this keeps the exception (`error`) so the client
    can raise it instead."""

    def __init__(self, events, scope: str, batch_size: int, assign_ids: bool,
                 ack_bytes: int | None = None):
        self.events, self.scope, self.batch_size = events, scope, batch_size
        self.assign_ids = assign_ids
        self.ack_bytes = STREAM_ACK_BYTES if ack_bytes is None else ack_bytes
        self.error: BaseException | None = None
        self.more = False
        self._source = None  # the events' iterator, shared by the streams
        self._batch: list = []
        self._held: tuple[pb.TrackStreamRequest, int] | None = None  # next stream's first
        self._listed = 0  # TrackId bytes of the current stream's answer
        self.track_ids: list[str] = []  # of the streams answered so far

    def answered(self, response: pb.TrackStreamResponse) -> bool:
        """Takes a stream's answer; True once no events are left for another stream."""
        self.track_ids.extend(response.track_ids)
        return not self.more

    def failure(self, error: grpc.RpcError) -> BaseException:
        """What a failed stream raises: the events' own error, if reading them failed."""
        return self.error or from_rpc_error(error)

    def _add(self, event) -> pb.TrackStreamRequest | None:
        self._batch.append(to_message(event, self.assign_ids))
        if len(self._batch) < self.batch_size:
            return None
        return self._request()

    def _request(self) -> pb.TrackStreamRequest:
        request = pb.TrackStreamRequest(scope=self.scope, events=self._batch)
        self._batch = []
        return request

    def _fits(self, request: pb.TrackStreamRequest) -> bool:
        """Counts the request into the current stream, or holds it for the next stream."""
        size = sum(len(event.track_id.encode()) or SERVER_TRACK_ID_LENGTH
                   for event in request.events) + 3 * len(request.events)
        if self._listed and self._listed + size > self.ack_bytes:
            self._held, self.more = (request, size), True
            return False
        self._listed += size
        return True

    def _stream_start(self) -> list[pb.TrackStreamRequest]:
        self.more, self._listed = False, 0
        held, self._held = self._held, None
        if held is None:
            return []
        self._listed = held[1]
        return [held[0]]

    @contextlib.contextmanager
    def _keeping_error(self):
        try:
            yield
        except Exception as error:
            self.error = error
            raise

    def __iter__(self) -> Iterator[pb.TrackStreamRequest]:
        """The requests of the next stream."""
        with self._keeping_error():
            yield from self._stream_start()
            if self._source is None:
                self._source = iter(self.events)
            for event in self._source:
                if (request := self._add(event)) is not None:
                    if not self._fits(request):
                        return
                    yield request
            if self._batch and self._fits(request := self._request()):
                yield request

    async def __aiter__(self):
        with self._keeping_error():
            for request in self._stream_start():
                yield request
            if self._source is None:
                self._source = aiter(self.events)
            async for event in self._source:
                if (request := self._add(event)) is not None:
                    if not self._fits(request):
                        return
                    yield request
            if self._batch and self._fits(request := self._request()):
                yield request


class ListPages:
    """The (skip, top) of each page `iter_list` asks for, within List's window (skip + top under
    10,000). Tell it each page's row count; it stops after a short page, after `top` rows, or at
    the window, then warns (ListWindowWarning) if the last page was full: more may match."""

    def __init__(self, skip: int, top: int | None, page_size: int):
        self.next_skip = skip
        self.end = min(skip + top if top is not None else LIST_WINDOW - 1, LIST_WINDOW - 1)
        self.wanted_end = skip + top if top is not None else None
        self.page_size = page_size
        self.done = False

    def __iter__(self) -> Iterator[tuple[int, int]]:
        while not self.done and self.next_skip < self.end:
            yield self.next_skip, min(self.page_size, self.end - self.next_skip)
        if not self.done and (self.wanted_end is None or self.wanted_end > self.end):
            warnings.warn(ListWindowWarning(
                f"iter_list stopped after {self.end} events: List answers only while skip + top "
                f"is under {LIST_WINDOW}; narrow the filter to see the rest"), stacklevel=3)

    def got(self, asked: int, rows: int) -> None:
        self.next_skip += rows
        self.done = rows < asked
