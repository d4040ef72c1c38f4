"""Acknowledged events held in memory until a flush puts them in the lake.

Each log record becomes one entry. Groups of small Track calls keep their events as Python
columns, the form they arrive in, and become Arrow only when a read or a flush needs them: then
every consecutive unbuilt entry is built in one go and each keeps its slice. On the log thread,
building a table per group costs about as much as the fsync (bench/NOTES.md#recent-events),
and one build of a flush's thousands of rows costs less than thousands of builds of a few rows.
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
    """The events of log record `seq`: an Arrow table, or columns in COLUMN_NAMES order."""

    __slots__ = ("seq", "rows", "added", "_table", "_columns")

    def __init__(self, seq: int, added: float, data: pa.Table | list[list]):
        self.seq = seq
        self.added = added  # time.monotonic() when acknowledged (or replayed)
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
    if any(entry._table is None for entry in entries):
        with _build_lock:
            _build_unbuilt(entries)
    return [entry._table for entry in entries]


def _build_unbuilt(entries: list[RecentEntry]) -> None:
    run: list[RecentEntry] = []
    for entry in [*entries, None]:
        if entry is not None and entry._table is None:
            run.append(entry)
            continue
        if run:
            columns = event_batch.merge_columns([e._columns for e in run])
            table = _tagged(event_batch.build_columns(columns), [e.seq for e in run],
                            [e.rows for e in run])
            offset = 0
            for e in run:
                e._table = table.slice(offset, e.rows)
                e._columns = None
                offset += e.rows
            run = []


def _tagged(table: pa.Table, seqs: list[int], rows: list[int]) -> pa.Table:
    seq_column = pa.array(np.repeat(np.array(seqs, dtype=np.int64), rows), pa.int64())
    return table.append_column(SEQ_COLUMN, seq_column)
