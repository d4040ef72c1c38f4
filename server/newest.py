"""Reads newest-first queries from the newest events: a window that widens until it is enough.

`List` pages and `top n by EventTime desc` want the newest n matching events. Over the whole
scope DuckDB scans every matching row to find them (337 ms at 10 million events for a page at
skip 9900). The same query over `EventTime >= t` reads only the files and row groups whose
EventTime reaches t (events arrive in time order, so row groups hold narrow time ranges), and
its answer is exact once it returns all n rows (querylang/newest_first.py). So: start with a
window below the scope's newest EventTime, and widen it only when the answer comes back short.

Where the window starts is only a guess; it never changes an answer, only how much is read:
- the scope's oldest and newest EventTime are cached for half a minute (a stale newest one only
  makes the window larger than needed; once the window reaches the oldest, the answer is exact
  whatever its length);
- the window that answered a query shape last time starts the next one, scaled by the rows it
  needs (the next page of a list needs a little more).
"""
from __future__ import annotations

import datetime as dt
import threading
import time
from collections import OrderedDict
from typing import Callable

FIRST_WINDOW = dt.timedelta(hours=1)
GROWTH = 8  # a short answer with no rows: widen this much
MAX_GROWTH = 64  # a short answer with some rows: widen in proportion, at most this much
MAX_ATTEMPTS = 6  # then the whole scope
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
        window, for_depth = known
        return window * max(1.0, depth / max(1, for_depth))

    def answered(self, shape: tuple, window: dt.timedelta, depth: int) -> None:
        with self._lock:
            self._windows[shape] = (window, depth)
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
                     size: Callable[[object], int] = len):
    """The query's result: `run_since(t)` restricted to EventTime >= t, `run_all()` not.

    `hint` (querylang NewestFirst) says how many rows a restricted result must have to be exact
    (with an offset, the page size: a full page comes back only if enough rows precede it).
    """
    oldest, newest = bounds
    if newest is None:  # an empty scope
        return run_all()
    rows_needed = hint.rows
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
            planner.answered(shape, window, hint.depth)
            return result
        window = next_window(window, hint, returned)
    return run_all()
