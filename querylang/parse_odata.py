"""OData $filter / $orderby text -> the same ast nodes KQL uses. Knows nothing of SQL.

OData's own semantics are kept by the operators it produces: eq/ne/gt/ge/lt/le (null is a
value for eq/ne), and contains/startswith/endswith become the case-sensitive `_cs` operators.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from lark import Lark, Transformer, v_args
from lark.exceptions import LarkError, VisitError

from . import ast, literals
from .errors import QueryError, from_lark

_FUNCTIONS = {"contains": "contains_cs", "startswith": "startswith_cs", "endswith": "endswith_cs"}


@lru_cache(maxsize=1)
def _parser() -> Lark:
    grammar = (Path(__file__).parent / "odata.lark").read_text()
    return Lark(grammar, parser="lalr", lexer="contextual", propagate_positions=True,
                maybe_placeholders=True, start=["filter", "orderby"])


def _span(x) -> ast.Span:
    line = getattr(x, "line", None) or 1
    column = getattr(x, "column", None) or 1
    return ast.Span(line, column, getattr(x, "end_line", None) or line,
                    getattr(x, "end_column", None) or column)


@v_args(meta=True)
class _ToAst(Transformer):
    def filter(self, meta, c):
        return c[0]

    def orderby(self, meta, c):
        return tuple(c)

    def order_item(self, meta, c):
        path, direction = c
        descending = direction is not None and str(direction).lower() == "desc"
        return ast.SortKey(path, descending, not descending, span=_span(meta))

    def or_(self, meta, c):
        return ast.Binary("or", c[0], c[2], span=_span(meta))

    def and_(self, meta, c):
        return ast.Binary("and", c[0], c[2], span=_span(meta))

    def not_(self, meta, c):
        return ast.Unary("not", c[1], span=_span(meta))

    def compare(self, meta, c):
        left, op, right = c
        return ast.Binary(str(op).lower(), left, right, span=_span(meta))

    def in_list(self, meta, c):
        operand, _, *items = c
        items = tuple(i for i in items if i is not None)
        return ast.InList("in", operand, items, span=_span(meta))

    def call(self, meta, c):
        name, *args = c
        args = tuple(a for a in args if a is not None)
        op = _FUNCTIONS.get(str(name).lower())
        if op is None:
            raise QueryError(f"function '{name}' is not supported in $filter (supported: "
                             f"contains, startswith, endswith)", name.line, name.column)
        if len(args) != 2:
            raise QueryError(f"{name}() takes 2 arguments", name.line, name.column)
        return ast.Binary(op, args[0], args[1], span=_span(name))

    def path(self, meta, c):
        names = [t for t in c if t.type == "NAME"]
        node: ast.Expr = ast.Name(str(names[0]), span=_span(names[0]))
        for t in names[1:]:
            node = ast.Member(node, str(t), span=_span(meta))
        return node

    def string(self, meta, c):
        return ast.Literal(str(c[0])[1:-1].replace("''", "'"), type="string", span=_span(c[0]))

    def number(self, meta, c):
        value = literals.number(str(c[0]))
        kind = "long" if isinstance(value, int) else "real"
        if kind == "long" and not -(2**63) <= value < 2**63:
            raise QueryError(f"the number {value} is too large", c[0].line, c[0].column)
        return ast.Literal(value, type=kind, span=_span(c[0]))

    def datetime(self, meta, c):
        try:
            value = literals.datetime_text(str(c[0]))
        except (ValueError, OverflowError):
            raise QueryError(f"'{c[0]}' is not a valid datetime", c[0].line, c[0].column) from None
        return ast.Literal(value, type="datetime", span=_span(c[0]))


def _parse(text: str, start: str, what: str):
    if not isinstance(text, str):
        raise QueryError(f"{what} must be text")
    try:
        tree = _parser().parse(text, start=start)
        return _ToAst().transform(tree)
    except VisitError as e:
        if isinstance(e.orig_exc, QueryError):
            raise e.orig_exc.with_source(text) from None
        if isinstance(e.orig_exc, RecursionError):
            raise e.orig_exc from None
        raise
    except LarkError as e:
        err = from_lark(e, text, dialect="odata")
        raise QueryError(f"{what}: {err.message}", err.line, err.column, text) from None


def parse_filter(text: str) -> ast.Expr | None:
    """An OData $filter expression, or None when it is empty."""
    if text is None or not str(text).strip():
        return None
    return _parse_cached(str(text), "filter", "$filter")


def parse_orderby(text: str) -> tuple[ast.SortKey, ...]:
    """OData $orderby keys; ascending puts nulls first, descending puts them last."""
    if text is None or not str(text).strip():
        return ()
    return _parse_cached(str(text), "orderby", "$orderby")


# The same filters come back page after page; the trees are immutable, so a parse is reused.
@lru_cache(maxsize=512)
def _parse_cached(text: str, start: str, what: str):
    return _parse(text, start, what)


def parse(filter: str, orderby: str, *, skip: int, top: int, table: str = "Events") -> ast.Query:
    """A List request as a query: Events | where <filter> | sort by <orderby> | skip/top."""
    ops: list[ast.Op] = []
    predicate = parse_filter(filter)
    if predicate is not None:
        ops.append(ast.Where(predicate, span=predicate.span))
    keys = parse_orderby(orderby)
    ops.append(ast.Sort(keys, span=keys[0].span if keys else ast.NOSPAN))
    ops.append(ast.Take(ast.Literal(int(top), type="long"), ast.Literal(int(skip), type="long")))
    return ast.Query(table, tuple(ops), dialect="odata")
