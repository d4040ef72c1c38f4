"""Reads a top-N by a promoted real key from the events beyond a learned bound first.

Over the whole scope DuckDB 1.4 finds `top 10 by toreal(Payload.cart.total) desc` by reading
the order key of every row group its own running boundary cannot rule out, which for commerce
events is most of them, and whole row groups of full rows for the answers
(bench/NOTES.md#top-n-by-a-promoted-key). The same query over `order key >= b` is exact once
it returns all n rows (querylang/top_by_key.py, the analysis that says which queries qualify),
and Parquet min/max statistics skip every row group below b.

A bounded read runs without DuckDB's late materialization (on its own connection only): with
the bound in the scan, the Parquet reader keeps the few rows beyond it and decodes their other
columns alone, where the late-materialized fetch joins back on file row numbers and decodes the
whole row groups holding the answers. A whole read keeps it: it needs the fetch.

b is the order key of the last row of the shape's previous exact answer (the compiled query
returns it in a hidden last column). It only decides how much is read: more events beyond it
since then make the read a little larger; fewer (deletions) make the answer come back short,
and then the whole scope is read and b learned again. A shape seen for the first time is read
whole.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import TYPE_CHECKING, Callable

from querylang.top_by_key import BOUND_PARAMETER, ORDER_KEY_OUTPUT

if TYPE_CHECKING:
    from .plan import Compile, ReadPlan, Reads

REMEMBERED_SHAPES = 1024


class BoundPlanner:
    """Remembers, per query shape, the order key that bounded its last exact answer."""

    def __init__(self):
        self._lock = threading.Lock()
        self._bounds: OrderedDict[tuple, int] = OrderedDict()

    def bound(self, shape: tuple) -> int | None:
        with self._lock:
            return self._bounds.get(shape)

    def answered(self, shape: tuple, bound: int | None) -> None:
        with self._lock:
            if bound is None:
                self._bounds.pop(shape, None)
                return
            self._bounds[shape] = bound
            self._bounds.move_to_end(shape)
            while len(self._bounds) > REMEMBERED_SHAPES:
                self._bounds.popitem(last=False)


def run_top_bound(planner: BoundPlanner, shape: tuple, hint, run_bounded: Callable[[int], object],
                  run_all: Callable[[], object]):
    """The query's result without its hidden order key column: `run_bounded(b)` restricted to
    the events beyond b, or `run_all()` when no b is known or that result came back short."""
    bound = planner.bound(shape)
    if bound is not None:
        result = run_bounded(bound)
        if len(result.rows) >= hint.rows:
            return _learned(planner, shape, hint, result)
    return _learned(planner, shape, hint, run_all())


def without_late_materialization(prepare: Callable | None) -> Callable:
    """A query connection's `prepare` for a bounded read (see above), then `prepare`'s own."""
    def prepare_bounded(cursor) -> None:
        cursor.execute("SET SESSION late_materialization_max_rows = 0")
        if prepare is not None:
            prepare(cursor)
    return prepare_bounded


def _learned(planner: BoundPlanner, shape: tuple, hint, result):
    if result.names[-1:] != [ORDER_KEY_OUTPUT]:
        raise AssertionError("a top by key query without its order key column")
    last_key = result.rows[-1][-1] if len(result.rows) >= hint.rows else None
    planner.answered(shape, last_key)  # None (a short answer, a null key): forget the bound
    result.names = result.names[:-1]
    result.json_columns = result.json_columns[:-1]
    result.rows = [row[:-1] for row in result.rows]
    return result


def read(planner: BoundPlanner, reads: Reads, plan: ReadPlan, compiled, compile_for: Compile):
    """`compiled` (a query with a TopByKey hint) read from beyond its shape's bound first."""
    hint = compiled.top_by_key
    shape = (plan.scope, compiled.sql, repr(sorted(compiled.params.items())))

    def run_bounded(bound):  # compiled only once a bound is known
        bounded = compile_for(plan, hint.restricted(plan.source))
        return reads.run(plan, bounded, {BOUND_PARAMETER: bound}, late_materialization=False)

    return run_top_bound(planner, shape, hint, run_bounded=run_bounded,
                         run_all=lambda: reads.run(plan, compiled))
