"""Every value a few low-cardinality columns have held, per scope, so the compiler can answer a
test for a value the scope never stored without a scan (querylang/known_values.py).

`EventType == "no_such_event"` reads the `EventType` of every row group of the scope, because
the value lies inside each group's min/max (bench/NOTES.md#known-values).

The storage side of those values lives here, beside the writer, because one transaction ties
them to the events: the lake table `column_values` (Scope, Column, Value), which every server
sharing the catalog reads the same, and which a flush fills in the same transaction as its
events, so whoever sees the events sees their values; the values of events not yet flushed,
noted in memory before those events can be read (`GivenValues`); and the table read back into
memory with the version it was read at (`LakeValues`). The set only grows: it stays a superset
of what is stored whatever is deleted, which is all an answer needs. What a read may assume
from them, and the check after it, is server/reads/known_values.py.

DuckLake adds a data file for every insert into the table (inlining is off for it), so an
unchanged newest file id means unchanged values: `lake_version` is a catalog read, no scan.

A column of a scope that has held more than MAX_VALUES values stops being tracked: a row with a
null Value says so, and tests on it are left to the scan.
"""
from __future__ import annotations

import threading
from typing import Iterable

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from querylang.sqlgen import quote_ident

from .event_schema import COLUMN_NAMES
from .lake import EVENTS_TABLE, LAKE, METADATA, scalar, set_inline_row_limit, table_names

COLUMN_VALUES_TABLE = f"{LAKE}.main.column_values"
TRACKED_COLUMNS = ("EventType", "CountryCode", "City")
MAX_VALUES = 10_000
_POSITIONS = {column: COLUMN_NAMES.index(column) for column in TRACKED_COLUMNS}

# (scope, column) -> its values ('' for a missing string, as Kusto sees it), None: not tracked.
Values = dict[tuple[str, str], "set[str] | None"]
Row = tuple[str, str, "str | None"]


def ensure_table(cursor: duckdb.DuckDBPyConnection, inline_row_limit: int) -> None:
    """Within a transaction: creates the table if the store has none, with the values of the
    events already stored (a store written before the table existed)."""
    if "column_values" in table_names(cursor):
        return
    cursor.execute(f'CREATE TABLE {COLUMN_VALUES_TABLE} '
                   f'("Scope" VARCHAR, "Column" VARCHAR, "Value" VARCHAR)')
    _backfill(cursor, inline_row_limit)


def _backfill(cursor: duckdb.DuckDBPyConnection, inline_row_limit: int) -> None:
    set_inline_row_limit(cursor, 0)
    for column in TRACKED_COLUMNS:
        quoted = quote_ident(column)
        cursor.execute(
            f"INSERT INTO {COLUMN_VALUES_TABLE} "
            f"WITH v AS (SELECT DISTINCT \"Scope\", coalesce({quoted}, '') AS value "
            f"FROM {EVENTS_TABLE} WHERE \"Scope\" IS NOT NULL), "
            f"n AS (SELECT \"Scope\", count(*) AS n_values FROM v GROUP BY ALL) "
            f"SELECT v.\"Scope\", ?, v.value FROM v JOIN n USING (\"Scope\") "
            f"WHERE n.n_values <= ? "
            f"UNION ALL SELECT \"Scope\", ?, NULL FROM n WHERE n.n_values > ?",
            [column, MAX_VALUES, column, MAX_VALUES],
        )
    set_inline_row_limit(cursor, inline_row_limit)


def _add(values: Values, key: tuple[str, str], new: Iterable[str]) -> bool:
    """Adds `new` to values[key]; True if that changed anything."""
    current = values.get(key, set())
    if current is None:
        return False
    added = set(new) - current
    if not added:
        return False
    if key not in values:
        values[key] = current
    current |= added
    if len(current) > MAX_VALUES:
        values[key] = None
    return True


class GivenValues:
    """The values of every event given to this server, and which of them the lake table holds.

    `note` runs before an event can be read (before it is queued for the log), so the values of
    every event in memory are here; the writer's flush stores what the table lacks."""

    def __init__(self):
        self._lock = threading.Lock()
        self._given: Values = {}
        self._stored: Values = {}
        self.generation = 0  # grows whenever a value is given for the first time
        self._stored_generation = -1  # every value given up to it is stored
        self._by_scope: dict[str, tuple[int, dict]] = {}  # of_scope's answers

    def note(self, scope: str, data: pa.Table | list[list]) -> None:
        """The values of a batch of one scope (an Arrow table or COLUMN_NAMES columns)."""
        for column in TRACKED_COLUMNS:
            if isinstance(data, pa.Table):
                values = set(pc.unique(data.column(column)).to_pylist())
            else:
                values = set(data[_POSITIONS[column]])
            if None in values:
                values.discard(None)
                values.add("")
            current = self._given.get((scope, column), set())
            if current is None or values <= current:  # read without the lock: only grows
                continue
            with self._lock:
                if _add(self._given, (scope, column), values):
                    self.generation += 1

    def of_scope(self, scope: str) -> tuple[int, dict[str, frozenset[str] | None]]:
        """(generation, column -> the values given for the scope or found stored when this
        server started; None: not tracked). Unchanged while the generation is: values stored
        since came from those given."""
        with self._lock:
            cached = self._by_scope.get(scope)
            if cached is None or cached[0] != self.generation:
                cached = self.generation, {
                    column: _union(self._given.get((scope, column), set()),
                                   self._stored.get((scope, column), set()))
                    for column in TRACKED_COLUMNS
                }
                self._by_scope[scope] = cached
            return cached

    def load_stored(self, cursor: duckdb.DuckDBPyConnection) -> None:
        stored = _read_table(cursor)
        with self._lock:
            self._stored = stored
            self._by_scope.clear()

    def unstored(self) -> tuple[int, list[Row]]:
        """(generation, rows the lake table lacks for the values given up to it); a null
        Value says too many. On the lake thread only."""
        rows: list[Row] = []
        with self._lock:
            if self.generation == self._stored_generation:
                return self.generation, rows
            for key, given in self._given.items():
                stored = self._stored.get(key, set())
                if stored is None:
                    continue
                if given is None:
                    rows.append((*key, None))
                else:
                    rows.extend((*key, value) for value in given - stored)
            return self.generation, rows

    def mark_stored(self, generation: int, rows: list[Row]) -> None:
        """After the commit that inserted what `unstored` gave."""
        with self._lock:
            self._stored_generation = generation
            for scope, column, value in rows:
                if value is None:
                    self._stored[(scope, column)] = None
                else:
                    _add(self._stored, (scope, column), (value,))


def insert(cursor: duckdb.DuckDBPyConnection, rows: list[Row], inline_row_limit: int) -> None:
    """Within the flush's transaction. Never inlined: readers notice a change by its file."""
    set_inline_row_limit(cursor, 0)
    cursor.executemany(f"INSERT INTO {COLUMN_VALUES_TABLE} VALUES (?, ?, ?)", rows)
    set_inline_row_limit(cursor, inline_row_limit)


def _read_table(cursor: duckdb.DuckDBPyConnection) -> Values:
    rows = cursor.execute(f'SELECT "Scope", "Column", "Value" FROM {COLUMN_VALUES_TABLE}')
    values: Values = {}
    for scope, column, value in rows.fetchall():
        key = (scope, column)
        if value is None:
            values[key] = None
        elif values.get(key, set()) is not None:
            values.setdefault(key, set()).add(value)
    return values


def lake_version(cursor: duckdb.DuckDBPyConnection) -> int:
    """The newest data file of the table, from DuckLake's catalog: a cheap read (no scan)."""
    return scalar(
        cursor,
        f"SELECT coalesce(max(f.data_file_id), -1) FROM {METADATA}.ducklake_data_file f "
        f"JOIN {METADATA}.ducklake_table t USING (table_id) "
        f"JOIN {METADATA}.ducklake_schema s USING (schema_id) "
        "WHERE t.end_snapshot IS NULL AND s.end_snapshot IS NULL "
        "AND t.table_name = 'column_values' AND s.schema_name = 'main'"
    )


class LakeValues:
    """The lake table in memory, with the version it was read at."""

    def __init__(self):
        self._lock = threading.Lock()
        self.version: int | None = None
        self._values: Values = {}
        self._by_scope: dict[str, tuple] = {}  # of_scope's answers at `version`

    def refresh(self, cursor: duckdb.DuckDBPyConnection) -> int:
        """Reads the table again if it changed; the version the values now are at least as
        new as."""
        version = lake_version(cursor)
        if version != self.version:
            values = _read_table(cursor)
            with self._lock:
                self._values, self.version = values, version
        return version

    def of_scope(self, scope: str) -> tuple[int | None, dict[str, frozenset[str] | None]]:
        with self._lock:
            cached = self._by_scope.get(scope)
            if cached is None or cached[0] != self.version:
                cached = self.version, {
                    column: _union(self._values.get((scope, column), set()))
                    for column in TRACKED_COLUMNS
                }
                self._by_scope[scope] = cached
            return cached


def _union(*parts: set[str] | None) -> frozenset[str] | None:
    """The values of all parts; None (not tracked) if any part is not tracked."""
    return None if None in parts else frozenset().union(*parts)


def combined(lake: dict, given: dict) -> dict[str, frozenset[str]]:
    """Column -> its values in the lake or in memory, for the columns tracked in both."""
    return {column: lake[column] | given[column] for column in TRACKED_COLUMNS
            if lake[column] is not None and given[column] is not None}
