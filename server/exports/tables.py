"""The lake tables of exports, made by one store-format step (server/store.py).

`export_configurations`: one row a configuration (its destination as JSON without the secret,
which is stored encrypted beside it). `export_runs`: one row a run, replaced as it ends. A
configuration's high-water mark is the range end of its newest succeeded run, so a mark is
recorded exactly when a run's files are complete. `snapshot_holds`: see server/snapshot_holds.py.
"""
from __future__ import annotations

import duckdb

from ..lake import LAKE, table_names
from ..snapshot_holds import HOLDS_COLUMNS, HOLDS_TABLE

CONFIGURATIONS_TABLE = f"{LAKE}.main.export_configurations"
RUNS_TABLE = f"{LAKE}.main.export_runs"

_TABLES = {
    "export_configurations": (
        CONFIGURATIONS_TABLE,
        '"Scope" VARCHAR, "Name" VARCHAR, "Schedule" VARCHAR, "StartAt" TIMESTAMP, '
        '"EventTypes" VARCHAR[], "EventNames" VARCHAR[], "Where" VARCHAR, "Format" VARCHAR, '
        '"Compression" VARCHAR, "Destination" VARCHAR, "Secret" BLOB, '
        '"CreatedAt" TIMESTAMP, "UpdatedAt" TIMESTAMP'),
    "export_runs": (
        RUNS_TABLE,
        '"Scope" VARCHAR, "Name" VARCHAR, "RunId" VARCHAR, "State" VARCHAR, '
        '"RangeStart" TIMESTAMP, "RangeEnd" TIMESTAMP, "Rows" BIGINT, "Bytes" BIGINT, '
        '"Files" VARCHAR[], "Error" VARCHAR, "StartedAt" TIMESTAMP, "EndedAt" TIMESTAMP, '
        '"ServerId" VARCHAR'),
    # The snapshots export cursors hold (server/snapshot_holds.py).
    "snapshot_holds": (HOLDS_TABLE, HOLDS_COLUMNS),
}


def ensure_tables(cursor: duckdb.DuckDBPyConnection, _inline_row_limit: int = 0) -> None:
    """The store-format step of exports (server/store.py)."""
    existing = table_names(cursor)
    for name, (table, columns) in _TABLES.items():
        if name not in existing:
            cursor.execute(f"CREATE TABLE {table} ({columns})")
