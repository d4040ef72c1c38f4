"""The DuckLake store: one DuckDB instance with the catalog attached as `lake`.

Layout: table `lake.main.events` with typed columns for the top-level fields (EventTime a plain
TIMESTAMP holding UTC: time-zone-aware types run through ICU per row, far slower to group by
day), JSON for User and Payload, partitioned by Scope and month of EventTime, in Parquet row
groups of 16,384 rows written in Parquet's version 2 encodings. bench/LAYOUTS.md has the
measurements behind that choice: smaller row groups in month partitions read a day's filter as
fast as day partitions, without their many files (bench/NOTES.md#lake-layout). A deletion waits
for compaction as a row of a DuckLake delete file (see pending_deletions).
"""
from __future__ import annotations

import datetime as dt
import pathlib
import time
from typing import Callable, TypeVar

import duckdb

from querylang.schema import DATETIME, DYNAMIC, EVENTS_SCHEMA
from querylang.sqlgen import quote_ident

from . import absent_modules, extensions
from .config import Settings

T = TypeVar("T")

LAKE = "lake"
EVENTS_TABLE = f"{LAKE}.main.events"
# DuckLake's own catalog tables (its specification's ducklake_delete_file etc.), attached by it.
METADATA = f"__ducklake_metadata_{LAKE}"
PROMOTED_KEYS_TABLE = f"{LAKE}.main.promoted_keys"
# Per server: the last write-ahead log sequence number whose events are in the lake.
WAL_STATE_TABLE = f"{LAKE}.main.wal_state"

ROW_GROUP_SIZE = 16_384
# DuckLake's options for the Parquet files it writes. Version 2 encodes timestamps as deltas and
# strings as one block of lengths then one of bytes (DELTA_BINARY_PACKED,
# DELTA_LENGTH_BYTE_ARRAY), which decode faster than version 1's plain encoding, and the flush's
# INSERT costs the same (bench/NOTES.md#lake-layout). zstd at level 1 writes files 42% smaller
# than DuckLake's default, snappy, in the same time, and they read as fast: the Payload JSON
# text is most of an event's bytes (bench/NOTES.md#zstd-files-2026-12-07). A merge of small
# files writes one file of up to the target size in one lake-thread task, with no flush beside
# it: at DuckLake's default of 512 MB one took over 30 s under load and Track was refused
# (bench/NOTES.md#merge-slices-of-128-mb); 128 MB is a quarter of that.
FILE_OPTIONS = {  # name: (the value to set, the value options() reports once it is set)
    "parquet_row_group_size": (ROW_GROUP_SIZE, str(ROW_GROUP_SIZE)),
    "parquet_version": (2, "V2"),
    "parquet_compression": ("zstd", "zstd"),
    "parquet_compression_level": (1, "1"),
    "target_file_size": ("128MB", "128000000"),
}
ATTACH_ATTEMPTS = 4
ATTACH_RETRY_SECONDS = 0.2
# Events copied by one sorted INSERT of a rewrite (see rewrite_rows).
REWRITE_SLICE_ROWS = 500_000
# Rows rewritten by compaction are written in time order, so each Parquet row group covers a
# short time range and a filter on EventTime skips the rest by min/max statistics (DuckLake
# 1.4 has no sorted tables); in the order of a parallel scan a row group spans about the whole
# month partition (bench/NOTES.md#lake-layout).
TIME_ORDER = 'ORDER BY "Scope", "EventTime"'

_SQL_TYPES = {DATETIME: "TIMESTAMP", DYNAMIC: "JSON"}


def quote_literal(text: str) -> str:
    """For the few statements that take no parameters (ATTACH, SECRET); never for user input."""
    return "'" + text.replace("'", "''") + "'"


def rollback(cursor: duckdb.DuckDBPyConnection) -> None:
    """Ends the cursor's transaction after a failure, if one is open."""
    try:
        cursor.execute("ROLLBACK")
    except duckdb.Error:
        pass  # no transaction was open


def in_transaction(cursor: duckdb.DuckDBPyConnection, change: Callable[[object], T],
                   attempts: int = 3) -> T:
    """`change(cursor)` in one transaction, run again (up to `attempts` times in all) when its
    commit conflicts with another server's or thread's. The cursor must not be inside one."""
    for attempt in range(attempts):
        cursor.execute("BEGIN")
        try:
            result = change(cursor)
            cursor.execute("COMMIT")
            return result
        except duckdb.TransactionException:
            rollback(cursor)
            if attempt == attempts - 1:
                raise
        except BaseException:
            rollback(cursor)
            raise
    raise AssertionError("unreachable")


def set_inline_row_limit(cursor: duckdb.DuckDBPyConnection, rows: int) -> None:
    """Within a transaction: inserts of at most `rows` rows go to the catalog, not Parquet.

    Set to 0 and back around an insert that must be written as Parquet: huge events (they would
    bloat the catalog) and the row rewrite of key promotion (DuckLake 1.4 cannot delete by row id
    next to inlined rows of the same transaction).
    """
    cursor.execute(f"CALL {LAKE}.set_option('data_inlining_row_limit', {int(rows)})")


def rewrite_rows(cursor: duckdb.DuckDBPyConnection, insert_of: Callable[[str], str], where: str,
                 params: dict, inline_row_limit: int) -> None:
    """Within a transaction: writes again exactly the events that match `where`, in time order,
    then deletes the originals, told apart by row id (the copies get row ids above every stored
    one). `insert_of(condition)` gives the INSERT that copies the stored events matching
    `condition`.

    This stands in for UPDATE and for DuckLake's own rewrite, which fail on the partitioned
    table in DuckLake 1.4. Inlining is off meanwhile: deleting by row id beside inlined rows of
    the same transaction crashes it. The copy runs one time slice at a time (`time_slices`):
    one sorted INSERT of every event holds them all in memory (bench/NOTES.md#memory). The
    copies are counted against the originals before any original is deleted.
    """
    last_row = scalar(cursor, f"SELECT max(rowid) FROM {EVENTS_TABLE} WHERE {where}", params)
    if last_row is None:
        return
    stored = {**params, "last_row": last_row}
    originals = f"({where}) AND rowid <= $last_row"
    slices, expected = time_slices(cursor, originals, stored, REWRITE_SLICE_ROWS)
    set_inline_row_limit(cursor, 0)
    copied = 0
    for condition, bounds in slices:
        copied += scalar(cursor, f"{insert_of(f'{originals} AND {condition}')} {TIME_ORDER}",
                         {**stored, **bounds})
    if copied != expected:
        raise RuntimeError(f"rewrite copied {copied} of {expected} events; nothing was deleted")
    cursor.execute(f"DELETE FROM {EVENTS_TABLE} WHERE {originals}", stored)
    set_inline_row_limit(cursor, inline_row_limit)


def time_slices(cursor: duckdb.DuckDBPyConnection, where: str, params: dict,
                max_rows: int) -> tuple[list[tuple[str, dict]], int]:
    """Conditions that split the events matching `where` into runs of whole hours of one scope,
    each of at most `max_rows` events unless a single hour holds more, in time order; and the
    number of events they cover. Events without a Scope or an EventTime get a slice of their own.
    """
    hours = cursor.execute(
        f'SELECT "Scope", date_trunc(\'hour\', "EventTime") AS hour, count(*) '
        f"FROM {EVENTS_TABLE} WHERE {where} GROUP BY ALL ORDER BY ALL", params
    ).fetchall()
    slices: list[tuple[str, dict]] = []
    run: list = []  # [scope, first hour, last hour, rows]
    in_range = ('"Scope" = $slice_scope AND "EventTime" >= $slice_start '
                'AND "EventTime" < $slice_end')

    def close_run() -> None:
        if run:
            scope, first, last, _ = run
            slices.append((in_range, {"slice_scope": scope, "slice_start": first,
                                      "slice_end": last + dt.timedelta(hours=1)}))
            run.clear()

    unplaced = 0
    for scope, hour, rows in hours:
        if scope is None or hour is None:
            unplaced += rows
            continue
        if run and (run[0] != scope or run[3] + rows > max_rows):
            close_run()
        if run:
            run[2], run[3] = hour, run[3] + rows
        else:
            run.extend([scope, hour, hour, rows])
    close_run()
    if unplaced:
        slices.append(('("Scope" IS NULL OR "EventTime" IS NULL)', {}))
    return slices, sum(rows for _, _, rows in hours)


def scalar(cursor: duckdb.DuckDBPyConnection, sql: str, params=None):
    """The first value of the statement's first row, the whole result fetched.

    `fetchone()` leaves a result that read the lake open, and the cursor's transaction with it,
    until the cursor's next statement. While any transaction is open DuckDB keeps the undo data
    of every later commit: a long-lived cursor idle after a `fetchone()` makes the server's
    memory grow with every commit for as long as it runs, and slows the catalog's reads
    (bench/NOTES.md#idle-transactions)."""
    return cursor.execute(sql, params).fetchall()[0][0]


def pending_deletions(cursor: duckdb.DuckDBPyConnection) -> int:
    """Deleted events still in the events table's data files: the rows of the live delete
    files of its live data files, which reads filter out and compaction's rewrite removes. Read
    from the catalog, so every server sharing it counts the same, and a Delete writes nothing
    but its delete file (a table of deletions would cost each Delete an INSERT and a Parquet
    file of its own). A rewrite ends its old data file's snapshot range but not that of the file's
    delete file (only snapshot expiry removes those), so the data file must be live too: a
    compaction killed after some partitions' rewrites committed counts only those left. A file
    whose every row is deleted leaves the snapshot instead of getting a delete file; it needs
    no rewrite (compaction's cleanup removes it), so its rows are not counted."""
    return scalar(
        cursor,
        f"SELECT coalesce(sum(d.delete_count), 0) FROM {METADATA}.ducklake_delete_file d "
        f"JOIN {METADATA}.ducklake_data_file f USING (data_file_id) "
        f"JOIN {METADATA}.ducklake_table t ON t.table_id = d.table_id "
        f"JOIN {METADATA}.ducklake_schema s USING (schema_id) "
        "WHERE d.end_snapshot IS NULL AND f.end_snapshot IS NULL AND t.end_snapshot IS NULL "
        "AND s.end_snapshot IS NULL AND t.table_name = 'events' AND s.schema_name = 'main'"
    )


def table_names(cursor: duckdb.DuckDBPyConnection) -> set[str]:
    """The tables of the lake's main schema, as the cursor's transaction sees them."""
    return {row[0] for row in cursor.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = ? AND schema_name = 'main'",
        [LAKE]).fetchall()}


def column_names_of(cursor: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    """The columns of a table of the lake's main schema, as the cursor's transaction sees them."""
    return {row[0] for row in cursor.execute(
        "SELECT column_name FROM duckdb_columns() WHERE database_name = ? "
        "AND schema_name = 'main' AND table_name = ?", [LAKE, table]).fetchall()}


def events_table_ddl() -> str:
    columns = ", ".join(
        f"{quote_ident(col.name)} {_SQL_TYPES.get(col.type, 'VARCHAR')}"
        for col in EVENTS_SCHEMA.columns
    )
    return f"CREATE TABLE IF NOT EXISTS {EVENTS_TABLE} ({columns})"


def _configure(conn: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    if settings.memory_limit:
        conn.execute("SET memory_limit = ?", [settings.memory_limit])
    if settings.threads:
        conn.execute("SET threads = ?", [settings.threads])
    # Nothing may be fetched from the internet at run time.
    conn.execute("SET allow_community_extensions = false")
    # DuckDB's allocator (jemalloc) keeps the pages a query freed until its own later
    # allocations purge them: an idle server held its last large query's memory, 660 MB
    # after a distinct count that DuckDB itself reported as 0 (bench/NOTES.md#memory-given-back).
    # Its background threads give them back within about a second.
    conn.execute("SET GLOBAL allocator_background_threads = true")
    # Keep Parquet footers in memory: DuckLake never changes a file once written, and parsing
    # the footers of every file again costs each query a share of its time that grows with the
    # files (bench/NOTES.md#lake-layout).
    conn.execute("SET GLOBAL parquet_metadata_cache = true")
    # The database itself is in memory: without a temp directory a large sort or aggregation
    # could not spill and would fail at the memory limit instead of slowing down.
    temp = pathlib.Path(settings.data_dir) / "tmp"
    temp.mkdir(parents=True, exist_ok=True)
    conn.execute("SET temp_directory = ?", [str(temp)])


def _create_s3_secret(conn: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    options = {
        "TYPE": "s3",
        "KEY_ID": settings.s3_key_id,
        "SECRET": settings.s3_secret,
        "REGION": settings.s3_region,
        "URL_STYLE": settings.s3_url_style,
        "USE_SSL": "true" if settings.s3_use_ssl else "false",
    }
    if settings.s3_endpoint:
        options["ENDPOINT"] = settings.s3_endpoint
    body = ", ".join(
        f"{key} {value if key in ('TYPE', 'USE_SSL') else quote_literal(value)}"
        for key, value in options.items()
    )
    conn.execute(f"CREATE OR REPLACE SECRET trackstore_s3 ({body})")


def attach(settings: Settings) -> duckdb.DuckDBPyConnection:
    """A DuckDB instance with the catalog attached as `lake`, its tables as the store has them
    (store.open_store brings them to this release's format)."""
    absent_modules.install()  # before the first statement with parameters
    conn = duckdb.connect(config=dict(extensions.NO_DOWNLOADS))
    _configure(conn, settings)
    extensions.load(conn, "ducklake")
    if settings.catalog.startswith("postgres:"):
        extensions.load(conn, "postgres")
    if settings.uses_s3:
        extensions.load(conn, "httpfs")
        _create_s3_secret(conn, settings)
    if not settings.catalog:
        pathlib.Path(settings.data_dir).mkdir(parents=True, exist_ok=True)
    if not settings.uses_s3:
        pathlib.Path(settings.resolved_data_path).mkdir(parents=True, exist_ok=True)
    # The embedded default keeps its files beside its catalog: a data dir copied or restored
    # elsewhere reads them where they are now, not at the absolute path the catalog recorded
    # (DuckLake keeps the files' paths relative to it). A data path given explicitly must
    # match the catalog's.
    moved = ", OVERRIDE_DATA_PATH true" if not (settings.catalog or settings.data_path) else ""
    statement = (
        f"ATTACH {quote_literal('ducklake:' + settings.catalog_attach_path)} AS {LAKE} "
        f"(DATA_PATH {quote_literal(settings.resolved_data_path)}, "
        f"DATA_INLINING_ROW_LIMIT {int(settings.inline_row_limit)}{moved})"
    )
    attempts = 0
    while True:
        try:
            conn.execute(statement)
            return conn
        except duckdb.Error as error:
            attempts += 1
            # Servers attaching a new shared catalog together each create DuckLake's tables in
            # it, and all but one fail; once that one has, the catalog is there to attach.
            if "Failed to initialize DuckLake" not in str(error) or attempts == ATTACH_ATTEMPTS:
                conn.close()
                raise
            time.sleep(ATTACH_RETRY_SECONDS * attempts)
