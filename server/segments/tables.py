"""The lake tables of filter definitions and segments, added by store format 9 (server/store.py).

Lake tables, so that definitions, segments and materialisations survive restarts and every
server sharing a catalog sees the same ones. Times are naive UTC TIMESTAMPs, as EventTime.

- `filter_definitions`: one row per definition; "Parameters" is JSON [[name, type], ...].
- `segments`: one row per segment; "Parameters" is JSON {name: [type given, value]}
  (values.py), "RefreshSeconds" its refresh interval.
- `segment_states`: at most one row per segment, the state of its refreshes (model.
  Materialization); "Generation" names its rows in `segment_members`.
- `segment_members`: (scope, segment, generation, DeviceId). A refresh writes a new generation
  and deletes the others of its segment in one transaction. A refresh's files hold its
  generation alone (until compaction merges small ones), so a read of one generation skips the
  others' files by their "Generation" statistics.
"""
from __future__ import annotations

import duckdb

from ..lake import LAKE, table_names

DEFINITIONS_TABLE = f"{LAKE}.main.filter_definitions"
SEGMENTS_TABLE = f"{LAKE}.main.segments"
STATES_TABLE = f"{LAKE}.main.segment_states"
MEMBERS_TABLE = f"{LAKE}.main.segment_members"

# table -> its columns, in order
COLUMNS = {
    DEFINITIONS_TABLE: ('"Scope" VARCHAR', '"Name" VARCHAR', '"Description" VARCHAR',
                        '"Category" VARCHAR', '"Query" VARCHAR', '"Parameters" VARCHAR',
                        '"CreateTime" TIMESTAMP', '"UpdateTime" TIMESTAMP', '"Etag" VARCHAR'),
    SEGMENTS_TABLE: ('"Scope" VARCHAR', '"Name" VARCHAR', '"Description" VARCHAR',
                     '"FilterDefinition" VARCHAR', '"Parameters" VARCHAR',
                     '"RefreshSeconds" DOUBLE', '"CreateTime" TIMESTAMP',
                     '"UpdateTime" TIMESTAMP', '"Etag" VARCHAR'),
    STATES_TABLE: ('"Scope" VARCHAR', '"Segment" VARCHAR', '"Generation" BIGINT',
                   '"ComputedAt" TIMESTAMP', '"DeviceCount" BIGINT', '"ComputedFor" VARCHAR',
                   '"AttemptedAt" TIMESTAMP', '"AttemptedFor" VARCHAR', '"LastError" VARCHAR',
                   '"FailedAt" TIMESTAMP'),
    MEMBERS_TABLE: ('"Scope" VARCHAR', '"Segment" VARCHAR', '"Generation" BIGINT',
                    '"DeviceId" VARCHAR'),
}


def ensure_tables(cursor: duckdb.DuckDBPyConnection, _inline_row_limit: int = 0) -> None:
    """The store-format step that adds the tables (server/store.py)."""
    existing = table_names(cursor)
    for table, columns in COLUMNS.items():
        if table.rsplit(".", 1)[1] not in existing:
            cursor.execute(f"CREATE TABLE {table} ({', '.join(columns)})")


def insert_sql(table: str) -> str:
    """An INSERT of one row of `table`, its values as positional parameters."""
    return f"INSERT INTO {table} VALUES ({', '.join('?' * len(COLUMNS[table]))})"
