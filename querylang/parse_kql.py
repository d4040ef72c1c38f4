"""KQL text -> ast.Query. Knows nothing of SQL or of the schema."""
from __future__ import annotations

from lark import v_args

from . import ast, literals
from .errors import QueryError
from .parsing import AstBuilder, Grammar

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


@v_args(meta=True)
class _ToAst(AstBuilder):
    # ------------------------------------------------------------ statements and operators
    def start(self, meta, children):
        *lets, pipeline = children
        source, source_span, ops = pipeline
        return ast.Query(source, tuple(ops), tuple(lets), source_span=source_span)

    def let_stmt(self, meta, children):
        name, expr = children
        return ast.Let(str(name), expr, span=self.span_of(name))

    def pipeline(self, meta, children):
        source, *ops = children
        return str(source), self.span_of(source), ops

    def where_op(self, meta, c):
        return ast.Where(c[0], span=self.span_of(meta))

    def take_op(self, meta, c):
        return ast.Take(c[0], span=self.span_of(meta))

    def sort_op(self, meta, c):
        return ast.Sort(tuple(c), span=self.span_of(meta))

    def top_op(self, meta, c):
        return ast.Top(c[0], c[1], span=self.span_of(meta))

    def sort_key(self, meta, c):
        expr, direction, nulls = c
        descending = direction is None or direction == "desc"
        return ast.SortKey(expr, descending, None if nulls is None else nulls == "first",
                           span=self.span_of(meta))

    def sort_dir(self, meta, c):
        return str(c[0])

    def nulls_pos(self, meta, c):
        return str(c[1])

    def project_op(self, meta, c):
        return ast.Project(tuple(c), span=self.span_of(meta))

    def extend_op(self, meta, c):
        return ast.Extend(tuple(c), span=self.span_of(meta))

    def project_away_op(self, meta, c):
        return ast.ProjectAway(tuple(str(n) for n in c), span=self.span_of(meta))

    def project_rename_op(self, meta, c):
        return ast.ProjectRename(tuple(c), span=self.span_of(meta))

    def rename(self, meta, c):
        return (str(c[0]), str(c[1]))

    def project_reorder_op(self, meta, c):
        return ast.ProjectReorder(tuple(str(n) for n in c), span=self.span_of(meta))

    def summarize_op(self, meta, c):
        *aggs, by = c
        aggs = tuple(a for a in aggs if a is not None)
        return ast.Summarize(aggs, tuple(by or ()), span=self.span_of(meta))

    def by_clause(self, meta, c):
        return list(c)

    def count_op(self, meta, c):
        return ast.Count(span=self.span_of(meta))

    def distinct_op(self, meta, c):
        if len(c) == 1 and c[0].type == "STAR":
            return ast.Distinct(None, span=self.span_of(meta))
        return ast.Distinct(tuple(str(n) for n in c), span=self.span_of(meta))

    def assign(self, meta, c):
        return ast.Assign(str(c[0]), c[1], span=self.span_of(meta))

    def bare(self, meta, c):
        return ast.Assign(None, c[0], span=self.span_of(meta))

    # ------------------------------------------------------------ expressions
    def or_(self, meta, c):
        return ast.Binary("or", c[0], c[1], span=self.span_of(meta))

    def and_(self, meta, c):
        return ast.Binary("and", c[0], c[1], span=self.span_of(meta))

    def binary(self, meta, c):
        left, op, right = c
        op = "!=" if op == "<>" else op
        return ast.Binary(op, left, right, span=self.span_of(meta))

    def cmp_op(self, meta, c):
        return str(c[0])

    add_op = mul_op = between_kw = in_kw = cmp_op

    def between(self, meta, c):
        operand, kw, low, high = c
        return ast.Between(operand, low, high, kw == "!between", span=self.span_of(meta))

    def in_list(self, meta, c):
        operand, kw, *items = c
        items = tuple(i for i in items if i is not None)
        return ast.InList(kw, operand, items, span=self.span_of(meta))

    def matches(self, meta, c):
        return ast.Binary("matches regex", c[0], c[1], span=self.span_of(meta))

    def neg(self, meta, c):
        return ast.Unary("-", c[0], span=self.span_of(meta))

    def member(self, meta, c):
        return ast.Member(c[0], str(c[1]), span=self.span_of(meta))

    def index(self, meta, c):
        base, key = c
        if isinstance(key, ast.Literal) and isinstance(key.value, str):
            return ast.Member(base, key.value, span=self.span_of(meta))
        if isinstance(key, ast.Literal) and key.type == "long":
            return ast.Member(base, int(key.value), span=self.span_of(meta))
        if isinstance(key, ast.Unary) and isinstance(key.operand, ast.Literal) \
                and key.operand.type == "long":
            return ast.Member(base, -int(key.operand.value), span=self.span_of(meta))
        raise self.error_at(key.span, "an index must be a constant string or integer")

    def name(self, meta, c):
        return ast.Name(str(c[0]), span=self.span_of(c[0]))

    def call(self, meta, c):
        name, *args = c
        args = tuple(a for a in args if a is not None)
        return ast.Call(str(name), args, span=self.span_of(name))

    def star(self, meta, c):
        return ast.Star(span=self.span_of(c[0]))

    # ------------------------------------------------------------ literals
    def string(self, meta, c):
        try:
            value = literals.kql_string(str(c[0]))
        except ValueError as e:
            raise self.error_at(c[0], str(e)) from None
        return ast.Literal(value, type="string", span=self.span_of(c[0]))

    def number(self, meta, c):
        return self.number_literal(c[0], "the number {} is too large for a long")

    def timespan(self, meta, c):
        try:
            value = literals.timespan_token(str(c[0]))
        except (ValueError, OverflowError) as e:
            raise self.error_at(c[0], str(e)) from None
        return ast.Literal(value, type="timespan", span=self.span_of(c[0]))

    def timespan_lit(self, meta, c):
        text = str(c[0])
        inner = text[text.index("(") + 1:-1]
        try:
            value = literals.timespan_text(inner)
        except (ValueError, OverflowError):
            raise self.error_at(c[0], f"'{inner.strip()}' is not a timespan (expected e.g. "
                                      f"time(1.02:03:04) or time(2h))") from None
        return ast.Literal(value, type="timespan", span=self.span_of(c[0]))

    def datetime_lit(self, meta, c):
        text = str(c[0])
        inner = text[text.index("(") + 1:-1]
        try:
            value = literals.datetime_text(inner)
        except (ValueError, OverflowError):
            raise self.error_at(c[0], f"'{inner.strip()}' is not a datetime (expected e.g. "
                                      f"datetime(2019-01-01) or "
                                      f"datetime(2019-01-01T10:20:30Z))") from None
        return ast.Literal(value, type="datetime", span=self.span_of(c[0]))

    def dynamic(self, meta, c):
        return ast.Literal(_unnull(c[0]), type="dynamic", span=self.span_of(meta))

    def placeholder(self, meta, c):
        name = str(c[0])[2:-2].strip()
        if not (name.isascii() and name.isalpha()):
            raise self.error_at(c[0], f"a placeholder names a parameter of letters only, "
                                      f"e.g. {{{{eventType}}}}; found '{c[0]}'")
        return ast.Param(name, span=self.span_of(c[0]))

    def jstring(self, meta, c):
        try:
            return literals.kql_string(str(c[0]))
        except ValueError as e:
            raise self.error_at(c[0], str(e)) from None

    def jnumber(self, meta, c):
        return literals.number(str(c[0]))

    def jneg(self, meta, c):
        return -literals.number(str(c[0]))

    def jname(self, meta, c):
        words = {"true": True, "false": False, "null": _JNULL}
        if str(c[0]) not in words:
            raise self.error_at(c[0], f"unexpected '{c[0]}' in dynamic(); expected a JSON value")
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


_GRAMMAR = Grammar("grammar.lark", _ToAst, operators=TABULAR_OPERATORS,
                   unsupported=UNSUPPORTED_OPERATORS)


def parse(text: str) -> ast.Query:
    """Parse KQL text. Raises QueryError (only) on bad input."""
    if not isinstance(text, str):
        raise QueryError("the query must be text")
    if not text.strip():
        raise QueryError("the query is empty; start it with 'Events'")
    return _GRAMMAR.parse(text)
