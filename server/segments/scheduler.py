"""Keeps this server's memory of segments in step with the lake, and refreshes the due ones.

At start, and then every `poll_seconds`, one read of the segments (with their states and their
definitions' etags) tells: which generation each segment holds, so a generation committed by a
refresh on any server sharing the catalog is loaded (and a deleted segment dropped) within
one poll; and which segments are due (refresh.is_due), which are queued for the refresh thread.
RefreshSegment queues a job at once; a job another server's lease holds back is queued again
at the next poll, until the refresh it asked for has happened (by this server or another).
States left by a refresh that committed beside its segment's deletion are removed.
"""
from __future__ import annotations

import logging
import queue
import threading

import duckdb

from . import catalog, membership
from .catalog import now
from .membership import NOT_COMPUTED, MembershipIndex
from .refresh import Job, Outcome, Refresher, is_due

log = logging.getLogger(__name__)

_STOP = None
CLOSE_WAIT_SECONDS = 10.0


class Scheduler:
    def __init__(self, engine, index: MembershipIndex, refresher: Refresher,
                 poll_seconds: float):
        self._engine = engine
        self._index = index
        self._refresher = refresher
        self._poll_seconds = poll_seconds
        self._jobs: queue.Queue = queue.Queue()
        self._queued: set[tuple[str, str]] = set()  # scheduled jobs queued or running
        self._held_back: list[Job] = []  # asked-for jobs to queue again at the next poll
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._threads = [
            threading.Thread(target=self._poll_loop, name="segment-poll", daemon=True),
            threading.Thread(target=self._refresh_loop, name="segment-refresh", daemon=True),
        ]

    def start(self) -> None:
        """Loads every segment's generation (the server answers from memory), then polls."""
        self.sync()
        for thread in self._threads:
            thread.start()

    def request(self, scope: str, segment: str) -> Job:
        """Queues a refresh that reads the events as of now or later."""
        job = Job(scope, segment, now())
        self._jobs.put(job)
        return job

    def wake(self) -> None:
        """Polls now rather than at the next interval (a definition changed here)."""
        self._wake.set()

    def sync(self) -> None:
        mark = self._index.mark()
        with self._engine.lake_cursor() as cursor:
            rows = list(catalog.all_segments(cursor))
            orphans = catalog.orphan_states(cursor)
            held = self._index.generations()
            at = now()
            refreshing = self._refresher.running  # it loads the generation it makes
            for scope, view, definition_etag in rows:
                name, generation = view.segment.name, view.state.generation
                if held.pop((scope, name), None) != generation and (scope, name) != refreshing:
                    self._index.put(scope, name, membership.load(cursor, scope, name, generation)
                                    if generation else NOT_COMPUTED, since=mark)
                if is_due(view, definition_etag, at):
                    self._queue_scheduled(scope, name)
            for scope, name in held:  # deleted, here or by another server
                self._index.drop(scope, name)
            if orphans:
                catalog.in_transaction(cursor, lambda c: _remove(c, orphans))
        with self._lock:
            held_back, self._held_back = self._held_back, []
        for job in held_back:
            self._jobs.put(job)

    def check(self, scope: str, segment: str) -> None:
        """Queues a refresh that runs if the segment is due (a segment created or changed here:
        it is, unless another server has refreshed it already)."""
        self._queue_scheduled(scope, segment)

    def _queue_scheduled(self, scope: str, segment: str) -> None:
        with self._lock:
            if (scope, segment) in self._queued:
                return
            self._queued.add((scope, segment))
        self._jobs.put(Job(scope, segment))

    def _poll_loop(self) -> None:
        while True:
            self._wake.wait(self._poll_seconds)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self.sync()
            except duckdb.ConnectionException as error:
                # The engine's connection is closed (an engine dropped without close()):
                # every later poll would fail the same way, logging a traceback each time.
                log.warning("segment polls stop: %s", error)
                return
            except Exception:  # noqa: BLE001 - the next poll tries again
                log.exception("segment poll failed")

    def _refresh_loop(self) -> None:
        while (job := self._jobs.get()) is not _STOP:
            try:
                outcome = self._refresher.run(job)
            except Exception:  # noqa: BLE001 - the next poll queues it again if still due
                log.exception("segment %s/%s: refresh failed", job.scope, job.segment)
                outcome = Outcome.DONE
            finally:
                with self._lock:
                    self._queued.discard((job.scope, job.segment))
            if outcome is Outcome.BUSY and job.requested_at is not None:
                with self._lock:
                    self._held_back.append(job)

    def close(self) -> None:
        """Stops polling and refreshing; a refresh running is interrupted (its transaction
        rolls back, the segment keeps its materialisation)."""
        self._stop.set()
        self._wake.set()
        self._jobs.put(_STOP)
        interrupt = self._refresher.interrupt
        if interrupt is not None:
            interrupt()
        for thread in self._threads:
            if thread.is_alive():
                thread.join(CLOSE_WAIT_SECONDS)


def _remove(cursor, segments: list[tuple[str, str]]) -> None:
    for scope, name in segments:
        catalog.delete_materialization(cursor, scope, name)
