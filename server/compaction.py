"""Stage two of deletion, and upkeep: rewrite files with deleted rows, merge small files,
expire old snapshots and remove files no snapshot needs, so deleted bytes leave the disk.

Runs on the writer thread (see writer.Writer.run) so it never races an insert or delete.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import duckdb

from .lake import LAKE, PENDING_DELETIONS_TABLE

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


def compact(cursor: duckdb.DuckDBPyConnection) -> CompactionReport:
    started = time.monotonic()
    started_at = cursor.execute("SELECT now()::TIMESTAMP").fetchone()[0]
    pending = cursor.execute(f"SELECT count(*) FROM {PENDING_DELETIONS_TABLE}").fetchone()[0]
    flush_inlined(cursor)
    # delete_threshold 0: any file with a deleted row is rewritten without it.
    _call(cursor, "ducklake_rewrite_data_files(?, delete_threshold => 0.0)")
    # Only deletions made before this rewrite are applied; another server's later ones wait.
    cursor.execute(f'DELETE FROM {PENDING_DELETIONS_TABLE} WHERE "DeletedAt" <= ?', [started_at])
    _call(cursor, "ducklake_rewrite_data_files(?, delete_threshold => 0.0)")
    merge_small_files(cursor)
    report = CompactionReport(pending, time.monotonic() - started)
    log.info("compaction applied %d deletions in %.2f s", pending, report.seconds)
    return report


def merge_small_files(cursor: duckdb.DuckDBPyConnection) -> None:
    """Merges small files, then removes every file no current snapshot needs."""
    try:
        _call(cursor, "ducklake_merge_adjacent_files(?)")
    except duckdb.Error as error:
        # Seen in DuckLake 1.4 ("Files have different hive partition path"): the merge is an
        # optimisation, so the snapshot expiry and file cleanup below still run.
        if isinstance(error, duckdb.FatalException):
            raise
        log.warning("merging small files failed: %s", error)
        _rollback(cursor)
    # Old snapshots still reference rewritten and merged files; expire them, then delete.
    _call(cursor, "ducklake_expire_snapshots(?, older_than => now())", "snapshot_id")
    _call(cursor, "ducklake_cleanup_old_files(?, cleanup_all => true)")


def _rollback(cursor: duckdb.DuckDBPyConnection) -> None:
    try:
        cursor.execute("ROLLBACK")
    except duckdb.Error:
        pass  # no transaction was open
