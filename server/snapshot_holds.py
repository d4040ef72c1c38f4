"""Snapshots held for readers that come back later, and the retention bound compaction honours.

An export cursor reads, on every page, the DuckLake snapshot of its first page. Compaction
expires old snapshots and deletes the files only they reference, so it must keep every
snapshot a cursor may still read: a reader records a hold (the snapshot, its commit time, and
until when) in the lake table `snapshot_holds`, and compaction expires only snapshots older
than the oldest snapshot held (`retention_bound`). Holds live in the lake, so every server
sharing a catalog honours the others'. A hold that ran out is ignored, and removed by the next
hold; a reader past its hold gets CursorExpired instead of a partial read.

Any reader of a past snapshot (a long query, a segment refresh) can hold one the same way.
"""
from __future__ import annotations

import datetime as dt
import time

import duckdb

from .lake import LAKE, in_transaction, scalar

HOLDS_TABLE = f"{LAKE}.main.snapshot_holds"
# Two servers holding at once: the second commit conflicts and tries again.
HOLD_ATTEMPTS = 3


HOLDS_COLUMNS = '"Snapshot" BIGINT, "SnapshotTime" TIMESTAMP, "Until" TIMESTAMP'


def _in(seconds: float) -> dt.datetime:
    """`seconds` from now, naive UTC as the lake's times are."""
    return dt.datetime(1970, 1, 1) + dt.timedelta(seconds=time.time() + seconds)


def current_snapshot(cursor: duckdb.DuckDBPyConnection) -> tuple[int, dt.datetime]:
    """The lake's newest snapshot and its commit time (naive UTC)."""
    return cursor.execute(
        "SELECT snapshot_id, timezone('UTC', snapshot_time) FROM ducklake_snapshots(?) "
        "ORDER BY snapshot_id DESC LIMIT 1", [LAKE]).fetchall()[0]


def hold(cursor: duckdb.DuckDBPyConnection, seconds: float) -> tuple[int, dt.datetime]:
    """Holds the lake's newest snapshot for `seconds`; returns it and the hold's end. The
    cursor must not be inside a transaction."""
    def held(cursor) -> tuple[int, dt.datetime]:
        snapshot, committed = current_snapshot(cursor)
        until = _in(seconds)
        cursor.execute(f'DELETE FROM {HOLDS_TABLE} WHERE "Until" < ?', [_in(0)])
        cursor.execute(f"INSERT INTO {HOLDS_TABLE} VALUES (?, ?, ?)",
                       [snapshot, committed, until])
        return snapshot, until

    return in_transaction(cursor, held, HOLD_ATTEMPTS)


def retention_bound(cursor: duckdb.DuckDBPyConnection) -> dt.datetime | None:
    """The commit time of the oldest snapshot still held: compaction expires only snapshots
    older than it. None when nothing is held."""
    return scalar(cursor, f'SELECT min("SnapshotTime") FROM {HOLDS_TABLE} WHERE "Until" > ?',
                  [_in(0)])
