"""OData $filter / $orderby text -> the same ast nodes KQL uses. Knows nothing of SQL.

OData's own semantics are kept by the operators it produces: eq/ne/gt/ge/lt/le (null is a
value for eq/ne), and contains/startswith/endswith become the case-sensitive `_cs` operators.
"""
from __future__ import annotations

from lark import v_args

from . import ast, literals
from .parsing import AstBuilder, Grammar

_FUNCTIONS = {"contains": "contains_cs", "startswith": "startswith_cs", "endswith": "endswith_cs"}


@v_args(meta=True)
class _ToAst(AstBuilder):
    def filter(self, meta, c):
        return c[0]

    def orderby(self, meta, c):
        return tuple(c)

    def order_item(self, meta, c):
        path, direction = c
        descending = direction is not None and str(direction).lower() == "desc"
        return ast.SortKey(path, descending, not descending, span=self.span_of(meta))

    def or_(self, meta, c):
        return ast.Binary("or", c[0], c[2], span=self.span_of(meta))

    def and_(self, meta, c):
        return ast.Binary("and", c[0], c[2], span=self.span_of(meta))

    def not_(self, meta, c):
        return ast.Unary("not", c[1], span=self.span_of(meta))

    def compare(self, meta, c):
        left, op, right = c
        return ast.Binary(str(op).lower(), left, right, span=self.span_of(meta))

    def in_list(self, meta, c):
        operand, _, *items = c
        items = tuple(i for i in items if i is not None)
        return ast.InList("in", operand, items, span=self.span_of(meta))

    def call(self, meta, c):
        name, *args = c
        args = tuple(a for a in args if a is not None)
        op = _FUNCTIONS.get(str(name).lower())
        if op is None:
            raise self.error_at(name, f"function '{name}' is not supported in $filter "
                                      f"(supported: contains, startswith, endswith)")
        if len(args) != 2:
            raise self.error_at(name, f"{name}() takes 2 arguments")
        return ast.Binary(op, args[0], args[1], span=self.span_of(name))

    def path(self, meta, c):
        names = [t for t in c if t.type == "NAME"]
        node: ast.Expr = ast.Name(str(names[0]), span=self.span_of(names[0]))
        for t in names[1:]:
            node = ast.Member(node, str(t), span=self.span_of(meta))
        return node

    def string(self, meta, c):
        try:
            value = literals.text_value(str(c[0])[1:-1].replace("''", "'"))
        except ValueError as e:
            raise self.error_at(c[0], str(e)) from None
        return ast.Literal(value, type="string", span=self.span_of(c[0]))

    def number(self, meta, c):
        return self.number_literal(c[0], "the number {} is too large")

    def datetime(self, meta, c):
        try:
            value = literals.datetime_text(str(c[0]))
        except (ValueError, OverflowError):
            raise self.error_at(c[0], f"'{c[0]}' is not a valid datetime") from None
        return ast.Literal(value, type="datetime", span=self.span_of(c[0]))


_GRAMMAR = Grammar("odata.lark", _ToAst, start=("filter", "orderby"), dialect="odata",
                   labels={"filter": "$filter", "orderby": "$orderby"})


def parse_filter(text: str) -> ast.Expr | None:
    """An OData $filter expression, or None when it is empty."""
    if text is None or not str(text).strip():
        return None
    return _GRAMMAR.parse(str(text), "filter", "filter")


def parse_orderby(text: str) -> tuple[ast.SortKey, ...]:
    """OData $orderby keys; ascending puts nulls first, descending puts them last."""
    if text is None or not str(text).strip():
        return ()
    return _GRAMMAR.parse(str(text), "orderby", "orderby")


def parse(filter: str, orderby: str, *, skip: int, top: int, table: str = "Events") -> ast.Query:
    """A List request as a query: Events | where <filter> | sort by <orderby> | skip/top.

    An empty $orderby gives a Sort without keys: the resolver adds List's default order and its
    tie-breaker (Resolver.list_order)."""
    ops: list[ast.Op] = []
    predicate = parse_filter(filter)
    if predicate is not None:
        ops.append(ast.Where(predicate, span=predicate.span))
    keys = parse_orderby(orderby)
    ops.append(ast.Sort(keys, span=keys[0].span if keys else _whole("orderby")))
    ops.append(ast.Take(ast.Literal(int(top), type="long", span=_whole("top")),
                        ast.Literal(int(skip), type="long", span=_whole("skip"))))
    return ast.Query(ast.TableRef(table, span=_whole("filter")), tuple(ops), dialect="odata")


def _whole(input: str) -> ast.Span:
    """A span at the start of an input no text of which became the node."""
    return ast.Span(1, 1, 1, 1, input)
