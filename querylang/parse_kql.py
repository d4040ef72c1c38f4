"""KQL text -> ast.Query. Knows nothing of SQL or of the schema."""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import LarkError, VisitError

from . import ast, literals
from .errors import QueryError, from_lark

TABULAR_OPERATORS = (
    "where", "filter", "take", "limit", "sort", "order", "orderby", "top", "project",
    "project-away", "project-rename", "project-reorder", "extend", "summarize", "count",
    "distinct",
)

# real KQL operators trackstore does not offer: named as such, never "unknown"
UNSUPPORTED_OPERATORS = (
    "join", "union", "lookup", "parse", "parse-where", "parse-kv", "mv-expand", "mv-apply",
    "make-series", "render", "evaluate", "as", "serialize", "search", "find", "getschema",
    "invoke", "range", "print", "sample", "sample-distinct", "partition", "scan", "fork",
    "facet", "top-nested", "top-hitters", "extend-columns", "externaldata", "datatable",
    "project-keep", "consume", "reduce",
)


@lru_cache(maxsize=1)
def _parser() -> Lark:
    grammar = (Path(__file__).parent / "grammar.lark").read_text()
    return Lark(grammar, parser="lalr", lexer="contextual", propagate_positions=True,
                maybe_placeholders=True)


def _span(meta_or_token) -> ast.Span:
    line = getattr(meta_or_token, "line", None) or 1
    column = getattr(meta_or_token, "column", None) or 1
    return ast.Span(line, column, getattr(meta_or_token, "end_line", None) or line,
                    getattr(meta_or_token, "end_column", None) or column)


def _bad(token: Token, message: str) -> QueryError:
    return QueryError(message, token.line or 1, token.column or 1)


@v_args(meta=True)
class _ToAst(Transformer):
    # ------------------------------------------------------------ statements and operators
    def start(self, meta, children):
        *lets, pipeline = children
        source, source_span, ops = pipeline
        return ast.Query(source, tuple(ops), tuple(lets), source_span=source_span)

    def let_stmt(self, meta, children):
        name, expr = children
        return ast.Let(str(name), expr, span=_span(name))

    def pipeline(self, meta, children):
        source, *ops = children
        return str(source), _span(source), ops

    def where_op(self, meta, c):
        return ast.Where(c[0], span=_span(meta))

    def take_op(self, meta, c):
        return ast.Take(c[0], span=_span(meta))

    def sort_op(self, meta, c):
        return ast.Sort(tuple(c), span=_span(meta))

    def top_op(self, meta, c):
        return ast.Top(c[0], c[1], span=_span(meta))

    def sort_key(self, meta, c):
        expr, direction, nulls = c
        descending = direction is None or direction == "desc"
        return ast.SortKey(expr, descending, None if nulls is None else nulls == "first",
                           span=_span(meta))

    def sort_dir(self, meta, c):
        return str(c[0])

    def nulls_pos(self, meta, c):
        return str(c[1])

    def project_op(self, meta, c):
        return ast.Project(tuple(c), span=_span(meta))

    def extend_op(self, meta, c):
        return ast.Extend(tuple(c), span=_span(meta))

    def project_away_op(self, meta, c):
        return ast.ProjectAway(tuple(str(n) for n in c), span=_span(meta))

    def project_rename_op(self, meta, c):
        return ast.ProjectRename(tuple(c), span=_span(meta))

    def rename(self, meta, c):
        return (str(c[0]), str(c[1]))

    def project_reorder_op(self, meta, c):
        return ast.ProjectReorder(tuple(str(n) for n in c), span=_span(meta))

    def summarize_op(self, meta, c):
        *aggs, by = c
        aggs = tuple(a for a in aggs if a is not None)
        return ast.Summarize(aggs, tuple(by or ()), span=_span(meta))

    def by_clause(self, meta, c):
        return list(c)

    def count_op(self, meta, c):
        return ast.Count(span=_span(meta))

    def distinct_op(self, meta, c):
        if len(c) == 1 and c[0].type == "STAR":
            return ast.Distinct(None, span=_span(meta))
        return ast.Distinct(tuple(str(n) for n in c), span=_span(meta))

    def assign(self, meta, c):
        return ast.Assign(str(c[0]), c[1], span=_span(meta))

    def bare(self, meta, c):
        return ast.Assign(None, c[0], span=_span(meta))

    # ------------------------------------------------------------ expressions
    def or_(self, meta, c):
        return ast.Binary("or", c[0], c[1], span=_span(meta))

    def and_(self, meta, c):
        return ast.Binary("and", c[0], c[1], span=_span(meta))

    def binary(self, meta, c):
        left, op, right = c
        op = "!=" if op == "<>" else op
        return ast.Binary(op, left, right, span=_span(meta))

    def cmp_op(self, meta, c):
        return str(c[0])

    add_op = mul_op = between_kw = in_kw = cmp_op

    def between(self, meta, c):
        operand, kw, low, high = c
        return ast.Between(operand, low, high, kw == "!between", span=_span(meta))

    def in_list(self, meta, c):
        operand, kw, *items = c
        items = tuple(i for i in items if i is not None)
        return ast.InList(kw, operand, items, span=_span(meta))

    def matches(self, meta, c):
        return ast.Binary("matches regex", c[0], c[1], span=_span(meta))

    def neg(self, meta, c):
        return ast.Unary("-", c[0], span=_span(meta))

    def member(self, meta, c):
        return ast.Member(c[0], str(c[1]), span=_span(meta))

    def index(self, meta, c):
        base, key = c
        if isinstance(key, ast.Literal) and isinstance(key.value, str):
            return ast.Member(base, key.value, span=_span(meta))
        if isinstance(key, ast.Literal) and key.type == "long":
            return ast.Member(base, int(key.value), span=_span(meta))
        if isinstance(key, ast.Unary) and isinstance(key.operand, ast.Literal) \
                and key.operand.type == "long":
            return ast.Member(base, -int(key.operand.value), span=_span(meta))
        raise QueryError("an index must be a constant string or integer", key.span.line,
                         key.span.column)

    def name(self, meta, c):
        return ast.Name(str(c[0]), span=_span(c[0]))

    def call(self, meta, c):
        name, *args = c
        args = tuple(a for a in args if a is not None)
        return ast.Call(str(name), args, span=_span(name))

    def star(self, meta, c):
        return ast.Star(span=_span(c[0]))

    # ------------------------------------------------------------ literals
    def string(self, meta, c):
        try:
            value = literals.kql_string(str(c[0]))
        except ValueError as e:
            raise _bad(c[0], str(e)) from None
        return ast.Literal(value, type="string", span=_span(c[0]))

    def number(self, meta, c):
        value = literals.number(str(c[0]))
        kind = "long" if isinstance(value, int) else "real"
        if kind == "long" and not -(2**63) <= value < 2**63:
            raise _bad(c[0], f"the number {value} is too large for a long")
        return ast.Literal(value, type=kind, span=_span(c[0]))

    def timespan(self, meta, c):
        try:
            value = literals.timespan_token(str(c[0]))
        except (ValueError, OverflowError) as e:
            raise _bad(c[0], str(e)) from None
        return ast.Literal(value, type="timespan", span=_span(c[0]))

    def timespan_lit(self, meta, c):
        text = str(c[0])
        inner = text[text.index("(") + 1:-1]
        try:
            value = literals.timespan_text(inner)
        except (ValueError, OverflowError):
            raise _bad(c[0], f"'{inner.strip()}' is not a timespan (expected e.g. "
                             f"time(1.02:03:04) or time(2h))") from None
        return ast.Literal(value, type="timespan", span=_span(c[0]))

    def datetime_lit(self, meta, c):
        text = str(c[0])
        inner = text[text.index("(") + 1:-1]
        try:
            value = literals.datetime_text(inner)
        except (ValueError, OverflowError):
            raise _bad(c[0], f"'{inner.strip()}' is not a datetime (expected e.g. "
                             f"datetime(2019-01-01) or datetime(2019-01-01T10:20:30Z))") from None
        return ast.Literal(value, type="datetime", span=_span(c[0]))

    def dynamic(self, meta, c):
        return ast.Literal(_unnull(c[0]), type="dynamic", span=_span(meta))

    def jstring(self, meta, c):
        try:
            return literals.kql_string(str(c[0]))
        except ValueError as e:
            raise _bad(c[0], str(e)) from None

    def jnumber(self, meta, c):
        return literals.number(str(c[0]))

    def jneg(self, meta, c):
        return -literals.number(str(c[0]))

    def jname(self, meta, c):
        words = {"true": True, "false": False, "null": _JNULL}
        if str(c[0]) not in words:
            raise _bad(c[0], f"unexpected '{c[0]}' in dynamic(); expected a JSON value")
        return words[str(c[0])]

    def jarray(self, meta, c):
        return [] if c == [None] else list(c)

    def jobject(self, meta, c):
        return dict(p for p in c if p is not None)

    def jpair(self, meta, c):
        return (literals.kql_string(str(c[0])), c[1])


_JNULL = object()


def _unnull(value):
    if value is _JNULL:
        return None
    if isinstance(value, list):
        return [_unnull(v) for v in value]
    if isinstance(value, dict):
        return {k: _unnull(v) for k, v in value.items()}
    return value


def parse(text: str) -> ast.Query:
    """Parse KQL text. Raises QueryError (only) on bad input."""
    if not isinstance(text, str):
        raise QueryError("the query must be text")
    return _parse_text(text)


# Dashboards send the same queries again and again; the tree is immutable, so a parse can be
# reused (parsing is most of a compile: ~1.5 of 2.5 ms).
@lru_cache(maxsize=512)
def _parse_text(text: str) -> ast.Query:
    if not isinstance(text, str):
        raise QueryError("the query must be text")
    if not text.strip():
        raise QueryError("the query is empty; start it with 'Events'")
    try:
        tree = _parser().parse(text)
    except LarkError as e:
        if isinstance(e, VisitError) and isinstance(e.orig_exc, QueryError):
            raise e.orig_exc.with_source(text) from None
        raise from_lark(e, text, TABULAR_OPERATORS, UNSUPPORTED_OPERATORS) from None
    try:
        return _ToAst().transform(tree)
    except VisitError as e:
        if isinstance(e.orig_exc, QueryError):
            raise e.orig_exc.with_source(text) from None
        if isinstance(e.orig_exc, RecursionError):
            raise e.orig_exc from None
        raise


def dumps_dynamic(value) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
