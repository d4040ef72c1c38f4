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
    EVENTS_TABLE, LAKE, METADATA, pending_deletions, rewrite_rows, rollback, scalar, table_names,
)
from .snapshot_holds import retention_bound

log = logging.getLogger(__name__)

# Beyond a query's time limit, how long a replaced file stays readable: for the moments between
# a read taking its snapshot and its limit starting, the short reads with no limit (the
# duplicate check, statistics), and clocks of servers sharing a catalog that differ a little.
SNAPSHOT_MARGIN_SECONDS = 5.0
# Merges take only the files under this size (into files of up to DuckLake's target size), and
# the bound on files counts only them: a larger file reads as fast per row, and merging it again
# with each new flush's file rewrote it after every flush (in a 100M load, 4.5 GB of merges for
# 1 GB of flushes; bench/NOTES.md#merges-of-small-files-only-2026-12-07). Compaction's own
# rewrites are what rewrite larger files.
SMALL_FILE_BYTES = 64 << 20


@dataclass
class CompactionReport:
    applied_deletions: int
    seconds: float


def _call(cursor: duckdb.DuckDBPyConnection, function_call: str, columns: str = "*",
          params: list | None = None) -> int:
    # Fetch the rows: under count(*) these functions were seen to skip their work. Pick columns
    # where a function returns TIMESTAMPTZ, whose conversion to Python would need pytz.
    return len(cursor.execute(f"SELECT {columns} FROM {function_call}",
                              [LAKE, *(params or [])]).fetchall())


def flush_inlined(cursor: duckdb.DuckDBPyConnection) -> None:
    """Moves rows kept in the catalog by small commits into Parquet files."""
    _call(cursor, "ducklake_flush_inlined_data(?)")


def compact(cursor: duckdb.DuckDBPyConnection, inline_row_limit: int,
            pending_before: int | None = None) -> CompactionReport:
    """Moves inlined rows to files and rewrites the files with deletions; the merge of small
    files follows in slices (merge_some_files), each a task of its own.
    `pending_before`: the pending deletions before the caller's own rewrites (key promotion
    applies deletions too), for the report."""
    started = time.monotonic()
    pending = pending_deletions(cursor) if pending_before is None else pending_before
    flush_inlined(cursor)
    apply_deletions(cursor, inline_row_limit)
    _call(cursor, "ducklake_rewrite_data_files(?, delete_threshold => 0.0)")
    applied = pending - pending_deletions(cursor)
    return CompactionReport(applied, time.monotonic() - started)


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


def merge_some_files(cursor: duckdb.DuckDBPyConnection) -> int:
    """One slice of the merge of small files: in each table, at most one of DuckLake's merges in
    each of its groups (a partition at one schema version), each of files under
    SMALL_FILE_BYTES into one file of up to its target size. Returns how many data files of the
    events fewer there are (0: nothing merged).

    A merge of every small file at once was one transaction on the lake thread: at 17M events
    (210 files) it held flushes for over 30 s, and Track was refused
    (bench/NOTES.md#merges-in-slices-2026-12-07)."""
    before = data_files(cursor)
    try:
        for table in sorted(table_names(cursor)):  # the cap needs a table named
            if table == "events":
                _call(cursor, "ducklake_merge_adjacent_files(?, ?, max_compacted_files => 1, "
                              "max_file_size => ?)", params=[table, SMALL_FILE_BYTES])
            else:  # KBs
                _call(cursor, "ducklake_merge_adjacent_files(?, ?)", params=[table])
    except duckdb.Error as error:
        # Seen in DuckLake 1.4 ("Files have different hive partition path"): the merge is an
        # optimisation, so the snapshot expiry and file cleanup after it still run.
        if isinstance(error, duckdb.FatalException):
            raise
        log.warning("merging small files failed: %s", str(error).splitlines()[0])
        rollback(cursor)
        return 0
    return before - data_files(cursor)


def data_files(cursor: duckdb.DuckDBPyConnection) -> int:
    """The events table's data files in the current snapshot (a catalog read)."""
    return scalar(cursor, "SELECT count(*) FROM ducklake_list_files(?, 'events')", [LAKE])


def small_data_files(cursor: duckdb.DuckDBPyConnection) -> int:
    """Those of them under SMALL_FILE_BYTES, which merges take."""
    return scalar(cursor, "SELECT count(*) FROM ducklake_list_files(?, 'events') "
                          "WHERE data_file_size_bytes < ?", [LAKE, SMALL_FILE_BYTES])


def remove_unreadable(cursor: duckdb.DuckDBPyConnection, keep_seconds: float) -> None:
    """Expires old snapshots and deletes the files that no read can still use.

    A read holds the snapshot that was current when it started and runs at most `keep_seconds`
    (a query's time limit and a margin). So a snapshot expires only once it was replaced longer
    ago than that (the newest one from before the cutoff was current at the cutoff: it stays),
    and never while a reader that comes back later holds it or an older one (an export cursor:
    snapshot_holds.py); a file leaves the disk only once no kept snapshot lists it. DuckLake schedules a file
    for deletion when a merge replaces it (older snapshots may still list it: it waits until
    `keep_seconds` later) or when the expiry of the last snapshot listing it does (safe at
    once); `cleanup_all` would delete the former under a running query ("IO Error: Cannot open
    file").
    """
    cutoff = scalar(cursor, f"SELECT (now() - to_microseconds({int(keep_seconds * 1e6)}))"
                            "::VARCHAR")
    _call(cursor, "ducklake_cleanup_old_files(?, older_than => ?::TIMESTAMPTZ)", "path",
          [cutoff])
    replaced_lately = scalar(
        cursor, f"SELECT count(*) FROM {METADATA}.ducklake_files_scheduled_for_deletion "
                "WHERE schedule_start > ?::TIMESTAMPTZ", [cutoff])
    current_then = scalar(cursor, "SELECT max(snapshot_time)::VARCHAR FROM ducklake_snapshots(?) "
                                  "WHERE snapshot_time <= ?::TIMESTAMPTZ", [LAKE, cutoff])
    if current_then is None:
        return
    held = retention_bound(cursor)  # naive UTC, as the lake's own times
    _call(cursor, "ducklake_expire_snapshots(?, older_than => least(?::TIMESTAMPTZ, "
                  "coalesce(timezone('UTC', ?::TIMESTAMP), ?::TIMESTAMPTZ)))", "snapshot_id",
          [current_then, held, current_then])
    if not replaced_lately:  # everything scheduled now is of expired snapshots alone
        _call(cursor, "ducklake_cleanup_old_files(?, cleanup_all => true)", "path")
