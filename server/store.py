"""Opens the store at this release's format, or refuses one of a newer format.

Servers sharing a catalog may run different releases while they are upgraded one by one. The
store records in `store_format` each format version a server brought it to; a release knows the
versions up to FORMAT_VERSION and the step that reaches each from the one before (STEPS).
Opening a store runs the steps it lacks, each in one transaction with its version's row. A
store of a newer version is refused: an older release could write what the newer one no longer
reads. For the same reason each flush checks the version in its own transaction (`check`), so
a server started before another one upgraded the shared store stops writing to it; the events
it acknowledged stay in its write-ahead log, which the upgraded release replays.

A store made before versions were recorded has no `store_format` table: every step runs, and
each finds what the store already has (tables that exist, options already set).
"""
from __future__ import annotations

import datetime as dt
import importlib.metadata
import logging
from typing import Callable

import duckdb

from . import column_values, cursors, leases, promoted
from .exports import tables as export_tables
from .config import Settings
from .errors import StoreFormatNewer
from .lake import (EVENTS_TABLE, FILE_OPTIONS, LAKE, PROMOTED_KEYS_TABLE, WAL_STATE_TABLE,
                   attach, column_names_of, events_table_ddl, quote_literal, rollback,
                   scalar, table_names)
from .segments import tables as segment_tables

log = logging.getLogger(__name__)

STORE_FORMAT_TABLE = f"{LAKE}.main.store_format"


def _base_tables(cursor: duckdb.DuckDBPyConnection, _inline_row_limit: int) -> None:
    existing = table_names(cursor)
    if "events" not in existing:
        cursor.execute(events_table_ddl())
        cursor.execute(
            f'ALTER TABLE {EVENTS_TABLE} SET PARTITIONED BY ("Scope", year("EventTime"), '
            f'month("EventTime"))'
        )
    cursor.execute(
        f'CREATE TABLE IF NOT EXISTS {WAL_STATE_TABLE} ("ServerId" VARCHAR, "FlushedSeq" BIGINT)'
    )
    cursor.execute(
        f"CREATE TABLE IF NOT EXISTS {PROMOTED_KEYS_TABLE} "
        f'("DynamicColumn" VARCHAR, "Path" VARCHAR, "Column" VARCHAR, "Type" VARCHAR)'
    )


def _file_options(cursor: duckdb.DuckDBPyConnection, _inline_row_limit: int) -> None:
    """New files take the options; the files a store has take them when compaction rewrites
    them."""
    current = {row[0]: row[1] for row in cursor.execute(
        f"SELECT option_name, value FROM {LAKE}.options() WHERE scope = 'GLOBAL'").fetchall()}
    for name, (value, reported) in FILE_OPTIONS.items():
        if current.get(name) != reported:
            literal = quote_literal(value) if isinstance(value, str) else str(int(value))
            cursor.execute(f"CALL {LAKE}.set_option({quote_literal(name)}, {literal})")


def _order_columns(cursor: duckdb.DuckDBPyConnection, _inline_row_limit: int) -> None:
    """Where a real promoted key's order column is registered (schema.PromotedKey). A store's
    real keys get theirs at its next compaction, which rewrites the rows anyway; until then
    sorts read the value alone."""
    if "OrderColumn" not in column_names_of(cursor, "promoted_keys"):
        cursor.execute(f'ALTER TABLE {PROMOTED_KEYS_TABLE} ADD COLUMN "OrderColumn" VARCHAR')


# (version, what it brings, the step from the version before it)
STEPS: tuple[tuple[int, str, Callable[[duckdb.DuckDBPyConnection, int], None]], ...] = (
    (1, "the events, wal_state and promoted_keys tables", _base_tables),
    (2, "the column_values table, filled from the stored events", column_values.ensure_table),
    (3, "Parquet files in row groups of 16,384 rows and version 2 encodings", _file_options),
    (4, "an order column beside each real promoted key", _order_columns),
    (5, "the leases table (one server at a time for a job)", leases.ensure_table),
    (6, "the store_keys table with the key that signs page cursors", cursors.ensure_table),
    (7, "the export_configurations, export_runs and snapshot_holds tables",
     export_tables.ensure_tables),
    (8, "key generations: keys shredded into typed columns at write time",
     promoted.ensure_generations),
    (9, "the tables of filter definitions, segments and their materialisations",
     segment_tables.ensure_tables),
    (10, "Parquet files compressed with zstd at level 1", _file_options),
    (11, "data files of up to 128 MB, so that a merge of small files ends within seconds",
     _file_options),
)
FORMAT_VERSION = STEPS[-1][0]
# A conflict means another server committed a step: one more attempt per step is enough.
UPGRADE_ATTEMPTS = len(STEPS) + 1


def open_store(settings: Settings) -> duckdb.DuckDBPyConnection:
    """The lake attached (lake.attach) with its format brought up to FORMAT_VERSION; callers
    take a .cursor() per thread. Raises StoreFormatNewer for a store of a newer format."""
    conn = attach(settings)
    try:
        for attempt in range(UPGRADE_ATTEMPTS):
            try:
                upgrade(conn, settings.inline_row_limit)
                break
            except duckdb.TransactionException:
                # Servers opening an older shared store together: one commits each step, the
                # others' commits conflict, and they go on from the version they read again.
                if attempt == UPGRADE_ATTEMPTS - 1:
                    raise
    except BaseException:
        conn.close()
        raise
    return conn


def upgrade(conn: duckdb.DuckDBPyConnection, inline_row_limit: int) -> int:
    """Runs the steps the store lacks; returns the version it had."""
    found = stored_version(conn)
    _refuse_newer(found)
    for version, what, step in STEPS:
        if version <= found:
            continue
        conn.execute("BEGIN")
        try:
            # Another server may have taken this step since: the version is read again here.
            if stored_version(conn) >= version:
                conn.execute("ROLLBACK")
                continue
            step(conn, inline_row_limit)
            conn.execute(f'CREATE TABLE IF NOT EXISTS {STORE_FORMAT_TABLE} '
                         f'("Version" INTEGER, "At" TIMESTAMP, "Release" VARCHAR)')
            conn.execute(f"INSERT INTO {STORE_FORMAT_TABLE} VALUES (?, ?, ?)",
                         [version, dt.datetime.now(dt.timezone.utc).replace(tzinfo=None),
                          _release()])
            conn.execute("COMMIT")
        except BaseException:
            rollback(conn)
            raise
        log.info("store format %d: %s", version, what)
    return found


def stored_version(cursor: duckdb.DuckDBPyConnection) -> int:
    """The newest format version the store was brought to; 0 for a store made before versions
    were recorded, or a new one."""
    return _newest_version(cursor) if "store_format" in table_names(cursor) else 0


def check(cursor: duckdb.DuckDBPyConnection) -> None:
    """Within a transaction that writes: refuses if another server has brought the store to a
    newer format since this one opened it."""
    _refuse_newer(_newest_version(cursor))


def _newest_version(cursor: duckdb.DuckDBPyConnection) -> int:
    return scalar(cursor, f'SELECT max("Version") FROM {STORE_FORMAT_TABLE}') or 0


def _refuse_newer(found: int) -> None:
    if found > FORMAT_VERSION:
        raise StoreFormatNewer(
            f"the store has format version {found}, newer than version {FORMAT_VERSION} of "
            f"this server (trackstore {_release()}): a newer release has upgraded it; run that "
            f"release or a newer one"
        )


def _release() -> str:
    try:
        return importlib.metadata.version("trackstore")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"
