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
    pending = cursor.execute(f"SELECT count(*) FROM {PENDING_DELETIONS_TABLE}").fetchone()[0]
    flush_inlined(cursor)
    # delete_threshold 0: any file with a deleted row is rewritten without it.
    _call(cursor, "ducklake_rewrite_data_files(?, delete_threshold => 0.0)")
    _call(cursor, "ducklake_merge_adjacent_files(?)")
    cursor.execute(f"DELETE FROM {PENDING_DELETIONS_TABLE}")
    _call(cursor, "ducklake_rewrite_data_files(?, delete_threshold => 0.0)")
    # Old snapshots still reference the rewritten files; expire them, then delete the files.
    _call(cursor, "ducklake_expire_snapshots(?, older_than => now())", "snapshot_id")
    _call(cursor, "ducklake_cleanup_old_files(?, cleanup_all => true)")
    report = CompactionReport(pending, time.monotonic() - started)
    log.info("compaction applied %d deletions in %.2f s", pending, report.seconds)
    return report
