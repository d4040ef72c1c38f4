"""The syntax tree shared by KQL and OData: small frozen dataclasses, each with its span.

Parsers build these nodes with `type=None`; the resolver returns new nodes with `type` set (a KQL
type name from schema.py) and a few resolved-only nodes (`ColumnRef`, `DynPath`, `Convert`).
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from functools import lru_cache
from typing import Any, Iterator


@dataclass(frozen=True)
class Span:
    """Where a node's text starts and ends (1-based), and in which input: the KQL query, or the
    List request's "filter", "orderby", "top" or "skip"."""

    line: int
    column: int
    end_line: int = 0
    end_column: int = 0
    input: str = "query"


NOSPAN = Span(1, 1, 1, 1)


# ---------------------------------------------------------------- expressions
@dataclass(frozen=True)
class Expr:
    span: Span = field(default=NOSPAN, compare=False, kw_only=True)
    type: str | None = field(default=None, kw_only=True)


@dataclass(frozen=True)
class Literal(Expr):
    """A constant. `value` is str, int, float, bool, datetime, timedelta, None, or for dynamic the
    decoded JSON value (list, dict, ...). Literals always become bound parameters."""

    value: Any


@dataclass(frozen=True)
class Name(Expr):
    """A bare identifier: a column, a `let` variable, or `true`/`false`."""

    name: str


@dataclass(frozen=True)
class Member(Expr):
    """`base.key`, `base['key']` or `base[0]`: a property of a dynamic value."""

    base: Expr
    key: str | int


@dataclass(frozen=True)
class Unary(Expr):
    op: str  # '-' or 'not'
    operand: Expr


@dataclass(frozen=True)
class Binary(Expr):
    """`op` is the operator as KQL spells it ('==', 'has', '!contains_cs', '+', 'and', ...) or, for
    OData's null-as-a-value comparisons, 'eq' 'ne' 'gt' 'ge' 'lt' 'le'."""

    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True)
class Between(Expr):
    operand: Expr
    low: Expr
    high: Expr
    negated: bool = False


@dataclass(frozen=True)
class InList(Expr):
    op: str  # 'in', '!in', 'in~', '!in~'
    operand: Expr
    items: tuple[Expr, ...]


@dataclass(frozen=True)
class Call(Expr):
    name: str
    args: tuple[Expr, ...]


@dataclass(frozen=True)
class Param(Expr):
    """`{{name}}`: a parameter of a filter definition. The resolver replaces it with a Literal
    of the value bound to `name`, so a value is never text of the query."""

    name: str


@dataclass(frozen=True)
class Star(Expr):
    """`*` as a function argument (`arg_max(EventTime, *)`)."""


# resolved-only nodes
@dataclass(frozen=True)
class ColumnRef(Expr):
    name: str


@dataclass(frozen=True)
class DynPath(Expr):
    """A property path inside a dynamic value: base is a dynamic expression."""

    base: Expr
    path: tuple[str | int, ...]


@dataclass(frozen=True)
class Convert(Expr):
    """Kusto's implicit conversion of a dynamic value to a scalar type (`type`)."""

    operand: Expr


# ---------------------------------------------------------------- tabular operators
@dataclass(frozen=True)
class Op:
    span: Span = field(default=NOSPAN, compare=False, kw_only=True)


@dataclass(frozen=True)
class Assign:
    name: str | None  # None: the default name is chosen by the resolver
    expr: Expr
    span: Span = field(default=NOSPAN, compare=False, kw_only=True)


@dataclass(frozen=True)
class SortKey:
    expr: Expr
    descending: bool = True  # Kusto's default
    nulls_first: bool | None = None  # None: asc -> first, desc -> last
    span: Span = field(default=NOSPAN, compare=False, kw_only=True)


@dataclass(frozen=True)
class Where(Op):
    predicate: Expr


@dataclass(frozen=True)
class Take(Op):
    count: Expr
    skip: Expr | None = None


@dataclass(frozen=True)
class Sort(Op):
    keys: tuple[SortKey, ...]


@dataclass(frozen=True)
class Top(Op):
    count: Expr
    key: SortKey


@dataclass(frozen=True)
class Project(Op):
    items: tuple[Assign, ...]


@dataclass(frozen=True)
class Extend(Op):
    items: tuple[Assign, ...]


@dataclass(frozen=True)
class ProjectAway(Op):
    names: tuple[str, ...]


@dataclass(frozen=True)
class ProjectRename(Op):
    pairs: tuple[tuple[str, str], ...]  # (new, old)


@dataclass(frozen=True)
class ProjectReorder(Op):
    names: tuple[str, ...]


@dataclass(frozen=True)
class Summarize(Op):
    aggregates: tuple[Assign, ...]
    by: tuple[Assign, ...]


@dataclass(frozen=True)
class Count(Op):
    pass


@dataclass(frozen=True)
class Distinct(Op):
    names: tuple[str, ...] | None  # None: distinct *


@dataclass(frozen=True)
class Union(Op):
    """`| union T, (T | ...)`: the rows of the input and of each table, all columns of all
    (kind=outer) or those all have (kind=inner)."""

    tables: tuple["Tabular", ...]
    kind: str = "outer"


@dataclass(frozen=True)
class JoinKey:
    """`$left.left == $right.right`, or `on left`: the same name on both sides."""

    left: str
    right_name: str | None = None
    span: Span = field(default=NOSPAN, compare=False, kw_only=True)

    @property
    def right(self) -> str:
        return self.right_name or self.left


@dataclass(frozen=True)
class Join(Op):
    kind: str  # Kusto's kind: innerunique (the default), inner, leftouter, leftanti, ...
    right: "Tabular"
    on: tuple[JoinKey, ...]


@dataclass(frozen=True)
class MvExpandItem:
    name: str | None  # `name = expr`; None: the expression's own name
    expr: Expr
    to_type: str | None = None  # `to typeof(T)`
    span: Span = field(default=NOSPAN, compare=False, kw_only=True)


@dataclass(frozen=True)
class MvExpand(Op):
    items: tuple[MvExpandItem, ...]
    limit: Expr | None = None
    bag_kind: str = "bag"  # a property bag's properties as bags ('bag') or [key, value] arrays
    index: str | None = None  # with_itemindex=: a column of each element's position


@dataclass(frozen=True)
class Parse(Op):
    """`parse [kind=simple|regex] expr with "text" Column:type * ...`: `pattern` holds the
    strings (str), the columns (ColumnDecl) and the wildcards (None), in order."""

    expr: Expr
    pattern: tuple["str | ColumnDecl | None", ...]
    kind: str = "simple"
    flags: str = ""  # kind=regex: RE2 flags (i, m, s, U)


# ---------------------------------------------------------------- tabular expressions
@dataclass(frozen=True)
class Tabular:
    """Where rows come from: a table, a literal table, `print`, `range`, or a pipeline."""

    span: Span = field(default=NOSPAN, compare=False, kw_only=True)


@dataclass(frozen=True)
class TableRef(Tabular):
    name: str


@dataclass(frozen=True)
class ColumnDecl:
    """A column a datatable or a parse pattern declares (`name:type`)."""

    name: str
    type: str = "string"
    span: Span = field(default=NOSPAN, compare=False, kw_only=True)


@dataclass(frozen=True)
class DataTable(Tabular):
    """`datatable(a:long, b:string) [1, "x", 2, "y"]`: `values` row after row."""

    columns: tuple[ColumnDecl, ...]
    values: tuple[Expr, ...] = ()  # none: a table without rows


@dataclass(frozen=True)
class RangeRows(Tabular):
    """`range x from a to b step s`: one column, `a` to `b` inclusive."""

    name: str
    start: Expr  # the first value
    stop: Expr  # the last value, if a step lands on it
    step: Expr  # a constant, never 0


@dataclass(frozen=True)
class PrintRow(Project, Tabular):
    """`print a = 1, 2`: the projection of one row of no columns (its `items`)."""


@dataclass(frozen=True)
class UnionRows(Union, Tabular):
    """`union T, (T | ...)` as a source: the union of its tables with no input."""


@dataclass(frozen=True)
class Pipeline(Tabular):
    """A tabular expression in parentheses: a source and its operators."""

    source: Tabular
    operators: tuple[Op, ...]


@dataclass(frozen=True)
class Let:
    name: str
    expr: Expr
    span: Span = field(default=NOSPAN, compare=False, kw_only=True)


@dataclass(frozen=True)
class Query:
    source: Tabular
    operators: tuple[Op, ...]
    lets: tuple[Let, ...] = ()
    dialect: str = field(default="kql", kw_only=True)  # 'kql' or 'odata'

    @property
    def source_span(self) -> Span:
        return self.source.span


@dataclass(frozen=True)
class OutputColumn:
    """A result column: its name and KQL type name (see schema.py)."""

    name: str
    type: str


# ---------------------------------------------------------------- walking a tree
_NODES = (Expr, Op, Assign, SortKey, Let, Tabular, JoinKey, MvExpandItem, ColumnDecl)


@lru_cache(maxsize=None)
def _child_fields(kind: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(kind) if f.name not in ("span", "type"))


def walk(root) -> Iterator[tuple[Any, int]]:
    """(node, depth) for every node under `root` (a node, or a tuple or list of them), parents
    before children. It needs no recursion, so it serves trees too deep for the stages."""
    pending = [(root, 0)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, (tuple, list)):
            pending.extend((item, depth) for item in reversed(value))
        elif isinstance(value, _NODES):
            yield value, depth
            pending.extend((getattr(value, name), depth + 1)
                           for name in reversed(_child_fields(type(value))))

