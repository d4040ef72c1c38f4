"""The rows of filter definitions, segments and segment states, and how they are written.

A write of a scope's definitions or segments (`CatalogWrites.run`) holds the lease
`segments-catalog/<scope>` (server/leases.py) and runs in one DuckLake transaction: one server
at a time changes a scope's catalog, so two creates of one name, or the deletion of a definition
beside the creation of a segment that uses it, cannot both succeed. A transaction that loses to
a concurrent commit (a refresh, a compaction rewriting the same files) runs again.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import secrets
import threading
import time
from typing import Callable, Iterator, TypeVar

import duckdb
import orjson

from .. import leases
from ..errors import Unavailable
from ..lake import in_transaction as lake_transaction
from .model import (FilterDefinition, Materialization, Parameter, Segment, SegmentView,
                    check_lookup_name)
from .tables import (DEFINITIONS_TABLE, MEMBERS_TABLE, SEGMENTS_TABLE, STATES_TABLE,
                     insert_sql)
from .values import from_json, to_json

T = TypeVar("T")

LEASE_SECONDS = 30.0
# How long a write waits for another server's write of the same scope before UNAVAILABLE.
LEASE_WAIT_SECONDS = 10.0
LEASE_RETRY_SECONDS = 0.05
WRITE_ATTEMPTS = 3

_DEFINITION_COLUMNS = ('"Name", "Description", "Category", "Query", "Parameters", '
                       '"CreateTime", "UpdateTime", "Etag"')
_SEGMENT_COLUMNS = ('"Name", "Description", "FilterDefinition", "Parameters", '
                    '"RefreshSeconds", "CreateTime", "UpdateTime", "Etag"')
_STATE_COLUMNS = ('"Generation", "ComputedAt", "DeviceCount", "ComputedFor", "AttemptedAt", '
                  '"AttemptedFor", "LastError", "FailedAt"')


def now() -> dt.datetime:
    """The current time as the tables hold it: naive UTC."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def new_etag() -> str:
    return secrets.token_hex(8)


def created(thing: T) -> T:
    """A definition or segment as a create stores it: its times now, a first etag."""
    time = now()
    return dataclasses.replace(thing, create_time=time, update_time=time, etag=new_etag())


# -- filter definitions ---------------------------------------------------------------------

def _definition(row) -> FilterDefinition:
    name, description, category, query, parameters, created, updated, etag = row
    return FilterDefinition(
        name=name, description=description, category=category, query=query,
        parameters=tuple(Parameter(n, t) for n, t in orjson.loads(parameters)),
        create_time=created, update_time=updated, etag=etag)


def definition(cursor, scope: str, name: str) -> FilterDefinition | None:
    check_lookup_name(name)
    rows = cursor.execute(f'SELECT {_DEFINITION_COLUMNS} FROM {DEFINITIONS_TABLE} '
                          f'WHERE "Scope" = ? AND "Name" = ?', [scope, name]).fetchall()
    return _definition(rows[0]) if rows else None


def definitions_page(cursor, scope: str, prefix: str, after: str,
                     limit: int) -> list[FilterDefinition]:
    return [_definition(row) for row in _page(cursor, DEFINITIONS_TABLE, _DEFINITION_COLUMNS,
                                              scope, prefix, after, limit)]


def insert_definition(cursor, scope: str, d: FilterDefinition) -> None:
    parameters = orjson.dumps([[p.name, p.type] for p in d.parameters]).decode()
    cursor.execute(insert_sql(DEFINITIONS_TABLE),
                   [scope, d.name, d.description, d.category, d.query, parameters,
                    d.create_time, d.update_time, d.etag])


def delete_definition(cursor, scope: str, name: str) -> None:
    _delete(cursor, DEFINITIONS_TABLE, "Name", scope, name)


# -- segments -------------------------------------------------------------------------------

def _segment(row) -> Segment:
    name, description, definition_name, parameters, seconds, created, updated, etag = row
    return Segment(name=name, description=description, filter_definition=definition_name,
                   parameters=from_json(parameters), refresh_seconds=seconds,
                   create_time=created, update_time=updated, etag=etag)


def _state(row) -> Materialization:
    if row[0] is None:  # no state row yet (a LEFT JOIN)
        return Materialization()
    (generation, computed_at, count, computed_for, attempted_at, attempted_for, error,
     failed_at) = row
    return Materialization(generation, computed_at, count, computed_for, attempted_at,
                           attempted_for, error, failed_at)


def _view_sql(leading: str = "", joins: str = "") -> str:
    """SELECT [leading,] the segment's columns, then its state's (NULLs without one)."""
    segment = ", ".join("s." + c for c in _SEGMENT_COLUMNS.split(", "))
    state = ", ".join("st." + c for c in _STATE_COLUMNS.split(", "))
    return (f"SELECT {leading}{segment}, {state} FROM {SEGMENTS_TABLE} s "
            f'LEFT JOIN {STATES_TABLE} st ON st."Scope" = s."Scope" '
            f'AND st."Segment" = s."Name" {joins}')


_SEGMENT_VIEW = _view_sql()
_EVERY_SEGMENT = _view_sql('s."Scope", d."Etag", ',
                           f'LEFT JOIN {DEFINITIONS_TABLE} d ON d."Scope" = s."Scope" '
                           f'AND d."Name" = s."FilterDefinition"')


def _view(row) -> SegmentView:
    return SegmentView(_segment(row[:8]), _state(row[8:]))


def segment(cursor, scope: str, name: str) -> SegmentView | None:
    check_lookup_name(name)
    rows = cursor.execute(f'{_SEGMENT_VIEW} WHERE s."Scope" = ? AND s."Name" = ?',
                          [scope, name]).fetchall()
    return _view(rows[0]) if rows else None


def segments_page(cursor, scope: str, prefix: str, after: str, limit: int) -> list[SegmentView]:
    rows = cursor.execute(
        f'{_SEGMENT_VIEW} WHERE s."Scope" = ? AND starts_with(s."Name", ?) AND s."Name" > ? '
        f'ORDER BY s."Name" LIMIT ?', [scope, prefix, after, limit]).fetchall()
    return [_view(row) for row in rows]


def all_segments(cursor) -> Iterator[tuple[str, SegmentView, str | None]]:
    """(scope, segment with its state, the etag of its definition or None) of every segment
    of every scope."""
    for scope, definition_etag, *view in cursor.execute(_EVERY_SEGMENT).fetchall():
        yield scope, _view(view), definition_etag


def segments_using(cursor, scope: str, definition_name: str) -> list[Segment]:
    rows = cursor.execute(f'SELECT {_SEGMENT_COLUMNS} FROM {SEGMENTS_TABLE} WHERE "Scope" = ? '
                          f'AND "FilterDefinition" = ? ORDER BY "Name"',
                          [scope, definition_name]).fetchall()
    return [_segment(row) for row in rows]


def insert_segment(cursor, scope: str, s: Segment) -> None:
    cursor.execute(insert_sql(SEGMENTS_TABLE),
                   [scope, s.name, s.description, s.filter_definition, to_json(s.parameters),
                    s.refresh_seconds, s.create_time, s.update_time, s.etag])


def delete_segment(cursor, scope: str, name: str) -> None:
    _delete(cursor, SEGMENTS_TABLE, "Name", scope, name)


def delete_materialization(cursor, scope: str, name: str) -> None:
    """Within a transaction: the segment's state and every generation of its members."""
    _delete(cursor, STATES_TABLE, "Segment", scope, name)
    _delete(cursor, MEMBERS_TABLE, "Segment", scope, name)


def write_state(cursor, scope: str, name: str, state: Materialization) -> None:
    """Within a transaction: the segment's state row replaced by `state`."""
    _delete(cursor, STATES_TABLE, "Segment", scope, name)
    cursor.execute(insert_sql(STATES_TABLE),
                   [scope, name, state.generation, state.computed_at, state.device_count,
                    state.computed_for, state.attempted_at, state.attempted_for,
                    state.last_error, state.failed_at])


def orphan_states(cursor) -> list[tuple[str, str]]:
    """(scope, segment) of the states whose segment is gone: a refresh that committed beside
    the segment's deletion."""
    return cursor.execute(
        f'SELECT st."Scope", st."Segment" FROM {STATES_TABLE} st ANTI JOIN {SEGMENTS_TABLE} s '
        f'ON s."Scope" = st."Scope" AND s."Name" = st."Segment"').fetchall()


# -- shared -----------------------------------------------------------------------------------

def _page(cursor, table: str, columns: str, scope: str, prefix: str, after: str,
          limit: int) -> list[tuple]:
    return cursor.execute(
        f'SELECT {columns} FROM {table} WHERE "Scope" = ? AND starts_with("Name", ?) '
        f'AND "Name" > ? ORDER BY "Name" LIMIT ?', [scope, prefix, after, limit]).fetchall()


def _delete(cursor, table: str, key: str, scope: str, name: str) -> None:
    check_lookup_name(name)
    cursor.execute(f'DELETE FROM {table} WHERE "Scope" = ? AND "{key}" = ?', [scope, name])


def in_transaction(cursor: duckdb.DuckDBPyConnection, change: Callable[[object], T]) -> T:
    """`change(cursor)` in one transaction, retried when its commit conflicts (lake.py)."""
    return lake_transaction(cursor, change, WRITE_ATTEMPTS)


class CatalogWrites:
    """The writes of definitions and segments, one scope's at a time across servers."""

    def __init__(self, lake_cursor: Callable, holder: str):
        self._lake_cursor = lake_cursor  # Engine.lake_cursor
        self._holder = holder
        self._lock = threading.Lock()  # this server's writes, one at a time

    def run(self, scope: str, change: Callable[[object], T]) -> T:
        """`change(cursor)` in one transaction, holding the scope's catalog lease."""
        lease = f"segments-catalog/{scope}"
        with self._lock, self._lake_cursor() as cursor:
            self._claim(cursor, lease)
            try:
                return in_transaction(cursor, change)
            finally:
                leases.release(cursor, lease, self._holder)

    def _claim(self, cursor, lease: str) -> None:
        deadline = time.monotonic() + LEASE_WAIT_SECONDS
        while not leases.claim(cursor, lease, self._holder, LEASE_SECONDS):
            if time.monotonic() > deadline:
                raise Unavailable("another server is changing this scope's filter definitions "
                                  "and segments; retry shortly")
            time.sleep(LEASE_RETRY_SECONDS)
