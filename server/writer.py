"""The single writer: every change to the lake goes through one thread.

Inserts queued while a commit is running are taken together into the next commit (group commit),
so N concurrent Track calls make far fewer than N DuckLake commits and data files. A Track call
is acknowledged only after its commit returned, so an acknowledged event survives a kill.
Deletes and compaction run on the same thread, so writes of this process never conflict.
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Callable

import duckdb
import pyarrow as pa

from .errors import Unavailable
from .event_batch import EventBatch
from . import promoted
from .lake import EVENTS_TABLE, set_inline_row_limit

INLINE_MAX_BYTES = 4 * 1024 * 1024

log = logging.getLogger(__name__)


@dataclass
class _Insert:
    batch: EventBatch
    future: Future = field(default_factory=Future)


@dataclass
class _Task:
    run: Callable[[duckdb.DuckDBPyConnection], object]
    future: Future = field(default_factory=Future)


_STOP = object()


class Writer:
    def __init__(self, conn: duckdb.DuckDBPyConnection, commit_max_rows: int,
                 inline_row_limit: int,
                 on_idle: Callable[[duckdb.DuckDBPyConnection], None] | None = None,
                 idle_seconds: float = 5.0):
        self._cursor = conn.cursor()
        self._queue: queue.Queue = queue.Queue()
        self._commit_max_rows = commit_max_rows
        self._inline_row_limit = inline_row_limit
        # Typed columns computed on insert; changed only on this thread (see Engine.compact).
        self.promoted: tuple = ()
        self._on_idle = on_idle
        self._idle_seconds = idle_seconds
        self._closed = False
        self.commits = 0
        self._thread = threading.Thread(target=self._loop, name="lake-writer", daemon=True)
        self._thread.start()

    def insert(self, batch: EventBatch) -> Future:
        return self._put(_Insert(batch))

    def run(self, task: Callable[[duckdb.DuckDBPyConnection], object]) -> Future:
        """Runs `task(cursor)` on the writer thread; the task manages its own transaction."""
        return self._put(_Task(task))

    def _put(self, item):
        if self._closed:
            raise Unavailable("the server is shutting down")
        self._queue.put(item)
        return item.future

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._queue.put(_STOP)
            self._thread.join()
            self._cursor.close()

    def _loop(self) -> None:
        pending = None
        while True:
            item = pending if pending is not None else self._next()
            pending = None
            if item is _STOP:
                return
            if item is None:
                self._idle()
                continue
            if isinstance(item, _Task):
                self._run_task(item)
                continue
            group = [item]
            rows = item.batch.size
            while rows < self._commit_max_rows:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if not isinstance(more, _Insert):
                    pending = more
                    break
                group.append(more)
                rows += more.batch.size
            self._commit_inserts(group)

    def _next(self):
        try:
            return self._queue.get(timeout=self._idle_seconds)
        except queue.Empty:
            return None

    def _idle(self) -> None:
        if self._on_idle is None:
            return
        try:
            self._on_idle(self._cursor)
        except Exception:  # background upkeep must never stop the writer
            log.exception("background upkeep failed")
            _rollback(self._cursor)

    def _run_task(self, task: _Task) -> None:
        try:
            task.future.set_result(task.run(self._cursor))
        except BaseException as error:
            _rollback(self._cursor)
            task.future.set_exception(error)

    def _commit_inserts(self, group: list[_Insert]) -> None:
        try:
            insert_group(self._cursor, [g.batch for g in group], self._inline_row_limit,
                         self.promoted)
            self.commits += 1
        except BaseException as error:
            _rollback(self._cursor)
            log.exception("group commit of %d batches failed", len(group))
            for item in group:
                item.future.set_exception(error)
            return
        for item in group:
            item.future.set_result(item.batch.track_ids)


def _rollback(cursor: duckdb.DuckDBPyConnection) -> None:
    try:
        cursor.execute("ROLLBACK")
    except duckdb.Error:
        pass  # no transaction was open


def insert_group(cursor: duckdb.DuckDBPyConnection, batches: list[EventBatch],
                 inline_row_limit: int = 0, promoted_keys: tuple = ()) -> None:
    """Inserts the batches in one transaction, skipping TrackIds already stored in their scope.

    Server-assigned ids are fresh UUIDv7s; only client-supplied ids can repeat (a retry), so the
    lookup against stored events runs only when a batch carries client ids.
    """
    incoming = pa.concat_tables([b.table for b in batches])
    # DuckLake inlines inserts by row count alone; a few huge events would bloat the catalog
    # (measured: 80 MB in 100 rows took 3.9 s inlined, 0.2 s as Parquet). Write those as Parquet.
    too_big_to_inline = (
        0 < incoming.num_rows <= inline_row_limit and incoming.nbytes > INLINE_MAX_BYTES
    )
    columns, values = promoted.insert_select(promoted_keys)
    cursor.register("incoming", incoming)
    try:
        cursor.execute("BEGIN")
        if too_big_to_inline:
            set_inline_row_limit(cursor, 0)
        if any(b.client_ids for b in batches):
            cursor.execute(
                f"""INSERT INTO {EVENTS_TABLE} ({columns})
                SELECT {values} FROM (
                    SELECT *, row_number() OVER (PARTITION BY "Scope", "TrackId" ORDER BY arrival)
                        AS first_seen
                    FROM (SELECT *, row_number() OVER () AS arrival FROM incoming) numbered
                ) candidates
                WHERE first_seen = 1 AND NOT EXISTS (
                    SELECT 1 FROM {EVENTS_TABLE} stored
                    WHERE stored."Scope" = candidates."Scope"
                      AND stored."TrackId" = candidates."TrackId")"""
            )
        else:
            cursor.execute(f"INSERT INTO {EVENTS_TABLE} ({columns}) SELECT {values} FROM incoming")
        if too_big_to_inline:
            set_inline_row_limit(cursor, inline_row_limit)
        cursor.execute("COMMIT")
    finally:
        cursor.unregister("incoming")
