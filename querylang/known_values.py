"""Where-conditions that ask a column for a value it never held become FALSE.

A segment on an event type or a country the scope has no events of (a typo, an event not yet
shipped, `EventType == "no_such_event"`) matches nothing, yet a scan must open every row group
to learn so: the value lies inside each group's min/max. The server knows, per scope, every value
some low-cardinality columns have held (a superset of what is stored, `server/column_values.py`),
and hands it to the compiler as `known`: column -> the values it may hold, a missing string
counted as ''. A test that needs the column to equal a value outside that set is never true, so
it becomes FALSE, and DuckDB answers `WHERE FALSE` without reading a file.

Such a test is never true, but it may be null (a null column), and `not` turns null into null
but FALSE into TRUE. So only tests whose truth decides a filter directly are replaced: the
predicate of a `where`, through `and` and `or` (both keep "never true" and treat null and FALSE
alike once at the top). And only `where`s that read the table's own columns: those before the
first operator that could give a column name another meaning (`extend`, `project`, ...).
"""
from __future__ import annotations

import dataclasses
from typing import Container, Mapping

from . import ast
from .resolve import ResolvedQuery, Stage

# Operators after which a column name still means the table's column.
_ROW_FILTERS = (ast.Where, ast.Take, ast.Sort, ast.Top)
_FALSE = ast.Literal(False, type="bool")

# Column name -> every value the column may hold, a missing string as ''. Only `in` is asked of
# a column's values, so a set of hashes may stand for them (a DeviceId's: server/device_ids.py).
KnownValues = Mapping[str, Container[str]]


def prune(rq: ResolvedQuery, known: KnownValues) -> tuple[ResolvedQuery, bool]:
    """(the query with never-true tests replaced by FALSE, whether any was)."""
    if not rq.reads_table:  # a datatable's columns are not the table's
        return rq, False
    stages: list[Stage] = []
    replaced = False
    for position, stage in enumerate(rq.stages):
        if not isinstance(stage.op, _ROW_FILTERS):
            stages.extend(rq.stages[position:])
            break
        if isinstance(stage.op, ast.Where):
            predicate = _filter(stage.op.predicate, known)
            if predicate is not stage.op.predicate:
                replaced = True
                stage = dataclasses.replace(
                    stage, op=dataclasses.replace(stage.op, predicate=predicate))
        stages.append(stage)
    return dataclasses.replace(rq, stages=tuple(stages)), replaced


def never_matches(rq: ResolvedQuery) -> bool:
    """True when a `where` of the query was pruned to FALSE as a whole."""
    return any(isinstance(s.op, ast.Where) and s.op.predicate == _FALSE for s in rq.stages)


def _filter(e: ast.Expr, known) -> ast.Expr:
    """`e` in a filtering position, with its never-true tests replaced (the same node if none)."""
    if isinstance(e, ast.Binary) and e.op in ("and", "or"):
        left, right = _filter(e.left, known), _filter(e.right, known)
        if left is e.left and right is e.right:
            return e
        if e.op == "and":
            if _FALSE in (left, right):
                return dataclasses.replace(_FALSE, span=e.span)
        else:
            if left == _FALSE:
                return right
            if right == _FALSE:
                return left
        return dataclasses.replace(e, left=left, right=right)
    if _never_true(e, known):
        return dataclasses.replace(_FALSE, span=e.span)
    return e


def _never_true(e: ast.Expr, known) -> bool:
    if isinstance(e, ast.Binary) and e.op in ("==", "eq"):
        for column, value in ((e.left, e.right), (e.right, e.left)):
            values = _values_of(column, known)
            if values is not None and _is_text(value):
                return value.value not in values
        return False
    if isinstance(e, ast.InList) and e.op == "in":
        values = _values_of(e.operand, known)
        return (values is not None and all(_is_text(i) for i in e.items)
                and not any(i.value in values for i in e.items))
    return False


def _values_of(e: ast.Expr, known) -> Container[str] | None:
    if isinstance(e, ast.ColumnRef) and e.type == "string":
        return known.get(e.name)
    return None


def _is_text(e: ast.Expr) -> bool:
    return isinstance(e, ast.Literal) and isinstance(e.value, str)
