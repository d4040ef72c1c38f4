"""Stage two of deletion, and upkeep: rewrite files with deleted rows, merge small files,
expire old snapshots and remove files no snapshot needs, so deleted bytes leave the disk.

Runs on the writer thread (see writer.Writer.run) so it never races an insert or delete.
"""
from __future__ import annotations

import datetime as dt
import logging
import time
import urllib.parse
from dataclasses import dataclass

import duckdb

from .lake import (
    EVENTS_TABLE, LAKE, pending_deletions, rewrite_rows, rollback,
)
from .snapshot_holds import retention_bound

log = logging.getLogger(__name__)


@dataclass
class CompactionReport:
    applied_deletions: int
    seconds: float


def _call(cursor: duckdb.DuckDBPyConnection, function_call: str, columns: str = "*") -> int:
    # Fetch the rows: under count(*) these functions were seen to skip their work. Pick columns
    # where a function returns TIMESTAMPTZ, whose conversion to Python would need pytz.
    return len(cursor.execute(f"SELECT {columns} FROM {function_call}", [LAKE]).fetchall())


def flush_inlined(cursor: duckdb.DuckDBPyConnection) -> None:
    """Moves rows kept in the catalog by small commits into Parquet files."""
    _call(cursor, "ducklake_flush_inlined_data(?)")


def compact(cursor: duckdb.DuckDBPyConnection, inline_row_limit: int) -> CompactionReport:
    started = time.monotonic()
    pending = pending_deletions(cursor)
    flush_inlined(cursor)
    apply_deletions(cursor, inline_row_limit)
    _call(cursor, "ducklake_rewrite_data_files(?, delete_threshold => 0.0)")
    merge_small_files(cursor)
    report = CompactionReport(pending, time.monotonic() - started)
    log.info("compaction applied %d deletions in %.2f s", pending, report.seconds)
    return report


def apply_deletions(cursor: duckdb.DuckDBPyConnection, inline_row_limit: int) -> None:
    """Rewrites every events file with deleted rows without them (delete_threshold 0).

    DuckLake 1.4.4's rewrite fails ("Files have different hive partition path") when files of
    several partitions have deletions; then each such partition (a scope's month) is rewritten
    here instead (lake.rewrite_rows), one transaction each.
    Files left with no live row leave the snapshot; expiry and cleanup remove them from disk.
    """
    try:
        _call(cursor, "ducklake_rewrite_data_files(?, 'events', delete_threshold => 0.0)")
        return
    except duckdb.InternalException as error:
        log.warning("DuckLake could not rewrite files with deletions (%s); rewriting partitions",
                    str(error).splitlines()[0])
        rollback(cursor)
    for scope, start, end in _partitions_with_deletions(cursor):
        where = '"Scope" = $scope AND "EventTime" >= $start AND "EventTime" < $end'
        bounds = {"scope": scope, "start": start, "end": end}
        cursor.execute("BEGIN")
        rewrite_rows(cursor, _copy_of, where, bounds, inline_row_limit)
        cursor.execute("COMMIT")


def _copy_of(condition: str) -> str:
    return f"INSERT INTO {EVENTS_TABLE} SELECT * FROM {EVENTS_TABLE} WHERE {condition}"


def _partitions_with_deletions(cursor: duckdb.DuckDBPyConnection):
    """(scope, month start, next month start) of each events file that has deleted rows."""
    paths = cursor.execute(
        "SELECT data_file FROM ducklake_list_files(?, 'events') WHERE delete_file IS NOT NULL",
        [LAKE],
    ).fetchall()
    found = set()
    for (path,) in paths:
        values = dict(
            urllib.parse.unquote(part).split("=", 1) for part in path.split("/") if "=" in part
        )
        if {"Scope", "year", "month"} <= values.keys():
            found.add((values["Scope"], int(values["year"]), int(values["month"])))
    for scope, year, month in sorted(found):
        start = dt.datetime(year, month, 1)
        end = dt.datetime(year + month // 12, month % 12 + 1, 1)
        yield scope, start, end


def merge_small_files(cursor: duckdb.DuckDBPyConnection) -> None:
    """Merges small files, then removes every file no current snapshot needs."""
    try:
        _call(cursor, "ducklake_merge_adjacent_files(?)")
    except duckdb.Error as error:
        # Seen in DuckLake 1.4 ("Files have different hive partition path"): the merge is an
        # optimisation, so the snapshot expiry and file cleanup below still run.
        if isinstance(error, duckdb.FatalException):
            raise
        log.warning("merging small files failed: %s", str(error).splitlines()[0])
        rollback(cursor)
    # Old snapshots still reference rewritten and merged files; expire them, then delete. A
    # snapshot an export cursor holds stays, and so do the ones after it (snapshot_holds.py).
    bound = retention_bound(cursor)
    if bound is None:
        _call(cursor, "ducklake_expire_snapshots(?, older_than => now())", "snapshot_id")
    else:
        cursor.execute("SELECT snapshot_id FROM ducklake_expire_snapshots(?, older_than => "
                       "timezone('UTC', ?::TIMESTAMP))", [LAKE, bound]).fetchall()
    _call(cursor, "ducklake_cleanup_old_files(?, cleanup_all => true)")
