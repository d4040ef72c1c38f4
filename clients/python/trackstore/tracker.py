"""The batching tracker: `client.tracker()`, for many small `track(event)` calls from any thread.

`track(event)` checks and converts the event, gives it a UUIDv7 TrackId and, when it has none,
the time of the call as EventTime, queues it and returns; background sender threads send the
queue in Track batches of up to `max_batch` events and `max_batch_bytes` (4 MiB: far below
gRPC's message limit whatever the events' size), an event waiting about `max_delay` seconds at
most before its batch goes. The promises:

- `flush()` returns once every event queued before it was acknowledged by the server (durable)
  or reported failed; `close()` flushes, then stops the senders. Open trackers are closed at
  interpreter exit.
- The queue holds at most `max_queue` events. When it is full, `when_full="block"` (default)
  makes `track` wait for room; `when_full="drop"` drops the new event, counts it in
  `stats()["dropped"]` and reports it to `on_failure` with a `TrackerFull` error.
- A batch failing with UNAVAILABLE or RESOURCE_EXHAUSTED (RetryInfo honoured), or ended without
  an answer (CANCELLED by a server shutting down, DEADLINE_EXCEEDED of one try) is sent again,
  with backoff and jitter, for up to `retry_for` seconds; the TrackIds make this safe (the
  server stores a TrackId once). An event the server refuses (INVALID_ARGUMENT naming
  `events[i]`) is taken out and reported, and the rest of its batch is sent again.
- No event is lost silently: whatever finally fails goes to `on_failure(events, error)`
  (events as TrackEvent messages) on a sender thread, and is counted in `stats()["failed"]`;
  without a callback it is logged at ERROR level on the `trackstore.tracker` logger.
"""
from __future__ import annotations

import atexit
import collections
import logging
import re
import sys
import threading
import time
import weakref
from typing import Callable

import grpc

from trackstore.v1 import trackevents_pb2 as pb

from . import wire
from .errors import InvalidArgument, TrackstoreError
from .events import to_message
from .retry import RETRYABLE_CODES, Attempts, RetryPolicy

log = logging.getLogger("trackstore.tracker")

_EVENT_INDEX = re.compile(r"^events\[(\d+)\]")
_OPEN: "weakref.WeakSet[Tracker]" = weakref.WeakSet()


# A batch's outcome is unknown after these too; its TrackIds make sending it again safe.
TRACKER_RETRYABLE_CODES = RETRYABLE_CODES | {grpc.StatusCode.CANCELLED,
                                             grpc.StatusCode.DEADLINE_EXCEEDED}


class TrackerFull(TrackstoreError):
    """The tracker's queue was full and its policy is to drop."""

    def __init__(self, max_queue: int):
        super().__init__(None, f"the tracker's queue holds {max_queue} events; event dropped")


class Tracker:
    """See the module docstring. Made by `Client.tracker(max_batch, max_delay, **options)`."""

    def __init__(self, client, *, max_batch: int = 1000, max_delay: float = 0.2,
                 max_batch_bytes: int = 4 << 20, max_queue: int = 100_000,
                 when_full: str = "block",
                 on_failure: Callable[[list, Exception], None] | None = None,
                 scope: str | None = None, retry_for: float = 120.0,
                 attempt_timeout: float = 30.0, senders: int = 8, close_client: bool = False):
        if when_full not in ("block", "drop"):
            raise ValueError("when_full must be 'block' or 'drop'")
        if not 1 <= max_batch <= 10_000 or max_queue < max_batch:
            raise ValueError("max_batch must be 1 to 10,000 and max_queue at least max_batch")
        self._client, self._close_client = client, close_client
        # Bytes in: the requests are joined from events serialized by track() (trackstore.wire).
        self._send = client._channel.unary_unary(
            wire.TRACK_PATH, request_serializer=None,
            response_deserializer=pb.TrackResponse.FromString)
        self._metadata = client._metadata
        self._scope = client._scope(scope)
        self._max_batch, self._max_delay = max_batch, max_delay
        self._max_batch_bytes = max_batch_bytes
        self._max_queue, self._when_full = max_queue, when_full
        self._on_failure = on_failure
        self._retry_for, self._attempt_timeout = retry_for, attempt_timeout
        self._policy = RetryPolicy(max_attempts=sys.maxsize, max_backoff=2.0,
                                   codes=TRACKER_RETRYABLE_CODES)
        self._queue: collections.deque = collections.deque()
        self._lock = threading.Lock()
        self._ready = threading.Event()                  # senders wait for a batch
        self._room = threading.Condition(self._lock)     # blocked track() calls wait for room
        self._settled = threading.Condition(self._lock)  # flush() waits for acknowledgements
        self._oldest_at = 0.0           # monotonic time the oldest queued event came
        self._taken_total = 0           # events ever taken by a sender
        self._in_flight: dict[int, int] = {}  # first sequence number of a batch -> its size
        self._flush_through = 0         # senders send at once until this sequence number
        self._counts = {"acknowledged": 0, "failed": 0, "dropped": 0}
        self._closing = False
        self._senders = [threading.Thread(target=self._send_loop, name=f"trackstore-sender-{n}",
                                          daemon=True) for n in range(senders)]
        for thread in self._senders:
            thread.start()
        _OPEN.add(self)

    # -- the caller's side -----------------------------------------------------------------------

    def track(self, event) -> str:
        """Queues one event (a dict with Profile Store names, or a TrackEvent); returns its
        TrackId. Raises ValueError for an event that cannot be sent, RuntimeError once closed."""
        message = to_message(event, True, time.time_ns())
        data = wire.framed(message)
        queue = self._queue
        # The common case takes no lock: deque.append is atomic, and a lock taken by 8 threads
        # a few microseconds apart makes them queue for it and for the GIL in turn.
        if self._closing:
            raise RuntimeError("the tracker is closed")
        if len(queue) >= self._max_queue and not self._wait_for_room():
            self._report([message], TrackerFull(self._max_queue))
            return message.track_id
        first = not queue
        if first:
            self._oldest_at = time.monotonic()
        queue.append(data)
        # Wake a sender for a full batch, or to time the max_delay of a first event.
        if (first or len(queue) >= self._max_batch) and not self._ready.is_set():
            self._ready.set()
        return message.track_id

    def _wait_for_room(self) -> bool:
        """The queue is full: waits for room ("block"), or counts a drop and says so."""
        with self._lock:
            if self._when_full == "drop":
                self._counts["dropped"] += 1
                return False
            while not self._closing and len(self._queue) >= self._max_queue:
                self._room.wait()
            if self._closing:
                raise RuntimeError("the tracker is closed")
            return True

    def flush(self, timeout: float | None = None) -> bool:
        """Waits until every event queued so far is acknowledged or reported failed; False if
        `timeout` seconds passed first."""
        with self._lock:
            target = self._taken_total + len(self._queue)
            self._flush_through = max(self._flush_through, target)
            self._ready.set()
            return self._settled.wait_for(lambda: self._settled_through(target), timeout)

    def close(self, timeout: float | None = None) -> bool:
        """Flushes, then stops the senders; True if everything was settled in time."""
        with self._lock:
            self._closing = True
            self._room.notify_all()
        self._ready.set()
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in self._senders:
            if thread is not threading.current_thread():
                thread.join(None if deadline is None else max(deadline - time.monotonic(), 0))
        if not any(thread.is_alive() for thread in self._senders):
            self._send_loop()  # events a track() racing with close queued after the senders
        _OPEN.discard(self)
        if self._close_client:
            self._client.close()
        with self._lock:
            return not self._queue and not self._in_flight

    def stats(self) -> dict:
        """queued, in_flight, acknowledged, failed, dropped: event counts."""
        with self._lock:
            return {"queued": len(self._queue), "in_flight": sum(self._in_flight.values()),
                    **self._counts}

    def __enter__(self) -> "Tracker":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _settled_through(self, sequence: int) -> bool:
        return self._taken_total >= sequence and all(
            first >= sequence for first in self._in_flight)

    # -- the senders -----------------------------------------------------------------------------

    def _send_loop(self) -> None:
        while True:
            first, batch = self._take()
            if batch is None:
                return
            try:
                self._deliver(batch)
            except Exception as error:  # not a call's failure (that is reported in _deliver)
                self._report(batch, error)
            finally:
                with self._lock:
                    del self._in_flight[first]
                    self._settled.notify_all()

    def _take(self) -> tuple[int, list | None]:
        """Waits for a full batch, the oldest event's `max_delay`, a flush or close; then takes
        up to `max_batch` events (None once closing and empty)."""
        while True:
            self._ready.clear()  # before looking: a later set() is not lost
            with self._lock:
                queued = len(self._queue)
                due = self._oldest_at + self._max_delay - time.monotonic()
                if queued and (queued >= self._max_batch or due <= 0 or self._closing
                               or self._taken_total < self._flush_through):
                    return self._take_batch(min(queued, self._max_batch))
                if self._closing and not queued:
                    self._ready.set()  # the other senders stop too
                    return 0, None
            self._ready.wait(due if queued else None)

    def _take_batch(self, most: int) -> tuple[int, list]:
        """Takes up to `most` events and `max_batch_bytes` (at least one event)."""
        queue, batch = self._queue, [self._queue.popleft()]
        room = self._max_batch_bytes - len(batch[0])
        while len(batch) < most and len(queue[0]) <= room:
            room -= len(queue[0])
            batch.append(queue.popleft())
        size = len(batch)
        first = self._taken_total
        self._taken_total += size
        self._in_flight[first] = size
        self._oldest_at = time.monotonic()  # the rest came later than the batch just taken
        self._room.notify_all()
        return first, batch

    def _deliver(self, batch: list) -> None:
        attempts = Attempts(self._policy, self._retry_for, True, self._attempt_timeout)
        try:
            for timeout in attempts:
                try:
                    self._send(wire.track_request(self._scope, batch), timeout=timeout,
                               metadata=self._metadata)
                except grpc.RpcError as error:
                    batch = self._without_refused(batch, attempts, error)
                    if not batch:
                        return
                    continue
                self._count("acknowledged", len(batch))
                return
        except TrackstoreError as error:
            self._report(batch, error)

    def _without_refused(self, batch: list, attempts: Attempts, rpc_error) -> list:
        """After a failed try: the events to send again (sleeping first when the failure was
        transient); an event the server refused by its index is reported and left out."""
        try:
            time.sleep(attempts.failed(rpc_error))
            return batch
        except InvalidArgument as error:
            refused = {int(match.group(1)) for v in error.field_violations
                       if (match := _EVENT_INDEX.match(v.field))}
            if not refused or max(refused) >= len(batch):
                raise
            self._report([batch[i] for i in sorted(refused)], error)
            return [event for i, event in enumerate(batch) if i not in refused]

    def _count(self, what: str, events: int) -> None:
        with self._lock:
            self._counts[what] += events

    def _report(self, events: list, error: Exception) -> None:
        """Reports events that will not be stored (framed bytes, or messages)."""
        if events and isinstance(events[0], bytes):
            events = wire.events_of(events)
        if not isinstance(error, TrackerFull):
            self._count("failed", len(events))
        if self._on_failure is None:
            log.error("trackstore tracker: %d events not stored: %s", len(events), error)
            return
        try:
            self._on_failure(events, error)
        except Exception:  # a failing callback must not stop the sender
            log.exception("trackstore tracker: the on_failure callback failed")


@atexit.register
def _close_open_trackers() -> None:
    for tracker in list(_OPEN):
        tracker.close()
