"""The paged export: a scope's events page by page, in (EventTime, TrackId) order, all pages
reading the DuckLake snapshot of the first one.

The first page runs on the lake thread after a flush (Engine.on_lake_thread), so every event
acknowledged before it is in the lake, and holds the lake's newest snapshot for the cursor's
lifetime (server/snapshot_holds.py). Every page reads `events AT (VERSION => snapshot)`: events
tracked or deleted meanwhile neither shift nor repeat rows. Paging is by key, never by offset:
a page reads the events after the last (EventTime, TrackId) of the page before, so its cost does
not grow with the pages before it. The cursor (server/cursors.py) carries the scope, the
filters, the snapshot, the hold's end and the last key, signed: another scope or other filters,
a tampered or foreign cursor is CURSOR_INVALID; one past its hold is CURSOR_EXPIRED.
"""
from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass

import duckdb

from .. import snapshot_holds
from ..errors import BadRequest, CursorExpired, FieldViolation
from ..event_batch import normalize_scope
from ..event_schema import COLUMN_NAMES
from ..limits import DEFAULT_EXPORT_PAGE_SIZE, MAX_EXPORT_PAGE_SIZE
from ..rows import ResultRows
from .events_at import EventsAt
from .times import from_millis, to_millis

CURSOR_KIND = "export"
_JSON_COLUMNS = [name in ("User", "Payload") for name in COLUMN_NAMES]


@dataclass(frozen=True)
class ExportQuery:
    """What an export reads: the same for every page of it."""

    scope: str
    start: int | None  # ms since the epoch, inclusive
    end: int | None  # ms since the epoch, exclusive
    event_types: tuple[str, ...]
    page_size: int

    @classmethod
    def checked(cls, scope: str, start: int | None, end: int | None, page_size: int,
                event_types) -> "ExportQuery":
        """The request's query; BadRequest naming each invalid field."""
        violations = []
        if not 0 <= page_size <= MAX_EXPORT_PAGE_SIZE:
            violations.append(FieldViolation(
                "page_size", f"must be 1 to {MAX_EXPORT_PAGE_SIZE} (0: {DEFAULT_EXPORT_PAGE_SIZE}),"
                             f" got {page_size}"))
        for name, value in (("start", start), ("end", end)):
            if value is not None and from_millis(value) is None:
                violations.append(FieldViolation(name, f"{value} is not a time in years 1 to 9999"))
        if start is not None and end is not None and end < start:
            violations.append(FieldViolation("end", "must not be before start"))
        violations.extend(FieldViolation(f"event_types[{i}]", "must not contain NUL (U+0000)")
                          for i, value in enumerate(event_types) if "\0" in value)
        if violations:
            raise BadRequest("; ".join(f"{v.field} {v.description}" for v in violations),
                             violations)
        return cls(normalize_scope(scope), start, end, tuple(sorted(set(event_types))),
                   page_size or DEFAULT_EXPORT_PAGE_SIZE)

    def bound_to(self) -> dict:
        """What a cursor of this query must repeat."""
        return {"scope": self.scope, "start": self.start, "end": self.end,
                "types": list(self.event_types)}


class PagedExport:
    def __init__(self, engine, lifetime_seconds: float):
        self._engine = engine
        self._lifetime = lifetime_seconds

    def page(self, query: ExportQuery, token: str) -> tuple[ResultRows, str]:
        """One page and the cursor of the next ("" when there is none)."""
        if token:
            state = self._engine.cursor_signer.open(CURSOR_KIND, token)
            _check_continues(state, query)
        else:
            snapshot, until = self._engine.on_lake_thread(
                lambda cursor: snapshot_holds.hold(cursor, self._lifetime), rewrites=False)
            state = {**query.bound_to(), "snap": snapshot, "until": to_millis(until),
                     "after": None}
        with self._engine.lake_cursor() as cursor:
            rows = _read(cursor, query, state)
        if len(rows) <= query.page_size:
            return ResultRows(list(COLUMN_NAMES), _JSON_COLUMNS, rows), ""
        rows = rows[:query.page_size]
        last = rows[-1]
        after = [_micros(last[COLUMN_NAMES.index("EventTime")]),
                 last[COLUMN_NAMES.index("TrackId")]]
        token = self._engine.cursor_signer.sign(CURSOR_KIND, {**state, "after": after})
        return ResultRows(list(COLUMN_NAMES), _JSON_COLUMNS, rows), token


def _check_continues(state: dict, query: ExportQuery) -> None:
    if any(state.get(key) != value for key, value in query.bound_to().items()):
        message = ("cursor belongs to an export of another scope or with other start, end or "
                   "event_types; pass the same ones as its first page, or start again without it")
        raise BadRequest(message, [FieldViolation("cursor", message)], reason="CURSOR_INVALID")
    if state["until"] < time.time() * 1000:
        raise CursorExpired(_expired_message())


def _expired_message() -> str:
    return ("the export cursor has expired: the snapshot its first page read is no longer "
            "kept (--export-cursor-seconds); start the export again without a cursor")


def _micros(value: dt.datetime) -> int:
    return (value - dt.datetime(1970, 1, 1)) // dt.timedelta(microseconds=1)


def _read(cursor: duckdb.DuckDBPyConnection, query: ExportQuery, state: dict) -> list[tuple]:
    """The page's rows and one more (which says whether another page follows)."""
    select = EventsAt("", query.scope, state["snap"])
    lower = from_millis(query.start) if query.start is not None else None
    if state["after"] is not None:
        after_time = dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=state["after"][0])
        lower = after_time if lower is None else max(lower, after_time)
        at, after_id = select.param("after_time", after_time), select.param(
            "after_id", state["after"][1])
        select.where(f'("EventTime" > {at} OR ("EventTime" = {at} AND "TrackId" > {after_id}))')
    if lower is not None:
        select.where(f'"EventTime" >= {select.param("lower", lower)}')
    if query.end is not None:
        select.where(f'"EventTime" < {select.param("upper", from_millis(query.end))}')
    select.one_of("EventType", query.event_types)
    limit = select.param("limit", query.page_size + 1)
    sql, params = select.sql(f'ORDER BY "EventTime", "TrackId" LIMIT {limit}'), select.params
    try:
        return cursor.execute(sql, params).fetchall()
    except duckdb.Error as error:
        if "snapshot" in str(error).lower():  # expired by a compaction that ignored the hold
            raise CursorExpired(_expired_message()) from None
        raise
