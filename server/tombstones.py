"""Deletions acknowledged but not yet applied to the lake: stage one of a Delete.

A Delete used to be a DuckLake transaction on the lake thread, queued behind flushes and
exports: seconds at p99 under mixed load (bench/NOTES.md#deletes-as-tombstones). Now a Delete
is a record in the write-ahead log (a tombstone: Scope, TrackId and the record's sequence
number) and an entry here, on the caller's thread; every read hides what the tombstones name at
once. The lake thread then deletes the lake rows they name in a commit of its own as soon as it
is free (Writer._apply_in_lake), and the next flush, whose watermark passes them, forgets them.

A tombstone names the lake rows it deletes in one of three ways:
- by row id (the rows the Delete's lookup found): reads skip those row ids, which costs them
  no column read. Row ids stay valid until stored rows are written again (compaction, merges);
  the lake thread applies these tombstones before such work (Writer.rewriting), and a Delete
  whose lookup overlapped it falls back to the key;
- none: the event was only in recent, and the next flush's snapshot will hold the tombstone,
  so the event never reaches the lake; or the lake thread has deleted its rows already;
- by key: every lake row of the key while the tombstone's sequence number is above the
  server's flushed watermark in the snapshot a read sees (once a flush applied it, the
  watermark has passed it, so the event tracked again afterwards stays visible). Reads then
  compare every TrackId: the fallback (a lookup beside a flush or a rewrite), and what replay
  uses. Every lake row of the key is older than the tombstone (a flush that stores the event
  tracked again applies the tombstone first), so deleting them all is right.
In recent, a tombstone hides every row of its key acknowledged before it (a lower sequence
number), until the flush, which leaves those rows out of what it inserts.

A flush removes the tombstones it applied only after its commit, and after it removed its
events from recent, so a read that registers the tombstones before the recent events misses
nothing: whatever left one list is in the lake snapshot the read then sees.
"""
from __future__ import annotations

import threading
import time

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .recent import SEQ_COLUMN

Key = tuple[str, str]  # (Scope, TrackId)
# How a tombstone names its lake rows: their row ids, () for none, None for every row of the key.
RowIds = tuple[int, ...] | None
Tombstone = tuple[str, str, int, RowIds]  # Scope, TrackId, sequence number, row ids

DELETES_RELATION = "pending_deletes"
SEQ, ROW_ID, BY_KEY = "Seq", "RowId", "ByKey"
SCHEMA = pa.schema([("Scope", pa.string()), ("TrackId", pa.string()), (SEQ, pa.int64()),
                    (ROW_ID, pa.int64()), (BY_KEY, pa.bool_())])


class Tombstones:
    """The pending deletions by key: the newest tombstone of each."""

    def __init__(self):
        self._lock = threading.Lock()
        self._newest: dict[Key, tuple[int, RowIds]] = {}
        self._by_key = 0  # how many name their rows by key
        self._by_rows = 0  # how many name row ids
        self._table: pa.Table | None = SCHEMA.empty_table()
        # time.monotonic() since tombstones are pending (None: none are); a flush is due
        # `flush_seconds` after it, as after the oldest recent event.
        self.since: float | None = None

    def __len__(self) -> int:
        return len(self._newest)

    def latest(self, key: Key) -> tuple[int, RowIds] | None:
        return self._newest.get(key)

    def by_key(self) -> bool:
        """Whether a tombstone names its rows by key (reads then read TrackIds)."""
        return self._by_key > 0

    def by_row_id(self) -> bool:
        return self._by_rows > 0

    def in_lake_list(self) -> list[Tombstone]:
        """The tombstones that name lake rows (row ids, or the key)."""
        with self._lock:
            return [(*key, s, rows) for key, (s, rows) in self._newest.items() if rows != ()]

    def settle(self, tombstones: list[Tombstone]) -> None:
        """Marks the tombstones whose lake rows a commit deleted as naming none; a key deleted
        again since keeps its newer tombstone."""
        with self._lock:
            for scope, track_id, seq, _ in tombstones:
                if self._is_newest(scope, track_id, seq):
                    self._forget((scope, track_id))
                    self._newest[(scope, track_id)] = (seq, ())
            self._table = None

    def in_lake_count(self) -> int:
        """How many name lake rows: the pending deletions beside the lake's delete files (a
        tombstone of an event never flushed waits for no compaction)."""
        return self._by_key + self._by_rows

    def in_lake(self) -> bool:
        """Whether a tombstone names lake rows (by row id or by key): only then must reads
        of the lake filter."""
        return self.in_lake_count() > 0

    def add(self, key: Key, seq: int, row_ids: RowIds) -> RowIds:
        """Adds the newest tombstone of `key`; returns the lake rows it names: its own and
        those of the tombstone it replaces, if that one's are not deleted yet (the event was
        tracked again and deleted again meanwhile)."""
        with self._lock:
            if not self._newest:
                self.since = time.monotonic()
            older = self._newest.get(key)
            if older is not None and older[1] != ():
                row_ids = (None if older[1] is None or row_ids is None
                           else tuple(dict.fromkeys(older[1] + row_ids)))
            self._forget(key)
            self._newest[key] = (seq, row_ids)
            self._by_key += row_ids is None
            self._by_rows += bool(row_ids)
            self._table = None
            return row_ids

    def upto(self, seq: int) -> list[Tombstone]:
        """The tombstones a flush whose watermark is `seq` applies."""
        with self._lock:
            return [(*key, s, rows) for key, (s, rows) in self._newest.items() if s <= seq]

    def applied(self, tombstones: list[Tombstone]) -> None:
        """Forgets the tombstones a flush committed; a key deleted again since keeps its newer
        one."""
        with self._lock:
            for scope, track_id, seq, _ in tombstones:
                if self._is_newest(scope, track_id, seq):
                    self._forget((scope, track_id))
            self._table = None
            # The ones left came after the flush took its snapshot.
            self.since = time.monotonic() if self._newest else None

    def _is_newest(self, scope: str, track_id: str, seq: int) -> bool:
        newest = self._newest.get((scope, track_id))
        return newest is not None and newest[0] == seq

    def _forget(self, key: Key) -> None:
        old = self._newest.pop(key, None)
        if old is not None:
            self._by_key -= old[1] is None
            self._by_rows -= bool(old[1])

    def table(self) -> pa.Table:
        """The tombstones as a table of SCHEMA, for reads to register as DELETES_RELATION."""
        table = self._table
        if table is not None:
            return table
        with self._lock:
            if self._table is None:
                self._table = as_table([(*key, s, rows) for key, (s, rows)
                                        in self._newest.items()])
            return self._table


def as_table(tombstones: list[Tombstone]) -> pa.Table:
    """One row per row id named (RowId NULL when none is; ByKey when the key names them)."""
    rows = [(scope, track_id, seq, row_id, named is None)
            for scope, track_id, seq, named in tombstones for row_id in (named or [None])]
    return pa.table([pa.array([row[i] for row in rows], field.type)
                     for i, field in enumerate(SCHEMA)], schema=SCHEMA)


def lake_condition(scope: str, watermark: str, by_key: bool) -> str:
    """A condition on the lake's events table: the row is not hidden by a tombstone. `scope`
    is the SQL of the scope (a bound parameter or a column), `watermark` of the server's
    flushed watermark in the same snapshot; `by_key` when tombstones by key are pending."""
    condition = (f'rowid NOT IN (SELECT "{ROW_ID}" FROM {DELETES_RELATION} '
                 f'WHERE "{ROW_ID}" IS NOT NULL)')
    if by_key:
        condition += (f' AND "TrackId" NOT IN (SELECT "TrackId" FROM {DELETES_RELATION} '
                      f'WHERE "{BY_KEY}" AND "Scope" = {scope} AND "{SEQ}" > {watermark})')
    return condition


def visible(recent: pa.Table, pending: Tombstones) -> pa.Table:
    """`recent` (with recent.SEQ_COLUMN) less the rows a pending tombstone hides."""
    if not len(pending) or not recent.num_rows:
        return recent
    ids = pending.table().column("TrackId")
    candidates = pc.indices_nonzero(pc.is_in(recent.column("TrackId"), value_set=ids))
    if not len(candidates):
        return recent
    rows = recent.select(["Scope", "TrackId", SEQ_COLUMN]).take(candidates)
    hidden = [row for row, (scope, track_id, seq) in zip(candidates.to_pylist(), zip(
        *(rows.column(i).to_pylist() for i in range(3))))
        if (pending.latest((scope, track_id)) or (-1,))[0] > seq]
    if not hidden:
        return recent
    keep = np.ones(recent.num_rows, dtype=bool)
    keep[hidden] = False
    return recent.filter(pa.array(keep))


def recent_condition(alias: str, seq_column: str) -> str:
    """A condition on recent events (as `alias`): no tombstone of the row's key came after it."""
    return (f"NOT EXISTS (SELECT 1 FROM {DELETES_RELATION} t WHERE t.\"Scope\" = "
            f"{alias}.\"Scope\" AND t.\"TrackId\" = {alias}.\"TrackId\" AND "
            f"t.\"{SEQ}\" > {alias}.{seq_column})")
