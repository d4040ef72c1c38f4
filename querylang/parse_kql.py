"""KQL text -> ast.Query. Knows nothing of SQL or of the schema."""
from __future__ import annotations

import re

from lark import v_args

from . import ast, literals
from .errors import QueryError
from .parsing import AstBuilder, Grammar

TABULAR_OPERATORS = (
    "where", "filter", "take", "limit", "sort", "order", "orderby", "top", "project",
    "project-away", "project-rename", "project-reorder", "extend", "summarize", "count",
    "distinct", "union", "join", "mv-expand", "parse",
)

# what starts a query instead of a table: named when it follows '|'
SOURCES = ("datatable", "print", "range", "union")

# real KQL operators trackstore does not offer: named as such, never "unknown"
UNSUPPORTED_OPERATORS = (
    "lookup", "parse-where", "parse-kv", "mv-apply", "make-series", "render", "evaluate", "as",
    "serialize", "search", "find", "getschema", "invoke", "sample", "sample-distinct",
    "partition", "scan", "fork", "facet", "top-nested", "top-hitters", "extend-columns",
    "externaldata", "project-keep", "project-by-names", "consume", "reduce", "materialize",
)

JOIN_KINDS = ("innerunique", "inner", "leftouter", "rightouter", "fullouter", "leftanti",
              "anti", "leftantisemi", "rightanti", "rightantisemi", "leftsemi", "rightsemi")
# Kusto's other names of the same kinds
JOIN_KIND_ALIASES = {"anti": "leftanti", "leftantisemi": "leftanti",
                     "rightantisemi": "rightanti"}
PARSE_KINDS = ("simple", "regex", "relaxed")

@v_args(meta=True)
class _ToAst(AstBuilder):
    # ------------------------------------------------------------ statements and operators
    def start(self, meta, children):
        *lets, pipeline = children
        return ast.Query(pipeline.source, pipeline.operators, tuple(lets))

    def let_stmt(self, meta, children):
        name, expr, *ops = children
        if ops or _is_name(expr, "Events"):
            self.let_table(meta, children)
        return ast.Let(str(name), expr, span=self.span_of(name))

    def let_table(self, meta, children):
        name = children[0]
        raise self.error_at(name, f"'let {name}' binds a table: a let bound to a table is not "
                                  f"supported; write the table where it is used")

    def pipeline(self, meta, children):
        source, *ops = children
        return ast.Pipeline(source, tuple(ops), span=source.span)

    # ------------------------------------------------------------ sources
    def table(self, meta, c):
        return ast.TableRef(str(c[0]), span=self.span_of(c[0]))

    def datatable(self, meta, c):
        columns = tuple(x for x in c if isinstance(x, ast.ColumnDecl))
        values = tuple(x for x in c if isinstance(x, ast.Expr))
        return ast.DataTable(columns, values, span=self.span_of(meta))

    def column_decl(self, meta, c):
        return ast.ColumnDecl(str(c[0]), str(c[1]), span=self.span_of(c[0]))

    def print_row(self, meta, c):
        return ast.PrintRow(tuple(c), span=self.span_of(meta))

    def range_rows(self, meta, c):
        name, start, stop, step = c
        return ast.RangeRows(str(name), start, stop, step, span=self.span_of(meta))

    def union_rows(self, meta, c):
        kind, tables = _union_parts(c)
        return ast.UnionRows(tables, kind, span=self.span_of(meta))

    # ------------------------------------------------------------ operators that read tables
    def union_op(self, meta, c):
        kind, tables = _union_parts(c)
        return ast.Union(tables, kind, span=self.span_of(meta))

    def union_kind(self, meta, c):
        if str(c[0]) not in ("outer", "inner"):
            raise self.error_at(c[0], f"union kind '{c[0]}' is not supported; use outer or "
                                      f"inner")
        return _UnionKind(str(c[0]))

    def union_option(self, meta, c):
        raise self.error_at(c[0], f"the union option '{c[0]}' is not supported")

    def join_op(self, meta, c):
        kinds = [x for x in c if isinstance(x, str)]
        right = next(x for x in c if isinstance(x, ast.Tabular))
        keys = tuple(x for x in c if isinstance(x, ast.JoinKey))
        return ast.Join(kinds[-1] if kinds else "innerunique", right, keys,
                        span=self.span_of(meta))

    def join_hint(self, meta, c):
        return None  # hint.strategy and the like tune Kusto's plan, not the answer

    def join_kind(self, meta, c):
        kind = str(c[0])
        if kind not in JOIN_KINDS:
            raise self.error_at(c[0], f"join kind '{kind}' is not supported; use one of "
                                      f"{', '.join(JOIN_KINDS)}")
        return JOIN_KIND_ALIASES.get(kind, kind)

    def same_key(self, meta, c):
        return ast.JoinKey(str(c[0]), span=self.span_of(c[0]))

    def side_keys(self, meta, c):
        side1, name1, side2, name2 = (str(x) for x in c)
        if {side1, side2} != {"$left", "$right"}:
            raise self.error_at(c[0], "a join condition compares $left.column with "
                                      "$right.column")
        left, right = (name1, name2) if side1 == "$left" else (name2, name1)
        return ast.JoinKey(left, right, span=self.span_of(c[0]))

    def mv_expand_op(self, meta, c):
        *items, limit = c
        params = [i for i in items if isinstance(i, tuple)]
        items = tuple(i for i in items if isinstance(i, ast.MvExpandItem))
        options = dict(params)
        return ast.MvExpand(items, limit, options.get("bag_kind", "bag"), options.get("index"),
                            span=self.span_of(meta))

    def mv_kind(self, meta, c):
        if str(c[0]) not in ("bag", "array"):
            raise self.error_at(c[0], f"mv-expand kind '{c[0]}' is not supported; use bag or "
                                      f"array")
        return ("bag_kind", str(c[0]))

    def mv_index(self, meta, c):
        return ("index", str(c[0]))

    def mv_item(self, meta, c):
        name, expr, to_type = c
        return ast.MvExpandItem(None if name is None else str(name), expr,
                                None if to_type is None else str(to_type),
                                span=self.span_of(meta))

    def parse_op(self, meta, c):
        kind, expr, *parts = c
        kind, flags = kind or ("simple", "")
        return ast.Parse(expr, tuple(parts), kind, flags, span=self.span_of(meta))

    def parse_kind(self, meta, c):
        kind, flags = str(c[0]), str(c[1] or "")
        if kind not in PARSE_KINDS:
            raise self.error_at(c[0], f"parse kind '{kind}' is not supported; use "
                                      f"{' or '.join(PARSE_KINDS)}")
        if flags and (kind != "regex" or set(flags) - set("imsU")):
            raise self.error_at(c[1], "parse flags are RE2's i, m, s and U, with kind=regex")
        return kind, flags

    def parse_text(self, meta, c):
        return self.string(meta, c).value

    def parse_any(self, meta, c):
        return None

    def parse_column(self, meta, c):
        name, type_ = c
        return ast.ColumnDecl(str(name), "string" if type_ is None else str(type_),
                               span=self.span_of(name))

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
        return ast.ProjectAway(tuple(c), span=self.span_of(meta))

    def column_name(self, meta, c):
        if len(c) == 1 and c[0].type == "STAR" or c[-1] is not None:
            raise self.error_at(meta, "column wildcards such as Payload* are not supported; "
                                      "name each column")
        return str(c[0])

    def project_rename_op(self, meta, c):
        return ast.ProjectRename(tuple(c), span=self.span_of(meta))

    def rename(self, meta, c):
        return (str(c[0]), str(c[1]))

    def project_reorder_op(self, meta, c):
        return ast.ProjectReorder(tuple(c), span=self.span_of(meta))

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

    def bracketed_name(self, meta, c):
        raise self.error_at(meta, "bracketed column names such as ['my column'] are not "
                                  "supported; write the name as it is")

    def guid_lit(self, meta, c):
        raise self.error_at(c[0], "guid literals are not supported; compare the text, e.g. "
                                  "TrackId == '74be27de-...'")

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


class _UnionKind(str):
    """union's kind= among its tables."""


def _union_parts(children) -> tuple[str, tuple]:
    kinds = [c for c in children if isinstance(c, _UnionKind)]
    tables = tuple(c for c in children if not isinstance(c, _UnionKind))
    return (str(kinds[-1]) if kinds else "outer"), tables


def _unnull(value):
    if value is _JNULL:
        return None
    if isinstance(value, list):
        return [_unnull(v) for v in value]
    if isinstance(value, dict):
        return {k: _unnull(v) for k, v in value.items()}
    return value


def _is_name(e, name: str) -> bool:
    return isinstance(e, ast.Name) and e.name == name


_GRAMMAR = Grammar("grammar.lark", _ToAst, operators=TABULAR_OPERATORS,
                   unsupported=UNSUPPORTED_OPERATORS, sources=SOURCES)


def parse(text: str) -> ast.Query:
    """Parse KQL text. Raises QueryError (only) on bad input."""
    if not isinstance(text, str):
        raise QueryError("the query must be text")
    if not text.strip():
        raise QueryError("the query is empty; start it with 'Events'")
    try:
        return _GRAMMAR.parse(text)
    except QueryError as e:
        raise _let_function(text, e) or e from None


_LET_FUNCTION = re.compile(r"\blet\s+([A-Za-z_][A-Za-z0-9_]*)\s*=\s*\(\s*([A-Za-z_][A-Za-z0-9_]*"
                           r"\s*:|\)\s*\{)")


def _let_function(text: str, error: QueryError) -> QueryError | None:
    """A syntax error in a `let` bound to a function (`let f = (x:long) {...}`), named as such."""
    m = _LET_FUNCTION.search(text)
    if m is None or text.count("\n", 0, m.start()) + 1 > error.line:
        return None
    line = text.count("\n", 0, m.start(1)) + 1
    column = m.start(1) - (text.rfind("\n", 0, m.start(1)) + 1) + 1
    return QueryError(f"'let {m.group(1)}' binds a function: a let bound to a function is not "
                      f"supported; write the expression where it is used", line, column, text)
