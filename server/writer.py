"""The single writer: every change to the store goes through one thread.

Track calls queued while the writer is busy are acknowledged together (group commit): their
events are appended to the write-ahead log, fsynced once, and kept in `recent`, Arrow tables in
memory that every read registers as a relation (read-your-writes). Registering is zero-copy;
inserting each group into a DuckDB table instead cost 3 ms a call. The writer then moves recent
events into the lake in large DuckLake commits (a flush): every `flush_seconds`, when `recent`
holds `commit_max_rows`,
and before any delete, compaction or shutdown. The flush commits a watermark (the last log
sequence number it holds) in the same DuckLake transaction, so reads and replays never count an
event twice, and an acknowledged event is either in the lake or in the log.
Deletes and compaction run on this thread too, so writes of this process never conflict.
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

from . import promoted
from .deletes import DeleteRequest, delete_group
from .errors import Unavailable
from .event_batch import ARROW_SCHEMA, EventBatch
from .lake import EVENTS_TABLE, WAL_STATE_TABLE, rollback, set_inline_row_limit
from .wal import WriteAheadLog

log = logging.getLogger(__name__)

RECENT_RELATION = "recent_events"
SEQ_COLUMN = "__seq"
RECENT_SCHEMA = ARROW_SCHEMA.append(pa.field(SEQ_COLUMN, pa.int64()))
# DuckLake inlines inserts by row count alone; a few huge events would bloat the catalog
# (measured: 80 MB in 100 rows took 3.9 s inlined, 0.2 s as Parquet). Write those as Parquet.
INLINE_MAX_BYTES = 4 * 1024 * 1024
MAX_DELETES_PER_COMMIT = 10_000


@dataclass
class _Insert:
    batch: EventBatch
    future: Future = field(default_factory=Future)


@dataclass
class _Delete:
    request: DeleteRequest
    future: Future = field(default_factory=Future)


@dataclass
class _Task:
    run: Callable[[duckdb.DuckDBPyConnection], object]
    future: Future = field(default_factory=Future)


_STOP = object()


class Writer:
    def __init__(self, conn: duckdb.DuckDBPyConnection, wal: WriteAheadLog, server_id: str, *,
                 commit_max_rows: int, inline_row_limit: int, flush_seconds: float,
                 promoted_keys: tuple = (), max_pending_deletes: int = 1_000_000,
                 delete_retry_seconds: float = 3600.0,
                 on_idle: Callable[[duckdb.DuckDBPyConnection], None] | None = None,
                 idle_seconds: float = 5.0):
        self._cursor = conn.cursor()
        self._wal = wal
        self.server_id = server_id
        self._queue: queue.Queue = queue.Queue()
        self._commit_max_rows = commit_max_rows
        self._inline_row_limit = inline_row_limit
        self._flush_seconds = flush_seconds
        self._max_pending_deletes = max_pending_deletes
        self._delete_retry_seconds = delete_retry_seconds
        # Typed columns computed on insert; changed only on this thread (see Engine.compact).
        self.promoted: tuple = promoted_keys
        self._on_idle = on_idle
        self._idle_seconds = idle_seconds
        self._closed = False
        self.flushes = 0
        self._recent: list[pa.Table] = []
        self._recent_lock = threading.Lock()
        self._recent_rows = 0
        self._oldest_recent: float | None = None
        self._seq = 0
        self._start()
        self._thread = threading.Thread(target=self._loop, name="lake-writer", daemon=True)
        self._thread.start()

    # -- public --------------------------------------------------------------------------------

    def insert(self, batch: EventBatch) -> Future:
        """Queues a batch; the future holds its TrackIds once it is durable."""
        return self._put(_Insert(batch))

    def delete(self, scope: str, track_id: str) -> Future:
        """Queues a deletion; deletions queued together share one transaction."""
        return self._put(_Delete(DeleteRequest(scope, track_id)))

    def run(self, task: Callable[[duckdb.DuckDBPyConnection], object]) -> Future:
        """Runs `task(cursor)` on the writer thread after a flush (so the lake holds every
        acknowledged event); the task manages its own transaction."""
        return self._put(_Task(task))

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._queue.put(_STOP)
            self._thread.join()
            self._wal.close()
            self._cursor.close()

    def recent_snapshot(self) -> pa.Table:
        """The acknowledged events not yet known to be in the lake, with their log sequence."""
        with self._recent_lock:
            tables = list(self._recent)
        if not tables:
            return RECENT_SCHEMA.empty_table()
        return pa.concat_tables(tables)

    def has_recent(self) -> bool:
        return bool(self._recent)

    def register_recent(self, cursor: duckdb.DuckDBPyConnection) -> None:
        """Makes `recent_events` readable by the next statements on `cursor`."""
        cursor.register(RECENT_RELATION, self.recent_snapshot())

    def recent_source_sql(self, keys: tuple) -> str:
        """Recent events of scope $srv_scope (every scope when it is NULL) that are not yet in
        the lake snapshot the same query reads, with the table's columns (promoted ones
        computed from the JSON). Needs `register_recent` on the cursor."""
        _, select = promoted.select_sql(
            keys, RECENT_RELATION,
            f"WHERE (\"Scope\" = $srv_scope OR $srv_scope IS NULL) AND {SEQ_COLUMN} > "
            f"(SELECT coalesce(max(\"FlushedSeq\"), -1) FROM {WAL_STATE_TABLE} "
            f"WHERE \"ServerId\" = $srv_server)",
        )
        return select

    # -- start-up: recover what the log holds beyond the lake's watermark ---------------------

    def _start(self) -> None:
        watermark = self._watermark()
        self._seq = watermark
        replayed = 0
        for seq, table in self._wal.replay():
            self._seq = max(self._seq, seq)
            if seq > watermark:
                self._add_recent(seq, table)
                replayed += table.num_rows
        if replayed:
            log.info("replayed %d acknowledged events from the write-ahead log", replayed)
        self._flush()

    def _watermark(self) -> int:
        row = self._cursor.execute(
            f'SELECT max("FlushedSeq") FROM {WAL_STATE_TABLE} WHERE "ServerId" = ?',
            [self.server_id],
        ).fetchone()
        return row[0] if row and row[0] is not None else 0

    # -- the loop ------------------------------------------------------------------------------

    def _put(self, item):
        if self._closed:
            raise Unavailable("the server is shutting down")
        self._queue.put(item)
        return item.future

    def _loop(self) -> None:
        pending = None
        while True:
            item = pending if pending is not None else self._next()
            pending = None
            if item is _STOP:
                self._guarded(self._flush)
                return
            if item is None:
                if self._flush_due():
                    self._guarded(self._flush)
                else:
                    self._idle()
                continue
            if isinstance(item, _Task):
                self._run_task(item)
                continue
            if isinstance(item, _Delete):
                group, pending = self._gather(item, MAX_DELETES_PER_COMMIT, lambda d: 1)
                self._delete(group)
                continue
            group, pending = self._gather(item, self._commit_max_rows, lambda i: i.batch.size)
            self._acknowledge(group)
            if self._recent_rows >= self._commit_max_rows or self._flush_due():
                self._guarded(self._flush)

    def _next(self):
        timeout = self._idle_seconds
        if self._oldest_recent is not None:
            timeout = max(0.0, self._oldest_recent + self._flush_seconds - time.monotonic())
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def _flush_due(self) -> bool:
        return (self._oldest_recent is not None
                and time.monotonic() >= self._oldest_recent + self._flush_seconds)

    def _guarded(self, work) -> None:
        try:
            work()
        except Exception:  # events stay in the log and in recent; the next flush retries
            log.exception("flushing recent events to the lake failed")
            rollback(self._cursor)

    def _idle(self) -> None:
        if self._on_idle is None:
            return
        try:
            self._on_idle(self._cursor)
        except Exception:  # background upkeep must never stop the writer
            log.exception("background upkeep failed")
            rollback(self._cursor)

    def _run_task(self, task: _Task) -> None:
        try:
            self._flush()
            task.future.set_result(task.run(self._cursor))
        except BaseException as error:
            rollback(self._cursor)
            task.future.set_exception(error)

    def _gather(self, first, limit: int, size: Callable[[object], int]):
        """`first` and the items of its kind queued right behind it, up to `limit` in size;
        and the next item of another kind taken from the queue, if any."""
        group, total = [first], size(first)
        while total < limit:
            try:
                more = self._queue.get_nowait()
            except queue.Empty:
                return group, None
            if type(more) is not type(first):
                return group, more
            group.append(more)
            total += size(more)
        return group, None

    def _delete(self, group: list[_Delete]) -> None:
        try:
            self._flush()  # the events to delete may still be recent
            outcomes = delete_group(
                self._cursor, [d.request for d in group],
                max_pending=self._max_pending_deletes, retry_seconds=self._delete_retry_seconds,
            )
        except BaseException as error:
            rollback(self._cursor)
            for item in group:
                item.future.set_exception(error)
            return
        for item, outcome in zip(group, outcomes):
            if outcome is None:
                item.future.set_result(item.request.track_id)
            else:
                item.future.set_exception(outcome)

    # -- acknowledging a group: dedupe, log, fsync, recent -------------------------------------

    def _acknowledge(self, group: list[_Insert]) -> None:
        try:
            incoming = pa.concat_tables([g.batch.table for g in group])
            if any(g.batch.client_ids for g in group):
                incoming = self._without_stored(incoming)
            if incoming.num_rows:
                self._seq += 1
                self._wal.append(self._seq, incoming)
                self._wal.sync()
                self._add_recent(self._seq, incoming)
        except BaseException as error:
            log.exception("acknowledging %d batches failed", len(group))
            for item in group:
                item.future.set_exception(error)
            return
        for item in group:
            item.future.set_result(item.batch.track_ids)

    def _without_stored(self, incoming: pa.Table) -> pa.Table:
        """Drops events whose (Scope, TrackId) is stored or repeats earlier in the group, so a
        retried batch is not stored twice. Server-assigned ids are fresh UUIDv7s; only client
        ids can repeat, which is why only groups with client ids come here."""
        self._cursor.register("incoming", incoming)
        self.register_recent(self._cursor)
        try:
            keep = self._cursor.execute(
                f"""
                SELECT arrival FROM (
                    SELECT arrival, "Scope", "TrackId", row_number() OVER (
                        PARTITION BY "Scope", "TrackId" ORDER BY arrival) AS nth
                    FROM (SELECT "Scope", "TrackId", row_number() OVER () - 1 AS arrival
                          FROM incoming)
                ) candidates
                WHERE nth = 1
                  AND NOT EXISTS (SELECT 1 FROM {EVENTS_TABLE} s
                                  WHERE s."Scope" = candidates."Scope"
                                    AND s."TrackId" = candidates."TrackId")
                  AND NOT EXISTS (SELECT 1 FROM {RECENT_RELATION} r
                                  WHERE r."Scope" = candidates."Scope"
                                    AND r."TrackId" = candidates."TrackId")
                ORDER BY arrival
                """
            ).fetchall()
        finally:
            self._cursor.unregister("incoming")
            self._cursor.unregister(RECENT_RELATION)
        return incoming.take(pa.array([row[0] for row in keep], type=pa.int64()))

    def _add_recent(self, seq: int, table: pa.Table) -> None:
        tagged = table.append_column(SEQ_COLUMN, pa.array([seq] * table.num_rows, pa.int64()))
        with self._recent_lock:
            self._recent.append(tagged)
        self._recent_rows += table.num_rows
        if self._oldest_recent is None:
            self._oldest_recent = time.monotonic()

    # -- flushing recent events to the lake ---------------------------------------------------

    def _flush(self) -> None:
        """Moves every recent event into the lake in one DuckLake commit."""
        if not self._recent_rows:
            return
        cursor = self._cursor
        recent = self.recent_snapshot()
        json_bytes = sum(recent.column(name).nbytes for name in ("User", "Payload"))
        too_big_to_inline = (
            0 < recent.num_rows <= self._inline_row_limit and json_bytes > INLINE_MAX_BYTES
        )
        flushed_seq = self._seq
        cursor.register(RECENT_RELATION, recent)
        try:
            cursor.execute("BEGIN")
            # Another server sharing the catalog may have promoted keys since: fill their
            # columns too, from the list read in this same transaction.
            keys = promoted.load(cursor)
            if keys != self.promoted:
                log.info("promoted keys changed in the catalog; now %d", len(keys))
                self.promoted = keys
            columns, select = promoted.select_sql(
                keys, RECENT_RELATION, f"WHERE {SEQ_COLUMN} <= $flushed"
            )
            if too_big_to_inline:
                set_inline_row_limit(cursor, 0)
            cursor.execute(
                f"INSERT INTO {EVENTS_TABLE} ({columns}) {select}", {"flushed": flushed_seq}
            )
            cursor.execute(f'DELETE FROM {WAL_STATE_TABLE} WHERE "ServerId" = ?', [self.server_id])
            cursor.execute(f"INSERT INTO {WAL_STATE_TABLE} VALUES (?, ?)",
                           [self.server_id, flushed_seq])
            if too_big_to_inline:
                set_inline_row_limit(cursor, self._inline_row_limit)
            cursor.execute("COMMIT")
        finally:
            cursor.unregister(RECENT_RELATION)
        # The lake holds them now; reads already skip recent rows at or below the watermark.
        with self._recent_lock:
            self._recent = []
        self._wal.rotate_and_drop_old()
        self._recent_rows = 0
        self._oldest_recent = None
        self.flushes += 1
