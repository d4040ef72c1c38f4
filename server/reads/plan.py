"""One read of a scope's events: planned when it starts, run the way its compiled query allows.

A ReadPlan fixes what every statement of a read shares: the schema (with the promoted keys), the
source SQL confined to the scope, whether the events acknowledged but not yet flushed must be
registered, the values the tracked columns hold, and one deadline. `Reads.read` then picks the
strategy the compiler's analysis allows: no rows when the answer does not depend on them
(empty_source.py), from the newest events first (newest_first.py), from beyond a learned bound
on a promoted key (top_by_key.py), or the whole scope; and reads again
without the known values when they changed meanwhile (known_values.py). Each strategy falls back
to the whole scope when unsure, so its answer is always the whole scope's answer.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Callable, TypeVar

from querylang import CompiledQuery, KnownValues, Schema
from querylang.sqlgen import quote_ident

from ..bound_parameters import SCOPE, SERVER
from ..promoted import SCAN_FIRST
from . import newest_first, top_by_key
from .known_values import ScopeValues
from .queries import QueryResult, QueryRunner

Prepare = Callable[[object], None]
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ReadPlan:
    """What one read of a scope fixes when it starts."""

    scope: str
    schema: Schema  # the events' columns and the promoted keys
    source: str  # SQL of the scope's events (sources())
    # Registers the recent events on a query's cursor; None when the source reads the lake alone.
    prepare: Prepare | None
    server_id: str  # whose write-ahead log watermark the source reads recent events above
    known: KnownValues | None  # what the tracked columns hold (None: nothing assumed)
    known_token: tuple  # the state `known` was taken at (known_values.ScopeValues)
    limit_seconds: float  # how long the whole read may take
    deadline: float  # time.monotonic() at which it is stopped
    on_cancel: Callable | None  # registers what to do when the client goes away
    # SQL of the source's columns with no row (empty_source.py), for a query whose answer
    # does not depend on the rows; None: always read the source.
    empty_source: Callable[[], str] | None = None

    @classmethod
    def starting_now(cls, *, limit_seconds: float, **fields) -> ReadPlan:
        return cls(limit_seconds=limit_seconds, deadline=time.monotonic() + limit_seconds,
                   **fields)


# (plan, source SQL) -> the read's query over that source, compiled with the plan's schema and
# known values.
Compile = Callable[[ReadPlan, str], CompiledQuery]


@dataclass(frozen=True, slots=True)
class ScopeSource:
    """What a task over a scope's events (Reads.run_task) reads: the schema to compile against,
    the SQL of the events (sources()) and the parameters that SQL needs bound."""

    schema: Schema
    sql: str
    params: dict


def sources(lake_select: str, recent_source_sql: str, columns: list[str]) -> tuple[str, str]:
    """What a compiled query reads instead of the table, confined to the scope the server binds,
    so no text a user wrote can widen what a query sees: the lake alone (`lake_select`, the
    scope's stored rows, promoted.lake_select), and the lake with the acknowledged events not
    yet flushed (`recent_source_sql`, writer.Writer.recent_source_sql). The second costs more
    (bench/NOTES.md#recent-reads), so a read takes it only while there are such events.

    Both give the table's `columns` in order; inside, every UNION ALL begins with
    promoted.SCAN_FIRST (lake_select's order), the column DuckDB reads for a count."""
    listed = ", ".join(quote_ident(name) for name in columns)
    first = quote_ident(SCAN_FIRST)
    recent = f"SELECT {first}, * EXCLUDE ({first}) FROM ({recent_source_sql})"
    return (f"(SELECT {listed} FROM ({lake_select}))",
            f"(SELECT {listed} FROM ({lake_select} UNION ALL {recent}))")


class Reads:
    """Runs reads: each statement with the plan's scope, recent events and deadline."""

    def __init__(self, queries: QueryRunner, values: ScopeValues):
        self._queries = queries
        self._values = values
        self._windows = newest_first.WindowPlanner()
        self._bounds = top_by_key.BoundPlanner()

    def read(self, plan: ReadPlan, compiled: CompiledQuery,
             compile_for: Compile) -> tuple[QueryResult, CompiledQuery]:
        """(result, compiled) of `compiled` = compile_for(plan, plan.source). An answer that
        relied on the known values is kept only if they had not changed when the query ended;
        otherwise the query runs again without them."""
        result = self._read(plan, compiled, compile_for)
        if self._read_no_rows(plan, compiled) and self._values.whole_when_taken:
            # Answered from the values alone, as of when they were taken: every event a read
            # could see then had its values noted, and no row was read after.
            return result, compiled
        if compiled.pruned and not self._values.unchanged(plan.scope, plan.known_token):
            plan = replace(plan, known=None)
            compiled = compile_for(plan, plan.source)
            result = self._read(plan, compiled, compile_for)
        return result, compiled

    @staticmethod
    def _read_no_rows(plan: ReadPlan, compiled: CompiledQuery) -> bool:
        return compiled.reads_no_rows and plan.empty_source is not None

    def _read(self, plan: ReadPlan, compiled: CompiledQuery, compile_for: Compile) -> QueryResult:
        if self._read_no_rows(plan, compiled):
            # Its SQL reads neither the scope's events nor the recent ones registered for them.
            empty = replace(plan, prepare=None)
            return self.run(empty, compile_for(empty, plan.empty_source()))
        if compiled.top_by_key is not None:
            return top_by_key.read(self._bounds, self, plan, compiled, compile_for)
        if compiled.newest_first is not None:
            return newest_first.read(self._windows, self, plan, compiled, compile_for)
        return self.run(plan, compiled)

    def run(self, plan: ReadPlan, compiled: CompiledQuery, extra: dict | None = None,
            late_materialization: bool = True) -> QueryResult:
        """`compiled` with its parameters, `extra` ones and the plan's."""
        params = {**compiled.params, **extra} if extra else compiled.params
        return self.run_sql(plan, compiled.sql, params, late_materialization)

    def run_sql(self, plan: ReadPlan, sql: str, params: dict,
                late_materialization: bool = True) -> QueryResult:
        params = {**params, **_source_params(plan)}
        prepare = plan.prepare
        for name in (SCOPE, SERVER):  # a query of a datatable alone reads no events
            if f"${name}" not in sql:
                params.pop(name, None)
        if not late_materialization:
            prepare = top_by_key.without_late_materialization(prepare)
        return self._queries.run(sql, params, plan.deadline, plan.limit_seconds,
                                 plan.on_cancel, prepare)

    def run_task(self, plan: ReadPlan, task: Callable[[object, ScopeSource], T]) -> T:
        """`task(cursor, source)` in a query slot, under the plan's deadline, with the plan's
        events readable as `source.sql` (for work beyond one SELECT: a segment's refresh)."""
        source = ScopeSource(plan.schema, plan.source, _source_params(plan))
        return self._queries.run_task(lambda cursor: task(cursor, source), plan.deadline,
                                      plan.limit_seconds, plan.on_cancel, plan.prepare)


def _source_params(plan: ReadPlan) -> dict:
    """The parameters of the plan's source: its scope, and this server's id when it reads the
    recent events above this server's watermark."""
    if plan.prepare is None:
        return {SCOPE: plan.scope}
    return {SCOPE: plan.scope, SERVER: plan.server_id}
