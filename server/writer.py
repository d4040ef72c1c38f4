"""The writer: acknowledging Track calls one group at a time, writing the lake on its own thread.

Track calls are acknowledged one group at a time, on a waiting caller's thread or the log
thread (group_commit.py). Calls queued while a group is written are acknowledged together
(group commit): their events are appended to the write-ahead log, fsynced once, and kept in
`recent`, in memory, which every read registers as an Arrow relation (read-your-writes;
server/recent.py). Registering is zero-copy, where inserting each group into a DuckDB table
would cost every call a statement (bench/NOTES.md#writer-and-flushes).

The lake thread, with its own cursor, moves recent events into the lake in large DuckLake
commits (a flush): every `flush_seconds`, when `commit_max_rows` events wait, and before any
task (compaction, BatchDelete) or shutdown, which run on this thread too (so no flush runs
beside them and they see every event acknowledged before they were asked for in the lake; tasks
queued behind one flush share it). A Delete waits for no flush and no lake write: it is a
tombstone in the log and in memory, which reads apply at once and the lake thread applies to the
lake in a commit of its own (server/tombstones.py); on a shared catalog, whose other servers
cannot see this server's tombstones, an event still in recent is deleted there and in the log,
and any other in the lake by the lake thread, in groups. A large commit runs mostly in DuckDB
without the GIL, so acknowledgements go on meanwhile: a flush takes a snapshot (the recent
tables, the last log sequence number, a new log segment) under the log lock, commits it with
that watermark in the same DuckLake transaction, and then drops only what it flushed: the recent
tables at or below the watermark and the log segments before its new one. Reads and replays skip
logged events at or below the watermark, so none counts twice, and an acknowledged event is
always in the lake, the log or both. A failed flush keeps everything and is retried; a failed
log append (a full disk) is cut off the log (wal.py) and answered UNAVAILABLE. When recent holds
more than `max_recent_rows` (the lake is slower than ingest, or failing), acknowledgements wait
for a flush; after `stall_seconds` without one, Track is UNAVAILABLE rather than filling memory.
"""
from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Callable

import duckdb
import numpy as np
import pyarrow as pa

from . import (column_values, device_ids, event_batch, promoted, recent, store, stored_ids,
               tombstones)
from .group_commit import GroupCommit, Item
from .bound_parameters import SCOPE, SERVER, placeholder
from .deletes import (
    DeleteRequest, delete_batch, delete_group, delete_row_ids, delete_rows, not_found,
    over_pending_limit,
)
from .errors import (
    IngestStalled, ShuttingDown, StoreFormatNewer, TrackstoreError, write_failure,
)
from .event_batch import EventBatch
from .lake import (
    EVENTS_TABLE, WAL_STATE_TABLE, pending_deletions, rollback, scalar, set_inline_row_limit,
)
from .limits import MAX_PENDING_DELETES
from .recent import RECENT_SCHEMA, SEQ_COLUMN, RecentEntry, table_of
from .tombstones import DELETES_RELATION, Tombstones
from .wal import WriteAheadLog

log = logging.getLogger(__name__)

# A read's view of recent events is copied into one chunk when it has more chunks than this,
# each of fewer than SMALL_CHUNK_ROWS rows on average.
READ_MAX_CHUNKS = 64
SMALL_CHUNK_ROWS = 2048
RECENT_RELATION = "recent_events"
# Reads scan recent events whole and filter them in DuckDB. Without the OFFSET, DuckDB pushes
# a read's filters into the Arrow scan, which translates them to pyarrow expressions and fails
# on some (an OR of `IS NOT DISTINCT FROM`, OData's eq: "can't be an Arrow Scan Pushdown
# Filter"); no filter is pushed below an OFFSET, and recent events are few and in memory.
RECENT_SCAN = f"(SELECT * FROM {RECENT_RELATION} OFFSET 0) AS {RECENT_RELATION}"
# DuckLake inlines inserts by row count alone; a few huge events would bloat the catalog and
# commit far slower than as Parquet (bench/NOTES.md#writer-and-flushes). Write those as Parquet.
INLINE_MAX_BYTES = 4 * 1024 * 1024
MAX_DELETES_PER_COMMIT = 10_000
# Back-pressure: acknowledgements wait once recent holds this many commits' worth of events.
RECENT_LIMIT_COMMITS = 4
FLUSH_RETRY_SECONDS = 1.0
# After a flush found the store upgraded by a newer release: nothing changes until this server is.
REFUSED_RETRY_SECONDS = 30.0
# A flush whose groups average fewer events copies them into one chunk first.
SMALL_GROUP_ROWS = 256


@dataclass
class _Delete:
    request: DeleteRequest
    future: Future = field(default_factory=Future)


@dataclass
class _Task:
    run: Callable[[duckdb.DuckDBPyConnection], object]
    after_seq: int  # the log's last sequence number when the task was asked for
    rewrites: bool  # may write stored rows again (Writer.rewriting)
    future: Future = field(default_factory=Future)


_STOP = object()
_FLUSH = object()
_APPLY = object()  # tombstones naming lake rows are pending (Writer._apply_in_lake)
_IN_LAKE = object()  # a Delete of an event that is not in recent
# The log record of events deleted while in recent, as releases before tombstones wrote it:
# {DELETED: [[Scope, TrackId], ...]}; replay still applies it.
DELETED = "deleted"
# The log record of a Delete (server/tombstones.py): {TOMBSTONES: [[Scope, TrackId], ...]}.
TOMBSTONES = "tombstones"



class Writer:
    def __init__(self, conn: duckdb.DuckDBPyConnection, wal: WriteAheadLog, server_id: str, *,
                 commit_max_rows: int, inline_row_limit: int, flush_seconds: float,
                 promoted_keys: tuple = (), max_pending_deletes: int = MAX_PENDING_DELETES,
                 delete_retry_seconds: float = 3600.0,
                 on_idle: Callable[[duckdb.DuckDBPyConnection], None] | None = None,
                 idle_seconds: float = 5.0, max_recent_rows: int | None = None,
                 stall_seconds: float = 30.0, shared_catalog: bool = False,
                 shredder: promoted.Shredder | None = None):
        self._conn = conn  # a Delete's lookup takes a cursor of its own
        self._cursor = conn.cursor()      # the lake thread's: flushes, deletes, tasks, upkeep
        self._log_cursor = conn.cursor()  # the log thread's: the duplicate check
        self._wal = wal
        self.server_id = server_id
        self._lake_work: queue.Queue = queue.Queue()
        self._commit_max_rows = commit_max_rows
        self._inline_row_limit = inline_row_limit
        self._flush_seconds = flush_seconds
        self._max_pending_deletes = max_pending_deletes
        self._delete_retry_seconds = delete_retry_seconds
        self._max_recent_rows = max_recent_rows or RECENT_LIMIT_COMMITS * commit_max_rows
        self._stall_seconds = stall_seconds
        # Typed columns filled by flushes; changed only on the lake thread (see Engine.compact).
        self.promoted: tuple = promoted_keys
        self._shredder = shredder  # finds keys to shred at write time (server/promoted.py)
        self._on_idle = on_idle
        # Upkeep after each flush that wrote (the engine's bound on data files); lake thread.
        self.after_flush: Callable[[duckdb.DuckDBPyConnection], None] | None = None
        self._idle_seconds = idle_seconds
        self._closed = False
        self.flushes = 0
        # Held while appending to the log and while a flush takes its snapshot, so the snapshot's
        # tables, watermark and log segments agree.
        self._log_lock = threading.Lock()
        # Held by a flush from its snapshot until recent drops what it flushed, and, on a
        # shared catalog, by the deletion of events in recent: a deleted event never reaches
        # the lake in a flush that took it before, and a deletion sees each event in recent
        # or in the lake.
        self._recent_lock = threading.Lock()
        # Held by the lake thread from a commit that deletes lake rows tombstones name until
        # the tombstones no longer name them, so a count of both sees each deletion once.
        self._moving_deletions = threading.Lock()
        self._seq = 0
        self._flushed_seq = 0  # the watermark of the last flush; lake thread
        # Odd while a flush runs from its snapshot until recent dropped what it flushed; odd
        # while stored rows are written again (`rewriting`). Changed under the log lock.
        self._flush_phase = 0
        self._layout = 0
        self._apply_queued = False  # an _APPLY is in the lake thread's queue
        self._log_failing = False  # the last append failed (a full disk): logged once
        self._init_recent()
        # Set once a flush finds the store of a newer format: Track is refused from then on.
        self._refusal: str | None = None
        # Values of the tracked columns given to this server (server/column_values.py).
        self.values = column_values.GivenValues()
        # The TrackIds stored or acknowledged, for the duplicate check (server/stored_ids.py).
        self.stored_ids = stored_ids.StoredIds()
        self._ids_failed = False  # the build failed: every id is confirmed in the lake
        self._others = stored_ids.OtherServers() if shared_catalog else None
        # The DeviceIds given to this server, for reads (server/device_ids.py); a shared
        # catalog's other servers store devices this server never sees.
        self.device_ids = None if shared_catalog else device_ids.DeviceIds()
        # Deletions acknowledged, not yet in the lake. A server sharing its catalog deletes in
        # the lake at once instead: other servers' reads cannot see its tombstones.
        self.tombstones = Tombstones()
        self._tombstoning = not shared_catalog
        self._lake_pending = 0  # the lake's deletions waiting for compaction; lake thread
        self._start()
        self._commits = GroupCommit(self._acknowledge, lambda item: item.batch.size,
                                    commit_max_rows)
        self._lake_thread = threading.Thread(target=self._lake_loop, name="lake-writer",
                                             daemon=True)
        self._lake_thread.start()

    def _init_recent(self) -> None:
        # Guards what follows; the log thread waits on it for room (back-pressure).
        self._recent_changed = threading.Condition()
        self._recent: list[RecentEntry] = []
        self._recent_rows = 0
        self._unflushed_rows = 0  # in recent and in no flush snapshot yet
        self._flush_asked = False
        self._stalled_since: float | None = None
        self._retry_at = 0.0  # when to retry a failed flush (0: none failed); lake thread

    # -- public --------------------------------------------------------------------------------

    def insert(self, batch: EventBatch) -> Future:
        """Queues a batch; the future holds its TrackIds once it is durable."""
        self._note(batch.scope, batch.data)
        item = Item(batch)
        self._commits.submit(item)
        return item.future

    def insert_and_wait(self, batch: EventBatch) -> list[str]:
        """`insert(batch).result()`, acknowledged on this thread when no group is being
        written (group_commit.py)."""
        self._note(batch.scope, batch.data)
        item = Item(batch)
        self._commits.commit(item)
        return item.future.result()

    def _note(self, scope: str, data: pa.Table | list[list]) -> None:
        """What reads may assume of a batch's columns, before a read can see the batch."""
        self.values.note(scope, data)
        if self.device_ids is not None:
            self.device_ids.note(scope, data)

    def _note_table(self, table: pa.Table) -> None:
        """`_note` for events of any scopes (a replayed log record), split once per scope."""
        for scope, rows in stored_ids.by_scope(table.column("Scope")).items():
            self._note(scope, table.take(rows))

    def delete(self, scope: str, track_id: str) -> Future:
        """Deletes an event on the caller's thread: a tombstone in the log and in memory, which
        every read applies at once and the lake thread then applies to the lake
        (server/tombstones.py). On a shared catalog: an event not yet flushed at once, on the
        caller's thread (no flush runs meanwhile: `_recent_lock`); any other by the lake
        thread, where deletions queued together share one transaction."""
        request = _Delete(DeleteRequest(scope, track_id))
        if self._closed:
            raise ShuttingDown()
        if self._tombstoning:
            try:
                self._tombstone(request.request)
                request.future.set_result(track_id)
            except BaseException as error:
                request.future.set_exception(error)
            return request.future
        try:
            with self._recent_lock:
                [outcome] = self._delete_recent([request.request])
        except BaseException as error:
            request.future.set_exception(error)
            return request.future
        if outcome is _IN_LAKE:
            return self._put(self._lake_work, request)
        if outcome is None:
            request.future.set_result(track_id)
        else:
            request.future.set_exception(outcome)
        return request.future

    def delete_batch(self, scope: str, track_ids: list[str], allow_missing: bool) -> Future:
        """Queues the deletion of several events, all or none; the future holds the TrackIds
        deleted. It runs after a flush, which applies every tombstone before it."""
        return self.run(lambda cursor: delete_batch(
            cursor, scope, track_ids, allow_missing=allow_missing,
            max_pending=self._max_pending_deletes - self.tombstones.in_lake_count(),
            retry_seconds=self._delete_retry_seconds), rewrites=False)

    def pending_deletions(self) -> int:
        """Deletions waiting for compaction: the lake's, as last counted, and the tombstones
        whose lake rows no commit deleted yet. Cheap, for the limit a Delete checks: it may
        count a deletion twice while one moves into the lake (a Delete refused a moment early)."""
        return self._lake_pending + self.tombstones.in_lake_count()

    def pending_deletions_read(self, cursor: duckdb.DuckDBPyConnection) -> int:
        """Deletions waiting for compaction, each counted once: the lake's delete files, read
        on `cursor` from the catalog (every server's), and the tombstones naming lake rows."""
        with self._moving_deletions:
            return pending_deletions(cursor) + self.tombstones.in_lake_count()

    def register_reads(self, cursor: duckdb.DuckDBPyConnection) -> None:
        """Makes the tombstones and the recent events readable by the next statements on
        `cursor`, in that order (server/tombstones.py says why), recent without the events
        tombstones hide: filtered here, in Arrow, where a correlated NOT EXISTS cost every read
        about 2 ms more (bench/NOTES.md#deletes-as-tombstones)."""
        cursor.register(DELETES_RELATION, self.tombstones.table())
        cursor.register(RECENT_RELATION, tombstones.visible(self.recent_snapshot(),
                                                            self.tombstones))

    def run(self, task: Callable[[duckdb.DuckDBPyConnection], object],
            rewrites: bool = True) -> Future:
        """Runs `task(cursor)` on the lake thread once the lake holds every event acknowledged
        (and every deletion) before the call; the task manages its own transaction.
        `rewrites`: the task may write stored rows again (Writer.rewriting)."""
        return self._put(self._lake_work, _Task(task, self._seq, rewrites))

    def close(self) -> None:
        """Acknowledges what is queued, then flushes everything to the lake."""
        if not self._closed:
            self._closed = True
            self._commits.close()
            self._lake_work.put(_STOP)
            self._lake_thread.join()
            self._wal.close()
            self._cursor.close()
            self._log_cursor.close()

    def recent_snapshot(self) -> pa.Table:
        """The acknowledged events not yet known to be in the lake, with their log sequence."""
        with self._recent_changed:
            entries = list(self._recent)
        if not entries:
            return RECENT_SCHEMA.empty_table()
        table = table_of(entries)
        # Batch-1 traffic leaves one tiny chunk per group; DuckDB scans each chunk separately.
        chunks = table.column(0).num_chunks
        if chunks > READ_MAX_CHUNKS and table.num_rows < SMALL_CHUNK_ROWS * chunks:
            table = table.combine_chunks()
        return table

    def has_recent(self) -> bool:
        return bool(self._recent)

    def register_recent(self, cursor: duckdb.DuckDBPyConnection) -> None:
        """Makes `recent_events` readable by the next statements on `cursor`."""
        cursor.register(RECENT_RELATION, self.recent_snapshot())

    def recent_source_sql(self, keys: tuple) -> str:
        """Recent events of the scope bound as bound_parameters.SCOPE (every scope when it is
        NULL) that are not yet in the lake snapshot the same query reads, with the table's
        columns (promoted ones computed from the JSON); bound_parameters.SERVER is this
        server's id. Needs `register_recent` (or `register_reads`) on the cursor. A flush
        removes its tables from recent only after its commit, so a snapshot of recent taken
        before the query misses nothing the query's lake snapshot lacks."""
        scope = placeholder(SCOPE)
        condition = (f"WHERE (\"Scope\" = {scope} OR {scope} IS NULL) AND {SEQ_COLUMN} > "
                     f"{self.watermark_sql()}")
        _, select = promoted.select_sql(keys, RECENT_SCAN, condition)
        return select

    @staticmethod
    def watermark_sql() -> str:
        """This server's flushed watermark in the snapshot a statement reads (-1: none)."""
        return (f"(SELECT coalesce(max(\"FlushedSeq\"), -1) FROM {WAL_STATE_TABLE} "
                f"WHERE \"ServerId\" = {placeholder(SERVER)})")

    # -- start-up: recover what the log holds beyond the lake's watermark ---------------------

    def _start(self) -> None:
        watermark = self._watermark()
        self._seq = self._flushed_seq = watermark
        self._lake_pending = pending_deletions(self._cursor)
        self.values.load_stored(self._cursor)
        if self._others is not None:
            self._others.last_row = stored_ids.last_row_id(self._cursor)
        threading.Thread(target=self._build_stored_ids, args=(self._cursor.cursor(),),
                         name="stored-ids-build", daemon=True).start()
        replayed = 0
        for seq, data in self._wal.replay():
            self._seq = max(self._seq, seq)
            if seq <= watermark:
                continue
            if isinstance(data, dict) and TOMBSTONES in data:
                for scope, track_id in data[TOMBSTONES]:  # row ids are not logged
                    self.tombstones.add((scope, track_id), seq, None)
                continue
            if isinstance(data, dict):  # events deleted before any flush took them
                keys = {tuple(key) for key in data[DELETED]}
                entries = list(self._recent)
                self._drop_rows(entries, recent.rows_of(entries, keys)[0])
                continue
            table = data if isinstance(data, pa.Table) else event_batch.build_columns(data)
            self._note_table(table)
            self.stored_ids.add_rows(table.column("Scope"), table.column("TrackId"))
            replayed += self._add_recent(seq, data)
        if replayed:
            log.info("replayed %d acknowledged events from the write-ahead log", replayed)
        self._guarded_flush()  # a lake that cannot take it now (a full disk) is retried

    def _build_stored_ids(self, cursor: duckdb.DuckDBPyConnection) -> None:
        try:
            stored_ids.build(cursor, self.stored_ids,
                             self.device_ids.index if self.device_ids is not None else None)
        except Exception:  # checks of client ids would wait forever: fall back to the lake
            log.exception("building the index of stored TrackIds failed; duplicate checks "
                          "read the lake")
            self._ids_failed = True
            self.stored_ids.replace({})
        finally:
            cursor.close()

    def _watermark(self) -> int:
        found = scalar(self._cursor,
                       f'SELECT max("FlushedSeq") FROM {WAL_STATE_TABLE} WHERE "ServerId" = ?',
                       [self.server_id])
        return found if found is not None else 0

    def _put(self, work: queue.Queue, item):
        if self._closed:
            raise ShuttingDown()
        work.put(item)
        return item.future

    # -- acknowledging groups of inserts (on the thread whose turn it is, group_commit.py) -----

    def _acknowledge(self, group: list[Item]) -> None:
        try:
            if self._refusal is not None:
                raise StoreFormatNewer(self._refusal)
            self._wait_for_room()
            batches = [g.batch for g in group]
            if any(batch.client_ids for batch in batches):
                incoming, additions = self._without_stored(batches)
            else:  # fresh UUIDv7s; small calls stay Python columns (server/recent.py)
                incoming = event_batch.merged_columns(batches) or event_batch.concat(batches)
                additions = [(b.scope, stored_ids.hashes_of(b.track_ids)) for b in batches]
            if len(incoming[0]) if isinstance(incoming, list) else incoming.num_rows:
                self._log(incoming, "writing the write-ahead log")
                for scope, hashes in additions:
                    self.stored_ids.add(scope, hashes)
        except BaseException as error:
            if not isinstance(error, TrackstoreError):
                log.exception("acknowledging %d batches failed", len(group))
            for item in group:
                item.future.set_exception(error)
            return
        for item in group:
            item.future.set_result(item.batch.track_ids)
        with self._recent_changed:
            ask = self._unflushed_rows >= self._commit_max_rows and not self._flush_asked
            self._flush_asked |= ask
        if ask:
            self._lake_work.put(_FLUSH)

    def _log(self, record, what: str) -> int:
        """Appends a record to the log and syncs it; its events (if any) join recent. A failed
        write leaves no trace in the log (wal.py) and raises the error to answer."""
        with self._log_lock:
            return self._log_held(record, what)

    def _log_held(self, record, what: str) -> int:
        self._seq += 1
        try:
            self._wal.append(self._seq, record)
            self._wal.sync()
        except OSError as error:
            failure = write_failure(error, what)
            if not self._log_failing:
                log.error("%s; refusing writes until it succeeds again", failure.message)
            self._log_failing = True
            raise failure from None
        if self._log_failing:
            log.warning("the write-ahead log is writable again")
            self._log_failing = False
        if not isinstance(record, dict):
            self._add_recent(self._seq, record)
        return self._seq

    # -- Delete: a tombstone (server/tombstones.py) ----------------------------------------

    def _tombstone(self, request: DeleteRequest) -> None:
        """Deletes one event or raises NOT_FOUND (none visible: never stored, or deleted
        already) or RESOURCE_EXHAUSTED (the pending deletions are at their limit). Two
        Deletes of one event that overlap in time may both succeed; one after the other
        never do."""
        if self._refusal is not None:
            raise StoreFormatNewer(self._refusal)
        key = (request.scope, request.track_id)
        # Read before the lookup; even and unchanged at the end: no flush took a snapshot, or
        # no stored row was written again, meanwhile (tombstones.py).
        flush_phase, layout = self._flush_phase, self._layout
        before = self.tombstones.latest(key)
        found = self._find(key, before)
        if found is None:
            raise not_found(request)
        in_recent, row_ids = found
        with self._log_lock:
            if self.tombstones.latest(key) != before:  # deleted meanwhile
                raise not_found(request)
            pending = self.pending_deletions()
            if pending + 1 > self._max_pending_deletes:
                raise over_pending_limit(pending, self._max_pending_deletes,
                                         self._delete_retry_seconds)
            started, now = ((flush_phase, self._flush_phase) if in_recent
                            else (layout, self._layout))
            settled = started % 2 == 0 and started == now
            seq = self._log_held({TOMBSTONES: [list(key)]}, "writing the write-ahead log")
            first = not self.tombstones
            named = self.tombstones.add(key, seq, row_ids if settled else None)
            apply = named != () and not self._apply_queued
            self._apply_queued |= apply
        if apply:
            self._lake_work.put(_APPLY)
        elif first:  # the lake thread may be waiting as long as it waits when idle
            self._lake_work.put(None)

    def _apply_in_lake(self) -> None:
        """Deletes the lake rows that pending tombstones name (by row id or by key), in one
        commit, and leaves those tombstones naming no lake row (they still hide older recent
        events until the flush). Reads filter the lake, which costs them about a fifth of
        their throughput under a stream of Deletes (bench/NOTES.md#deletes-as-tombstones),
        only until this commit rather than until the next flush. Every lake row of a
        tombstone's key is older than it (tombstones.py), so deleting by key is right here
        too. A failure leaves them to the next flush."""
        with self._log_lock:
            self._apply_queued = False
            pending = self.tombstones.in_lake_list()
        if not pending or self._refusal is not None:
            return
        cursor = self._cursor
        with self._moving_deletions:
            try:
                cursor.execute("BEGIN")
                deleted = self._delete_named(cursor, pending)
                cursor.execute("COMMIT")
            except Exception:
                log.exception("deleting %d tombstoned events in the lake failed; the next "
                              "flush retries", len(pending))
                rollback(cursor)
                return
            self._lake_pending += deleted
            self.tombstones.settle(pending)

    @staticmethod
    def _delete_named(cursor: duckdb.DuckDBPyConnection,
                      pending: list[tombstones.Tombstone]) -> int:
        """Deletes the lake rows the tombstones name; returns how many."""
        by_key = [(scope, track_id) for scope, track_id, _, rows in pending if rows is None]
        row_ids = [row for *_, rows in pending for row in rows or ()]
        deleted = delete_rows(cursor, by_key) if by_key else 0
        return deleted + (delete_row_ids(cursor, row_ids) if row_ids else 0)

    def _find(self, key: tuple[str, str], before) -> tuple[bool, tuple] | None:
        """Where a read now would see an event of `key`, given its newest tombstone (None:
        none): (True, ()) in recent; (False, its row ids) in the lake; None nowhere. Recent is
        searched first, then the index of stored ids (a miss proves absence), and only then
        the lake."""
        with self._recent_changed:
            entries = list(self._recent)
        found, _ = recent.rows_of(entries, {key})
        newest = max((entries[position].seq for position in found), default=None)
        if newest is not None and (before is None or newest > before[0]):
            return True, ()
        if self.stored_ids.ready() and not self._ids_failed and not self.stored_ids.probe(
                key[0], stored_ids.hashes_of([key[1]]))[0]:
            return None
        # Only a tombstone by key needs the watermark (tombstones.py): asking for it costs the
        # lookup a second table's read.
        by_key = before is not None and before[1] is None
        row_ids, watermark = self._lake_rows(key, with_watermark=by_key)
        if before is not None:
            hidden = before[1]
            row_ids = ([] if watermark < before[0] else row_ids) if hidden is None else [
                row for row in row_ids if row not in hidden]
        return (False, tuple(row_ids)) if row_ids else None

    def _lake_rows(self, key: tuple[str, str], with_watermark: bool) -> tuple[list[int], int]:
        """The row ids of `key` in the lake and, if asked for, this server's watermark (else
        -1), in one snapshot."""
        watermark = self.watermark_sql() if with_watermark else "-1"
        cursor = self._conn.cursor()
        try:
            row_ids, flushed = cursor.execute(
                f'SELECT (SELECT list(rowid) FROM {EVENTS_TABLE} WHERE "Scope" = $scope AND '
                f'"TrackId" = $track_id), {watermark}',
                {"scope": key[0], "track_id": key[1],
                 **({SERVER: self.server_id} if with_watermark else {})}).fetchall()[0]
        finally:
            cursor.close()
        return row_ids or [], flushed

    @contextlib.contextmanager
    def rewriting(self):
        """Around work of the lake thread that may write stored rows again (compaction,
        merges, promotion's fills), which gives them new row ids: tombstones naming row ids are
        applied first, and a Delete whose lookup overlaps the work names its rows by key."""
        with self._log_lock:
            self._layout += 1
        try:
            if self.tombstones.by_row_id():
                self._flush()
            yield
        finally:
            with self._log_lock:
                self._layout += 1

    def _wait_for_room(self) -> None:
        """Back-pressure: while recent holds more than `max_recent_rows`, waits for a flush to
        make room; once flushes have made none for `stall_seconds`, refuses."""
        with self._recent_changed:
            while self._recent_rows > self._max_recent_rows:
                now = time.monotonic()
                if self._stalled_since is None:
                    self._stalled_since = now
                    log.warning("%d events wait for the lake; acknowledgements wait for a flush",
                                self._recent_rows)
                remaining = self._stalled_since + self._stall_seconds - now
                if remaining <= 0:
                    raise IngestStalled()
                self._recent_changed.wait(remaining)

    def _without_stored(self, batches: list[EventBatch]):
        """The group's events without those whose (Scope, TrackId) is stored or repeats earlier
        in the group, so a retried batch is not stored twice; and the hashes to add to the index
        once they are acknowledged. Only client ids can repeat (server ids are fresh UUIDv7s),
        which is why only groups with client ids come here. The index answers for most ids
        without a lake read (server/stored_ids.py)."""
        self.stored_ids.wait_ready()
        index = stored_ids.StoredIds.everything() if self._ids_failed else self.stored_ids
        positions, additions = stored_ids.new_positions(
            [(b.scope, b.track_ids) for b in batches], index, self._stored_among)
        incoming = event_batch.concat(batches)
        kept = sum(len(p) for p in positions)
        if kept == incoming.num_rows:
            return incoming, additions
        starts = np.cumsum([0] + [b.size for b in batches[:-1]])
        take = np.concatenate([p + start for p, start in zip(positions, starts)])
        return incoming.take(pa.array(take, type=pa.int64())), additions

    def _stored_among(self, scope: str, track_ids: list[str]) -> set[str]:
        """Which of a few TrackIds the scope holds, exactly: in recent or in the lake. Recent is
        registered before the query reads the lake, so a concurrent flush hides nothing. An
        event a tombstone hides is not stored: tracking it again stores it again."""
        cursor = self._log_cursor
        cursor.register("candidates", pa.table({"Scope": [scope] * len(track_ids),
                                                "TrackId": track_ids}))
        self.register_reads(cursor)
        try:
            rows = cursor.execute(
                f"""
                SELECT "TrackId" FROM candidates c
                WHERE EXISTS (SELECT 1 FROM {EVENTS_TABLE} s
                              WHERE s."Scope" = c."Scope" AND s."TrackId" = c."TrackId"
                                AND {tombstones.lake_condition(
                                    'c."Scope"', self.watermark_sql(), by_key=True)})
                   OR EXISTS (SELECT 1 FROM {RECENT_RELATION} r
                              WHERE r."Scope" = c."Scope" AND r."TrackId" = c."TrackId")
                """, {SERVER: self.server_id}
            ).fetchall()
        finally:
            cursor.unregister("candidates")
            cursor.unregister(RECENT_RELATION)
            cursor.unregister(DELETES_RELATION)
        return {row[0] for row in rows}

    def _add_recent(self, seq: int, data: pa.Table | list[list]) -> int:
        entry = RecentEntry(seq, time.monotonic(), data)
        with self._recent_changed:
            first = not self._recent
            self._recent.append(entry)
            self._recent_rows += entry.rows
            self._unflushed_rows += entry.rows
        if first:  # the lake thread may be waiting for work as long as it waits when idle
            self._lake_work.put(None)
        return entry.rows

    # -- the lake thread: flushes, deletes, tasks, upkeep --------------------------------------

    def _lake_loop(self) -> None:
        pending = None
        while True:
            item = pending if pending is not None else self._next_lake_work()
            pending = None
            if item is _STOP:
                self._guarded_flush()
                return
            if item is _FLUSH:
                self._guarded_flush()
            elif item is _APPLY:
                self._apply_in_lake()
            elif item is None:  # nothing queued until a flush was due
                if self._flush_due():
                    self._guarded_flush()
                else:
                    self._idle()
            elif isinstance(item, _Task):
                self._run_task(item)
            else:
                group, pending = self._gather(self._lake_work, item, MAX_DELETES_PER_COMMIT,
                                              lambda d: 1)
                self._delete(group)

    def _flush_at(self) -> float | None:
        """When recent events (or tombstones) are due for a flush: `flush_seconds` after the
        oldest arrived, or, after a failed flush, FLUSH_RETRY_SECONDS after it."""
        entries = self._recent
        arrivals = [t for t in (entries[0].added if entries else None, self.tombstones.since)
                    if t is not None]
        if not arrivals:
            return None
        return self._retry_at or min(arrivals) + self._flush_seconds

    def _flush_due(self) -> bool:
        at = self._flush_at()
        return at is not None and time.monotonic() >= at

    def _next_lake_work(self):
        at = self._flush_at()
        timeout = self._idle_seconds if at is None else max(0.0, at - time.monotonic())
        try:
            return self._lake_work.get(timeout=timeout)
        except queue.Empty:
            return None

    def _guarded_flush(self) -> None:
        flushes = self.flushes
        try:
            self._flush()
        except StoreFormatNewer as error:
            log.error("not writing to the lake: %s; acknowledged events stay in the write-ahead "
                      "log, and Track is refused", error.message)
        except Exception:  # events stay in the log and in recent; the next flush retries
            log.exception("flushing recent events to the lake failed")
        if self.flushes != flushes:
            self._upkeep(self.after_flush)

    def _idle(self) -> None:
        self._upkeep(self._on_idle)

    def _upkeep(self, job: Callable[[duckdb.DuckDBPyConnection], None] | None) -> None:
        if job is None:
            return
        try:
            job(self._cursor)
        except Exception:  # background upkeep must never stop the writer
            log.exception("background upkeep failed")
            rollback(self._cursor)
        self._recount_pending()

    def _run_task(self, task: _Task) -> None:
        try:
            # Tasks queued behind a flush that took what they need share it: under load, a
            # flush per queued Export kept the lake thread busy
            # (bench/NOTES.md#deletes-as-tombstones).
            if self._flushed_seq < task.after_seq:
                self._flush()
            with self.rewriting() if task.rewrites else contextlib.nullcontext():
                result = task.run(self._cursor)
            task.future.set_result(result)
        except BaseException as error:
            rollback(self._cursor)
            task.future.set_exception(error)
        self._recount_pending()  # a task may apply or add deletions (compaction, BatchDelete)

    def _recount_pending(self) -> None:
        try:
            self._lake_pending = pending_deletions(self._cursor)
        except Exception:  # a failing lake: the last count stands until the next
            log.exception("counting the pending deletions failed")
            rollback(self._cursor)

    @staticmethod
    def _gather(work: queue.Queue, first, limit: int, size: Callable[[object], int]):
        """`first` and the items of its kind queued right behind it, up to `limit` in size;
        and the next item of another kind taken from the queue, if any."""
        group, total = [first], size(first)
        while total < limit:
            try:
                more = work.get_nowait()
            except queue.Empty:
                return group, None
            if type(more) is not type(first):
                return group, more
            group.append(more)
            total += size(more)
        return group, None

    def _delete(self, group: list[_Delete]) -> None:
        """Events not yet flushed are deleted in memory and the log (a record of their keys,
        which replay applies too), so a Delete waits for no flush; the others in the lake."""
        try:
            requests = [d.request for d in group]
            with self._recent_lock:
                outcomes = self._delete_recent(requests)
            in_lake = [r for r, outcome in zip(requests, outcomes) if outcome is _IN_LAKE]
            lake_outcomes = iter(delete_group(
                self._cursor, in_lake, max_pending=self._max_pending_deletes,
                retry_seconds=self._delete_retry_seconds) if in_lake else ())
            outcomes = [next(lake_outcomes) if o is _IN_LAKE else o for o in outcomes]
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

    def _delete_recent(self, requests: list[DeleteRequest]) -> list:
        """Deletes the requested events that are in recent; per request None (deleted), an
        error, or _IN_LAKE (not in recent: the lake's to delete). The caller holds
        `_recent_lock`, so no flush moves events between recent and the lake meanwhile. A store
        a newer release upgraded is not written."""
        if self._refusal is not None:
            raise StoreFormatNewer(self._refusal)
        with self._recent_changed:
            entries = list(self._recent)
        wanted = {(r.scope, r.track_id) for r in requests}
        found, held = recent.rows_of(entries, wanted)
        outcomes, deleted = [], set()
        for request in requests:
            key = (request.scope, request.track_id)
            if key not in held:
                outcomes.append(_IN_LAKE)
            else:
                outcomes.append(not_found(request) if key in deleted else None)
                deleted.add(key)
        if deleted:
            self._log({DELETED: sorted(deleted)}, "writing the write-ahead log")
            self._drop_rows(entries, found)
        return outcomes

    def _drop_rows(self, entries: list[RecentEntry], found: dict[int, list[int]]) -> None:
        replaced = {id(entries[p]): entries[p].without_rows(rows) for p, rows in found.items()}
        removed = sum(len(rows) for rows in found.values())
        with self._recent_changed:  # entries appended meanwhile stay as they are
            self._recent = [replaced.get(id(e), e) for e in self._recent]
            self._recent = [e for e in self._recent if e is not None]
            self._recent_rows -= removed
            self._unflushed_rows = max(0, self._unflushed_rows - removed)
            self._recent_changed.notify_all()

    # -- flushing recent events to the lake ---------------------------------------------------

    def _flush(self) -> None:
        """Moves every event acknowledged so far into the lake in one DuckLake commit; on
        failure, rolls back and leaves recent and the log as they were."""
        if not self._recent and not self.tombstones:
            return
        with self._recent_lock:  # no event leaves recent but by this flush meanwhile
            try:
                self._flush_held()
            except BaseException as error:
                # Whatever failed (the log's rotation too, on a full or vanished disk), the
                # next try waits: a failure that repeats at once kept this thread busy
                # writing its traceback.
                if isinstance(error, StoreFormatNewer):
                    self._refusal = error.message
                self._retry_at = time.monotonic() + (
                    REFUSED_RETRY_SECONDS if self._refusal else FLUSH_RETRY_SECONDS)
                raise
            finally:
                with self._log_lock:
                    self._flush_phase += self._flush_phase % 2

    def _flush_held(self) -> None:
        with self._log_lock:  # no group is half-appended; later ones get seq > flushed_seq
            segment = self._wal.rotate()
            flushed_seq = self._seq
            deletions = self.tombstones.upto(flushed_seq)
            self._flush_phase += 1
            with self._recent_changed:
                entries = list(self._recent)
                self._unflushed_rows = 0
                self._flush_asked = False
        recent = table_of(entries)
        if recent.num_rows < SMALL_GROUP_ROWS * recent.column(0).num_chunks:
            # DuckDB scans each chunk separately: many tiny chunks insert several times slower
            # than one (bench/NOTES.md#writer-and-flushes).
            recent = recent.combine_chunks()
        # A flush that applies no tombstone moves no deletion: counts need not wait for it.
        with self._moving_deletions if deletions else contextlib.nullcontext():
            try:
                self._lake_pending += self._commit(recent, flushed_seq, deletions)
            except BaseException:
                with self._recent_changed:  # those rows are still unflushed
                    self._unflushed_rows += sum(e.rows for e in entries)
                raise
            # The lake holds them now; reads already skip recent rows at or below the
            # watermark.
            with self._recent_changed:
                self._recent = [e for e in self._recent if e.seq > flushed_seq]
                self._recent_rows -= sum(e.rows for e in entries)
                self._stalled_since = None
                self._recent_changed.notify_all()
            self.tombstones.applied(deletions)  # after recent dropped what it flushed
        self._flushed_seq = flushed_seq
        self._retry_at = 0.0
        self._wal.drop_before(segment)
        self.flushes += 1
        self.stored_ids.maintain()
        if self.device_ids is not None:
            self.device_ids.maintain()

    def _commit(self, recent: pa.Table, flushed_seq: int,
                deletions: list[tombstones.Tombstone]) -> int:
        """One DuckLake transaction: the lake's rows the tombstones `deletions` name deleted,
        the events with promoted columns less those the tombstones hide, and the watermark.
        Returns how many rows it deleted."""
        cursor = self._cursor
        deleted = 0
        json_bytes = sum(recent.column(name).nbytes for name in ("User", "Payload"))
        too_big_to_inline = (
            0 < recent.num_rows <= self._inline_row_limit and json_bytes > INLINE_MAX_BYTES
        )
        cursor.register(RECENT_RELATION, event_batch.with_json_types(recent))
        try:
            cursor.execute("BEGIN")
            store.check(cursor)
            # Another server sharing the catalog may have promoted keys since: fill their
            # columns too, from the list read in this same transaction.
            keys = promoted.load(cursor)
            if self._shredder is not None and self._shredder.due(keys, recent.num_rows):
                keys = self._shredder.shred(cursor, keys, RECENT_RELATION)
            if deletions:  # first: the events tracked again after their deletion stay
                deleted = self._apply_tombstones(cursor, deletions)
                condition = "WHERE " + tombstones.recent_condition(RECENT_RELATION, SEQ_COLUMN)
            else:
                condition = self._not_stored_elsewhere(cursor)
            columns, select = promoted.select_sql(keys, RECENT_RELATION, condition,
                                                  promoted.row_generation(keys))
            if too_big_to_inline:
                set_inline_row_limit(cursor, 0)
            cursor.execute(f"INSERT INTO {EVENTS_TABLE} ({columns}) {select}")
            self._write_watermark(cursor, flushed_seq)
            if too_big_to_inline:
                set_inline_row_limit(cursor, self._inline_row_limit)
            # Every event flushed had its values noted before it was acknowledged.
            generation, new_values = self.values.unstored()
            if new_values:
                column_values.insert(cursor, new_values, self._inline_row_limit)
            cursor.execute("COMMIT")
            # Only now: a read planned with a key's column before the commit made the column
            # would fail to bind it (a segment refresh beside the first flush that shreds it).
            if keys != self.promoted:
                log.info("promoted keys changed in the catalog; now %d", len(keys))
                self.promoted = keys
            self.values.mark_stored(generation, new_values)
            if self._others is not None:
                self._others.flushed(flushed_seq)
        except BaseException:
            rollback(cursor)  # first: an unregister inside the transaction would be undone
            raise
        finally:
            cursor.unregister(RECENT_RELATION)
            if deletions:
                cursor.unregister(DELETES_RELATION)
            if self._others is not None:
                cursor.unregister(stored_ids.LEARNED_RELATION)
        return deleted

    @staticmethod
    def _apply_tombstones(cursor: duckdb.DuckDBPyConnection,
                          deletions: list[tombstones.Tombstone]) -> int:
        """Deletes the lake's rows the tombstones name (by key: every row of the key, all
        older than the tombstone, tombstones.py) and registers the tombstones, which the
        flush's INSERT then applies to the recent events; returns how many rows it deleted."""
        deleted = Writer._delete_named(cursor, deletions)
        cursor.register(DELETES_RELATION, tombstones.as_table(deletions))
        return deleted

    def _not_stored_elsewhere(self, cursor: duckdb.DuckDBPyConnection) -> str:
        """A WHERE clause that drops the recent events another server sharing the catalog
        stored meanwhile (read in this flush's transaction, stored_ids.OtherServers); empty
        when no other server writes to the catalog."""
        if self._others is None:
            return ""
        learned = self._others.learn(cursor, self.stored_ids, lambda: self._seq)
        if learned is None:
            return ""
        cursor.register(stored_ids.LEARNED_RELATION, learned)
        return (f"WHERE NOT EXISTS (SELECT 1 FROM {stored_ids.LEARNED_RELATION} l "
                f'WHERE l."Scope" = {RECENT_RELATION}."Scope" '
                f'AND l."TrackId" = {RECENT_RELATION}."TrackId")')

    def _write_watermark(self, cursor: duckdb.DuckDBPyConnection, flushed_seq: int) -> None:
        """This server's watermark row. On a shared catalog every flush rewrites the whole
        table: two flushes that overlap then delete the same rows, and DuckLake refuses the
        second commit (as leases.py relies on), so no two servers store one TrackId in
        flushes that could not see each other; the refused one is retried and sees it."""
        rows = [(self.server_id, flushed_seq)]
        if self._others is not None:
            rows += cursor.execute(
                f'SELECT "ServerId", max("FlushedSeq") FROM {WAL_STATE_TABLE} '
                f'WHERE "ServerId" <> ? GROUP BY 1', [self.server_id]).fetchall()
            cursor.execute(f"DELETE FROM {WAL_STATE_TABLE}")
        else:
            cursor.execute(f'DELETE FROM {WAL_STATE_TABLE} WHERE "ServerId" = ?',
                           [self.server_id])
        cursor.executemany(f"INSERT INTO {WAL_STATE_TABLE} VALUES (?, ?)", rows)
