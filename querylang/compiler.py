"""compile() and compile_list(): one path, parse -> resolve -> prune -> generate, for both."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Mapping

from . import ast, known_values, newest_first, parse_kql, parse_odata, top_by_key
from .ast import OutputColumn
from .errors import QueryError, too_deep
from .known_values import KnownValues
from .literals import as_naive_utc
from .resolve import Bound, resolve
from .schema import EVENTS_SCHEMA, Schema
from .sqlgen import generate_with_hints
from .sqltext import quote_ident


@dataclass(frozen=True)
class CompiledQuery:
    sql: str
    params: dict[str, object]
    columns: tuple[OutputColumn, ...]
    # Properties of the table's dynamic columns the query reads, e.g. ("Payload", ("price",)):
    # the server keeps frequently queried ones as typed columns.
    dynamic_paths: tuple[tuple[str, tuple], ...] = ()
    # Set when the answer is the first rows by EventTime descending: the same query over the
    # newest events only is exact once it returns `rows` rows (newest_first.py).
    newest_first: newest_first.NewestFirst | None = None
    # Set when a test was answered from `known_values` (querylang/known_values.py): the answer
    # is exact only if those values still hold when the query has read its snapshot.
    pruned: bool = False
    # Set when the answer is the first rows by a promoted real key's order column: the same
    # query over the events beyond a bound is exact once it returns `rows` rows (top_by_key.py).
    # With `order_key_output` the SQL returns each row's order key as a hidden last column.
    top_by_key: top_by_key.TopByKey | None = None
    # Set when the answer is the same whatever rows the table holds: the table is read only
    # through a `where` that is FALSE (a value the column never held). The server then runs
    # the SQL over a source with no row instead of the store (reads/plan.py).
    reads_no_rows: bool = False


def compile(query: str, *, schema: Schema = EVENTS_SCHEMA, source_sql: str = '"events"',
            now: datetime | None = None, max_rows: int | None = None,
            known: KnownValues | None = None, order_key_output: bool = False,
            parameters: Mapping[str, Bound] | None = None) -> CompiledQuery:
    """KQL text -> one DuckDB SELECT over `source_sql`, its parameters and output columns.

    `known`: column -> every value it may hold in the data read (known_values.py).
    `parameters`: the values of a filter definition's placeholders (templates.bind); each
    becomes a bound parameter of the SQL, like any literal."""
    return _compile(lambda: parse_kql.parse(query), {"query": query}, schema=schema,
                    source_sql=source_sql, now=now, max_rows=max_rows, known=known,
                    order_key_output=order_key_output, parameters=parameters)


def compile_list(filter: str, orderby: str, *, skip: int, top: int,
                 schema: Schema = EVENTS_SCHEMA, source_sql: str = '"events"',
                 known: KnownValues | None = None, order_key_output: bool = False
                 ) -> CompiledQuery:
    """OData $filter/$orderby -> SELECT of all columns, ordered (TrackId last), paged.

    With an empty $orderby the order is EventTime descending (newest first), then TrackId
    (Resolver.list_order). An error names its input: "filter", "orderby", "top" or "skip"."""
    inputs = {"filter": filter, "orderby": orderby, "top": str(top), "skip": str(skip)}
    return _compile(
        lambda: parse_odata.parse(filter, orderby, skip=skip, top=top, table=schema.table),
        inputs, schema=schema, source_sql=source_sql, now=None, max_rows=None, known=known,
        order_key_output=order_key_output, parameters=None)


def _compile(parse: Callable[[], ast.Query], inputs: Mapping[str, str], *, schema: Schema,
             source_sql: str, now: datetime | None, max_rows: int | None,
             known: KnownValues | None, order_key_output: bool,
             parameters: Mapping[str, Bound] | None) -> CompiledQuery:
    """The stages in order; a QueryError leaves with the text of the input it is in."""
    tree = None
    try:
        tree = parse()
        resolved = resolve(tree, schema, parameters)
        pruned = False
        if known:
            resolved, pruned = known_values.prune(resolved, known)
        sql, params, by_key = generate_with_hints(
            resolved, source_sql=source_sql, now=_now(now), max_rows=max_rows,
            order_key_output=order_key_output)
        compiled = CompiledQuery(sql, params, resolved.columns, _dynamic_paths(resolved),
                                 _newest_first(resolved, max_rows), pruned, by_key,
                                 _reads_no_rows(resolved))
    except RecursionError:
        error = too_deep(_deepest_input(tree) if tree is not None else next(iter(inputs)))
        raise error.with_source(inputs.get(error.input)) from None
    except QueryError as e:
        raise e.with_source(inputs.get(e.input)) from None
    return compiled


def _now(now: datetime | None) -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None) if now is None else as_naive_utc(now)


def _newest_first(resolved, max_rows=None):
    # Reading the newest events first only pays when a query reads rows at all.
    if known_values.never_matches(resolved):
        return None
    return newest_first.analyze(resolved, max_rows)


def _reads_no_rows(resolved) -> bool:
    # A FALSE `where` empties the rows of its pipeline from that stage on, whatever came before
    # it; the answer is then the table's only if no other pipeline (a union's, a join's side)
    # reads the table too.
    return (resolved.reads_table and known_values.never_matches(resolved)
            and not any(inner.reads_table for inner in resolved.nested()))


def _dynamic_paths(resolved) -> tuple[tuple[str, tuple], ...]:
    found: dict[tuple[str, tuple], None] = {}
    pipelines = [resolved, *resolved.nested()]
    for node, _ in ast.walk([stage.op for p in pipelines if p.reads_table for stage in p.stages]):
        if isinstance(node, ast.DynPath) and isinstance(node.base, ast.ColumnRef):
            found[(node.base.name, tuple(node.path))] = None
    return tuple(found)


def _deepest_input(tree: ast.Query) -> str:
    """The input holding the most deeply nested node: the one that ran out of stack."""
    deepest: dict[str, int] = {}
    for node, depth in ast.walk([*tree.lets, *tree.operators]):
        deepest[node.span.input] = max(depth, deepest.get(node.span.input, 0))
    return max(deepest, key=deepest.get, default="query")


__all__ = ["CompiledQuery", "KnownValues", "OutputColumn", "QueryError", "compile",
           "compile_list", "quote_ident"]
