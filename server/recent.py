"""Acknowledged events held in memory until a flush puts them in the lake.

Each log record becomes one entry. Groups of small Track calls keep their events as Python
columns, the form they arrive in, and become Arrow only when a read or a flush needs them: then
every consecutive unbuilt entry is built in one go (a run), each entry keeping its place in the
run's table and slicing it only when asked for its own table; a flush or a read takes a run's
table whole (`table_of`), where slicing and joining thousands of batch-1 entries held the GIL
for most of a flush's Python time (bench/NOTES.md#batch-1-at-half-the-no-op-ceiling). On the
log path, building a table per group costs about as much as the fsync
(bench/NOTES.md#recent-events), and one build of a flush's thousands of rows costs less than
thousands of builds of a few rows.
"""
from __future__ import annotations

import threading

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import event_batch
from .event_schema import ARROW_SCHEMA

SEQ_COLUMN = "__seq"
RECENT_SCHEMA = ARROW_SCHEMA.append(pa.field(SEQ_COLUMN, pa.int64()))

# Entries are built by whichever thread needs them first (a read or the flush).
_build_lock = threading.Lock()


class RecentEntry:
    """The events of log record `seq`: an Arrow table, or columns in COLUMN_NAMES order until
    built into a run's table (rows `_offset` on of `_run`)."""

    __slots__ = ("seq", "rows", "added", "_table", "_columns", "_run", "_offset")

    def __init__(self, seq: int, added: float, data: pa.Table | list[list]):
        self.seq = seq
        self.added = added  # time.monotonic() when acknowledged (or replayed)
        self._run, self._offset = None, 0
        if isinstance(data, pa.Table):
            self.rows = data.num_rows
            self._table = _tagged(data, [seq], [data.num_rows])
            self._columns = None
        else:
            self.rows = len(data[0])
            self._table = None
            self._columns = data

    def without_rows(self, drop: list[int]) -> "RecentEntry | None":
        """This entry less the rows at `drop` (positions in its table), or None if none stay."""
        if len(drop) == self.rows:
            return None
        keep = np.ones(self.rows, dtype=bool)
        keep[drop] = False
        entry = RecentEntry.__new__(RecentEntry)
        entry.seq, entry.added, entry._columns = self.seq, self.added, None
        entry._run, entry._offset = None, 0
        entry._table = tables([self])[0].filter(pa.array(keep))
        entry.rows = entry._table.num_rows
        return entry


Key = tuple[str, str]  # (Scope, TrackId)


def rows_of(entries: list[RecentEntry], keys: set[Key]) -> tuple[dict[int, list[int]], set[Key]]:
    """For each entry (by position) holding events of `keys`, the positions of those rows; and
    the keys found."""
    found: dict[int, list[int]] = {}
    held: set[Key] = set()
    if not entries or not keys:
        return found, held
    ids = pa.array(sorted({track_id for _, track_id in keys}), pa.string())
    for position, table in enumerate(tables(entries)):
        hits = pc.indices_nonzero(pc.is_in(table.column("TrackId"), value_set=ids))
        if len(hits) == 0:
            continue
        rows = table.select(["Scope", "TrackId"]).take(hits).to_pylist()
        matched = [(row, (event["Scope"], event["TrackId"]))
                   for row, event in zip(hits.to_pylist(), rows)]
        matched = [(row, key) for row, key in matched if key in keys]
        if matched:
            found[position] = [row for row, _ in matched]
            held.update(key for _, key in matched)
    return found, held


def tables(entries: list[RecentEntry]) -> list[pa.Table]:
    """The entries' tables (with SEQ_COLUMN), in order."""
    _build(entries)
    for entry in entries:
        if entry._table is None:
            entry._table = entry._run.slice(entry._offset, entry.rows)
    return [entry._table for entry in entries]


def table_of(entries: list[RecentEntry]) -> pa.Table:
    """The entries' events (with SEQ_COLUMN) as one table, in order: a run's table whole where
    the entries hold all of it, so a flush of batch-1 groups slices and joins nothing."""
    _build(entries)
    pieces: list[pa.Table] = []
    position = 0
    while position < len(entries):
        entry = entries[position]
        run = entry._run
        if entry._table is not None or run is None:
            pieces.append(tables([entry])[0])
            position += 1
            continue
        end, rows = position + 1, entry.rows
        while (end < len(entries) and entries[end]._run is run and entries[end]._table is None
               and entries[end]._offset == entry._offset + rows):
            rows += entries[end].rows
            end += 1
        whole = entry._offset == 0 and rows == run.num_rows
        pieces.append(run if whole else run.slice(entry._offset, rows))
        position = end
    if not pieces:
        return RECENT_SCHEMA.empty_table()
    return pieces[0] if len(pieces) == 1 else pa.concat_tables(pieces)


def _build(entries: list[RecentEntry]) -> None:
    if any(entry._columns is not None for entry in entries):
        with _build_lock:
            _build_unbuilt(entries)


def _build_unbuilt(entries: list[RecentEntry]) -> None:
    run: list[RecentEntry] = []
    for entry in [*entries, None]:
        if entry is not None and entry._columns is not None:
            run.append(entry)
            continue
        if run:
            columns = event_batch.merge_columns([e._columns for e in run])
            table = _tagged(event_batch.build_columns(columns), [e.seq for e in run],
                            [e.rows for e in run])
            offset = 0
            for e in run:
                e._run, e._offset = table, offset
                e._columns = None  # last: an entry without columns has its run
                offset += e.rows
            run = []


def _tagged(table: pa.Table, seqs: list[int], rows: list[int]) -> pa.Table:
    seq_column = pa.array(np.repeat(np.array(seqs, dtype=np.int64), rows), pa.int64())
    return table.append_column(SEQ_COLUMN, seq_column)
