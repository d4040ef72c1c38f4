"""compile() and compile_list(): the stages in order, nothing else."""
from __future__ import annotations

from dataclasses import dataclass, fields, is_dataclass, replace
from datetime import datetime, timezone

from . import ast, known_values, newest_first, parse_kql, parse_odata, top_by_key
from .ast import OutputColumn
from .errors import QueryError
from .known_values import KnownValues
from .resolve import Resolver
from .schema import EVENTS_SCHEMA, Schema
from .sqlgen import generate_with_hints, quote_ident


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


def _dynamic_paths(node) -> tuple[tuple[str, tuple], ...]:
    found: dict[tuple[str, tuple], None] = {}

    def walk(value):
        if isinstance(value, ast.DynPath):
            if isinstance(value.base, ast.ColumnRef):
                found[(value.base.name, tuple(value.path))] = None
        if is_dataclass(value) and not isinstance(value, type):
            for item in fields(value):
                walk(getattr(value, item.name))
        elif isinstance(value, (tuple, list)):
            for item in value:
                walk(item)

    walk(node.stages)  # not the schema: it holds no query text
    return tuple(found)


def _now(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(timezone.utc).replace(tzinfo=None)
    if now.tzinfo is not None:
        now = now.astimezone(timezone.utc).replace(tzinfo=None)
    return now


def compile(query: str, *, schema: Schema = EVENTS_SCHEMA, source_sql: str = '"events"',
            now: datetime | None = None, max_rows: int | None = None,
            known: KnownValues | None = None, order_key_output: bool = False
            ) -> CompiledQuery:
    """KQL text -> one DuckDB SELECT over `source_sql`, its parameters and output columns.

    `known`: column -> every value it may hold in the data read (known_values.py)."""
    try:
        tree = parse_kql.parse(query)
        resolved = Resolver(schema, "kql").query(tree)
        resolved, pruned = _prune(resolved, known)
        sql, params, by_key = generate_with_hints(
            resolved, source_sql=source_sql, now=_now(now), max_rows=max_rows,
            order_key_output=order_key_output)
    except QueryError as e:
        raise e.with_source(query) from None
    except RecursionError:
        raise _too_deep(query) from None
    return CompiledQuery(sql, params, resolved.columns, _dynamic_paths(resolved),
                         _newest_first(resolved, max_rows), pruned, by_key)


def _prune(resolved, known):
    if not known:
        return resolved, False
    return known_values.prune(resolved, known)


def _newest_first(resolved, max_rows=None):
    # Reading the newest events first only pays when a query reads rows at all.
    if known_values.never_matches(resolved):
        return None
    return newest_first.analyze(resolved, max_rows)


def _too_deep(text) -> QueryError:
    return QueryError("the query is nested too deeply; use 'in (...)' for long lists of values",
                      1, 1, text if isinstance(text, str) else None)


def compile_list(filter: str, orderby: str, *, skip: int, top: int,
                 schema: Schema = EVENTS_SCHEMA, source_sql: str = '"events"',
                 known: KnownValues | None = None, order_key_output: bool = False
                 ) -> CompiledQuery:
    """OData $filter/$orderby -> SELECT of all columns, ordered (TrackId last), paged.

    With an empty $orderby the order is EventTime descending (newest first), then TrackId.
    """
    try:
        query = parse_odata.parse(filter, orderby, skip=skip, top=top, table=schema.table)
        *ops, sort, take = query.operators
        keys = sort.keys or (ast.SortKey(ast.Name("EventTime"), True, False),)
        if schema.column("TrackId") is not None:
            keys = keys + (ast.SortKey(ast.Name("TrackId"), False, True),)
        query = replace(query, operators=(*ops, replace(sort, keys=keys), take))
        resolved = Resolver(schema, "odata").query(query)
        resolved, pruned = _prune(resolved, known)
        sql, params, by_key = generate_with_hints(
            resolved, source_sql=source_sql, now=_now(None), order_key_output=order_key_output)
    except RecursionError:
        raise _too_deep(filter) from None
    return CompiledQuery(sql, params, resolved.columns, _dynamic_paths(resolved),
                         _newest_first(resolved), pruned, by_key)


__all__ = ["CompiledQuery", "KnownValues", "OutputColumn", "QueryError", "compile",
           "compile_list", "quote_ident"]
