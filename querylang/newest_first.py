"""Which queries can be answered from the newest events alone: a pure analysis of the pipeline.

A query whose answer is the first n rows of its events in EventTime descending order, after
row-wise operators only (where, extend, project...), has the same answer over just the events at
or after any time t, as long as that restricted query still returns all n rows: each event it
leaves out is older than each event it keeps, so none of them could rank among the first n. Ties
do not matter either, since events with the same EventTime fall on the same side of t.

The server uses this to read the newest events first: with `EventTime >= t` in the scan, Parquet
min/max statistics skip the older files and row groups, and t moves back only when the answer
comes back short (server/reads/newest_first.py). "Latest events" lists and `top n by EventTime desc` are the
common shape of both List and Preview.
"""
from __future__ import annotations

from dataclasses import dataclass

from . import ast
from .resolve import ResolvedQuery
from .schema import TIME_COLUMN

# Operators that keep every row and never reorder them.
_ROW_WISE = (ast.Project, ast.Extend, ast.ProjectAway, ast.ProjectRename, ast.ProjectReorder)


def _carry(op, names: set[str]) -> set[str]:
    """The names that still hold the table's own EventTime after `op`."""
    if isinstance(op, ast.Project):
        return {a.name for a in op.items if _is_time(a.expr, names)}
    if isinstance(op, ast.Extend):
        out = set(names)
        for a in op.items:  # sequential: later items see earlier ones
            if _is_time(a.expr, out):
                out.add(a.name)
            else:
                out.discard(a.name)
        return out
    if isinstance(op, ast.ProjectAway):
        return names - set(op.names)
    if isinstance(op, ast.ProjectRename):
        renamed = dict((old, new) for new, old in op.pairs)
        targets = set(renamed.values())
        return {renamed.get(n, n) for n in names if n in renamed or n not in targets}
    return names


def _is_time(e: ast.Expr, names: set[str]) -> bool:
    return isinstance(e, ast.ColumnRef) and e.name in names


def _newest_first_key(key: ast.SortKey, names: set[str]) -> bool:
    # Nulls last: an event without EventTime would sort after every kept one anyway.
    return key.descending and not key.nulls_first and _is_time(key.expr, names)


@dataclass(frozen=True)
class NewestFirst:
    rows: int  # the restricted query is exact when it returns this many rows
    depth: int  # how many of the newest matching events that takes (with $skip: skip + top)
    # An output column holding the table's EventTime, if one is kept: in an exact answer its
    # last row is the time of the depth-th newest matching event, which sizes the next window.
    time_output: str | None = None


def analyze(rq: ResolvedQuery, max_rows: int | None = None) -> NewestFirst | None:
    """Set if the query's answer is its first rows by the table's EventTime descending after
    row-wise operators, so it can be read newest first; else None."""
    if not rq.reads_table or not any(c.name == TIME_COLUMN for c in rq.base):
        return None
    names = {TIME_COLUMN}
    stages = [s.op for s in rq.stages]
    index = 0
    while index < len(stages) and isinstance(stages[index], (ast.Where, *_ROW_WISE)):
        names = _carry(stages[index], names)
        index += 1
    if index == len(stages):
        return None
    op = stages[index]
    skip = 0
    if isinstance(op, ast.Top):
        if not _newest_first_key(op.key, names):
            return None
        rows = int(op.count.value)
        index += 1
    elif isinstance(op, ast.Sort):
        if not op.keys or not _newest_first_key(op.keys[0], names):
            return None
        index += 1
        if index < len(stages) and isinstance(stages[index], ast.Take):
            take = stages[index]
            rows = int(take.count.value)
            skip = int(take.skip.value) if take.skip is not None else 0
            index += 1
        else:
            rows = None
    else:
        return None
    for op in stages[index:]:
        if not isinstance(op, _ROW_WISE):
            return None
        names = _carry(op, names)
    if max_rows is not None:
        rows = max_rows if rows is None else min(rows, max_rows)
    if not rows:
        return None
    time_output = TIME_COLUMN if TIME_COLUMN in names else min(names, default=None)
    return NewestFirst(rows, skip + rows, time_output)
