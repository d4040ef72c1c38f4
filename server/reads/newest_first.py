"""Reads newest-first queries from the newest events: a window that widens until it is enough.

`List` pages and `top n by EventTime desc` want the newest n matching events. Over the whole
scope DuckDB scans every matching row to find them (bench/NOTES.md#newest-first-reads). The same
query over `EventTime >= t` reads only the files and row groups whose EventTime reaches t
(events arrive in time order, so row groups hold narrow time ranges), and its answer is exact
once it returns all n rows (querylang/newest_first.py, the analysis that says which queries
qualify). So: start with a window below the scope's newest EventTime, and widen it only when
the answer comes back short.

Where the window starts is only a guess; it never changes an answer, only how much is read:
- the scope's oldest and newest EventTime are cached for half a minute (a stale newest one only
  makes the window larger than needed; once the window reaches the oldest, the answer is exact
  whatever its length);
- an exact answer that keeps EventTime tells how far back the newest `depth` matching events
  reach: its last row is the depth-th newest. The next query of that shape starts from that
  span, scaled by the rows it needs and a margin (a page at skip 9900 read from the span of the
  page at skip 0 would be 99 times too short; the window that merely sufficed is too wide);
- without EventTime in the answer, the window that answered last time, scaled the same way.
"""
from __future__ import annotations

import datetime as dt
import threading
import time
from collections import OrderedDict
from typing import TYPE_CHECKING, Callable

from querylang.newest_first import TIME_COLUMN
from querylang.sqlgen import quote_ident

from ..bound_parameters import SINCE, placeholder

if TYPE_CHECKING:
    from .plan import Compile, ReadPlan, Reads

FIRST_WINDOW = dt.timedelta(hours=1)
GROWTH = 8  # a short answer with no rows: widen this much
MAX_GROWTH = 64  # a short answer with some rows: widen in proportion, at most this much
MAX_ATTEMPTS = 6  # then the whole scope
# A span learned from an answer, scaled to the rows needed, times this: the matching events are
# not spread evenly in time (a daily rhythm), and a window a little too wide costs less than a
# second read.
SPAN_MARGIN = 1.3
MIN_WINDOW = dt.timedelta(seconds=1)
BOUNDS_TTL_SECONDS = 30.0
REMEMBERED_SHAPES = 1024


class WindowPlanner:
    """Remembers, per scope, its EventTime range and the window that answered each query."""

    def __init__(self):
        self._lock = threading.Lock()
        self._bounds: dict[str, tuple[float, tuple]] = {}
        self._windows: OrderedDict[tuple, tuple[dt.timedelta, int]] = OrderedDict()

    def bounds(self, scope: str, read_bounds: Callable[[], tuple]) -> tuple:
        """(oldest, newest) EventTime of the scope, (None, None) when it is empty."""
        now = time.monotonic()
        with self._lock:
            cached = self._bounds.get(scope)
        if cached is not None and now - cached[0] < BOUNDS_TTL_SECONDS:
            return cached[1]
        value = read_bounds()
        with self._lock:
            self._bounds[scope] = (now, value)
        return value

    def first_window(self, shape: tuple, depth: int) -> dt.timedelta:
        with self._lock:
            known = self._windows.get(shape)
        if known is None:
            return FIRST_WINDOW
        window, span, for_depth = known
        scale = depth / max(1, for_depth)
        if span is not None:
            return max(MIN_WINDOW, span * (scale * SPAN_MARGIN))
        return window * max(1.0, scale)

    def answered(self, shape: tuple, window: dt.timedelta, depth: int,
                 span: dt.timedelta | None = None) -> None:
        """`span`: how far below the newest event the depth-th newest matching one lies."""
        with self._lock:
            self._windows[shape] = (window, span, depth)
            self._windows.move_to_end(shape)
            while len(self._windows) > REMEMBERED_SHAPES:
                self._windows.popitem(last=False)


def next_window(window: dt.timedelta, hint, returned: int) -> dt.timedelta:
    """The next window after one whose result had `returned` of the `hint.rows` rows."""
    if returned <= 0:  # with an offset, nothing is known but that too few events matched
        return window * GROWTH
    matched = hint.depth - hint.rows + returned
    return window * min(MAX_GROWTH, max(2.0, 2.0 * hint.depth / matched))


def run_newest_first(planner: WindowPlanner, shape: tuple, hint, bounds: tuple,
                     run_since: Callable[[dt.datetime], object], run_all: Callable[[], object],
                     size: Callable[[object], int] = len,
                     last_time: Callable[[object], dt.datetime | None] = lambda result: None):
    """The query's result: `run_since(t)` restricted to EventTime >= t, `run_all()` not.

    `hint` (querylang NewestFirst) says how many rows a restricted result must have to be exact
    (with an offset, the page size: a full page comes back only if enough rows precede it).
    `last_time(result)` is the EventTime of its last row, where the result holds it.
    """
    oldest, newest = bounds
    if newest is None:  # an empty scope
        return run_all()
    rows_needed = hint.rows

    def exact(result, window: dt.timedelta):
        if size(result) >= rows_needed:
            last = last_time(result)
            span = newest - last if isinstance(last, dt.datetime) and last <= newest else None
            planner.answered(shape, window, hint.depth, span)
        return result

    window = planner.first_window(shape, hint.depth)
    for _ in range(MAX_ATTEMPTS):
        try:
            since = newest - window
        except OverflowError:
            break
        if since <= oldest:
            break
        result = run_since(since)
        returned = size(result)
        if returned >= rows_needed:
            return exact(result, window)
        window = next_window(window, hint, returned)
    # The whole scope's answer sizes the next window too, when it has all the rows.
    return exact(run_all(), newest - oldest)


def read(planner: WindowPlanner, reads: Reads, plan: ReadPlan, compiled, compile_for: Compile):
    """`compiled` (a query with a NewestFirst hint) read from the newest events first."""
    hint = compiled.newest_first
    time_column = quote_ident(TIME_COLUMN)
    since = compile_for(plan, f"(SELECT * FROM {plan.source} AS _all "
                              f"WHERE {time_column} >= {placeholder(SINCE)})")
    bounds = planner.bounds(plan.scope, lambda: reads.run_sql(
        plan, f"SELECT min({time_column}), max({time_column}) FROM {plan.source} AS _all",
        {}).rows[0])
    return run_newest_first(
        planner, (plan.scope, compiled.sql), hint, bounds,
        run_since=lambda t: reads.run(plan, since, {SINCE: t}),
        run_all=lambda: reads.run(plan, compiled),
        size=lambda result: len(result.rows),
        last_time=lambda result: _last_value(result, hint.time_output),
    )


def _last_value(result, column: str | None):
    if column is None or column not in result.names or not result.rows:
        return None
    return result.rows[-1][result.names.index(column)]
