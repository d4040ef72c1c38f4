"""ResolvedQuery -> one DuckDB SELECT. One handler per node class; values become parameters.

The pipeline is built as a single SELECT as long as each operator can be merged into it (a where
before a sort, a take after a sort, an extend anywhere...); otherwise the current SELECT becomes a
subquery. Column references are inlined as the SQL expression that defines them, so a where after
an extend filters on the expression. When a sorted SELECT has to become a subquery, its order is
carried out as a hidden row_number() column, so `top 5 by x | where ...` keeps its order.

The pipelines a join or a union reads are generated the same way, by a generator that shares
this one's parameters, as subqueries of the one SELECT; each reads the table through the same
`source_sql` (sqlgen_tabular.py). In KQL a string is never null: tests read a NULL string as ''
(nullrules.py), and the result's string columns, group keys and sort keys show it as ''.

Nothing here checks the query: the resolver has (resolve.py), so a resolved query always
generates, and a test holds this module to raising nothing.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from . import ast, functions, nullrules, sqlgen_strings, sqlgen_tabular
from .ast import OutputColumn
from .resolve import STRING_OPS, ResolvedQuery
from .schema import Schema
from .sqlselect import Select, render
from .sqltext import json_path, quote_ident
from .top_by_key import ORDER_KEY_OUTPUT, TopByKey

SQL_TYPES = functions.SQL_TYPES


class NeverNull(str):
    """SQL text of a string value that is never NULL (already read as '')."""


def _same_kind(inner: str, outer: str) -> str:
    """`outer`, which reads the value `inner` computes, never null if that never is."""
    return NeverNull(outer) if isinstance(inner, NeverNull) else outer


@dataclass
class _Shared:
    """What the generators of one query share: its parameters, aliases and now()."""

    params: dict[str, object] = field(default_factory=dict)
    aliases: int = 0
    now_ref: str | None = None


class SqlGen:
    def __init__(self, schema: Schema, source_sql: str, now: datetime, dialect: str = "kql",
                 shared: _Shared | None = None):
        self.schema = schema
        self.source_sql = source_sql
        self.now_value = now
        self.dialect = dialect
        self.shared = shared or _Shared()
        self.params = self.shared.params
        self.sel: Select | None = None
        self.top_by_key: TopByKey | None = None

    def alias(self, prefix: str) -> str:
        """A relation alias no other part of the query uses."""
        self.shared.aliases += 1
        return f"{prefix}{self.shared.aliases}"

    def nested(self, rq: ResolvedQuery) -> str:
        """The SQL of a pipeline a join or a union reads, over the same source and parameters
        (its strings stay null: the query that reads it shows them)."""
        return SqlGen(self.schema, self.source_sql, self.now_value, rq.dialect,
                      self.shared).query(rq, nested=True)

    # ------------------------------------------------------------ parameters
    def param(self, value, type_: str | None, cast: bool = True) -> str:
        if value is None:
            return f"CAST(NULL AS {SQL_TYPES[type_]})" if type_ in SQL_TYPES else "NULL"
        if type_ == "dynamic":
            value = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        name = f"p{len(self.params)}"
        self.params[name] = value
        ref = "$" + name
        if cast and type_ in SQL_TYPES and type_ != "string":
            return f"CAST({ref} AS {SQL_TYPES[type_]})"
        return ref

    def now(self) -> str:
        if self.shared.now_ref is None:
            self.shared.now_ref = self.param(self.now_value, "datetime")
        return self.shared.now_ref

    # ------------------------------------------------------------ expressions
    def expr(self, e: ast.Expr, env: dict[str, str]) -> str:
        """SQL giving exactly the value of `e` (for a test, Kusto's true, false or null)."""
        return EXPR_HANDLERS[type(e)](self, e, env)

    def cond(self, e: ast.Expr, env: dict[str, str]) -> str:
        """SQL true exactly where the test `e` is true: null and false may stand for each other
        (nullrules.py, "relaxed"), as they do for a `where`."""
        if isinstance(e, ast.Binary) and e.op in ("and", "or"):
            return f"({self.cond(e.left, env)} {e.op.upper()} {self.cond(e.right, env)})"
        if isinstance(e, (ast.Binary, ast.InList)) and self.dialect == "kql":
            return EXPR_HANDLERS[type(e)](self, e, env, relaxed=True)
        return self.expr(e, env)

    def shown(self, sql: str, type_: str) -> str:
        """A value as a result, group key or sort key shows it: in KQL a null string is ''."""
        if type_ != "string" or self.dialect != "kql" or isinstance(sql, NeverNull):
            return sql
        return NeverNull(nullrules.text(sql))

    # ------------------------------------------------------------ pipeline
    def wrap(self) -> None:
        inner = self.sel
        alias = self.alias("_q")
        order = []
        if inner.order_by:
            ordinal = f"__kql_order_{alias[2:]}"
            inner.hidden.append(
                (ordinal, f"row_number() OVER (ORDER BY {', '.join(inner.order_by)})"))
            order = [quote_ident(ordinal)]
        sql = render(inner, self)
        self.sel = Select(f"({sql}) AS {alias}",
                          [(n, _same_kind(inner_sql, quote_ident(n)), t)
                           for n, inner_sql, t in inner.cols], order_by=order)

    def query(self, rq: ResolvedQuery, max_rows: int | None = None,
              order_key_output: bool = False, nested: bool = False) -> str:
        """`order_key_output`: where top_by_key applies, each row's order key comes last, as
        ORDER_KEY_OUTPUT."""
        self.dialect = rq.dialect
        self.sel = sqlgen_tabular.source_select(self, rq)
        for stage in rq.stages:
            OP_HANDLERS[type(stage.op)](self, stage.op, stage.columns)
        if not nested:
            self.sel.cols = [(n, self.shown(sql, t), t) for n, sql, t in self.sel.cols]
        if max_rows is not None:
            if self.sel.limit is None or self.sel.limit > max_rows:
                self.sel.limit = max_rows
        self.top_by_key = _top_by_key(self.sel)
        if self.top_by_key is not None and order_key_output:
            self.sel.hidden.append(
                (ORDER_KEY_OUTPUT, quote_ident(self.top_by_key.order_column)))
        return render(self.sel, self)


def _top_by_key(sel: Select) -> TopByKey | None:
    """Set when the outermost SELECT is a top-N whose first sort key is an order column: then
    every operator after the sort was row-wise (any other wraps it in a new SELECT)."""
    if sel.order_key is None or not sel.limit or not sel.order_by:
        return None
    if sel.group_by is not None or sel.distinct or not sel.base:
        return None
    column, descending = sel.order_key
    if not sel.order_by[0].startswith(quote_ident(column) + " "):
        return None
    return TopByKey(column, descending, sel.limit, (sel.offset or 0) + sel.limit)


# ---------------------------------------------------------------- operator handlers
def op_where(g: SqlGen, op: ast.Where, cols):
    s = g.sel
    if s.group_by is not None or s.limit is not None or s.distinct:
        g.wrap()
    g.sel.where.append(g.cond(op.predicate, g.sel.env()))


def op_take(g: SqlGen, op: ast.Take, cols):
    if g.sel.limit is not None or g.sel.offset is not None:
        g.wrap()
    g.sel.limit = int(op.count.value)
    if op.skip is not None:
        g.sel.offset = int(op.skip.value)


def _sort_sql(g, key: ast.SortKey, env):
    direction = "DESC" if key.descending else "ASC"
    nulls = "FIRST" if key.nulls_first else "LAST"
    sql = g.expr(key.expr, env)
    p = _ordered_key(g, key, env)
    if p is not None and key.expr.type != "dynamic":
        # the same order, and a top-N on it skips row groups (schema.PromotedKey)
        return (f"{quote_ident(p.order_column)} {direction} NULLS {nulls}, "
                f"{sql} {direction} NULLS {nulls}")
    if key.expr.type == "string":
        return f"{g.shown(sql, 'string')} {direction} NULLS {nulls}"
    if key.expr.type == "dynamic":
        # numbers in numeric order, then everything else by its text
        text = f"json_extract_string({sql}, '$')"
        number = f"TRY_CAST({text} AS DOUBLE)"
        if p is not None:  # the promoted column holds that number; its order column first
            number = (f"{quote_ident(p.order_column)} {direction} NULLS {nulls}, "
                      f"{quote_ident(p.column)}")
        return f"{number} {direction} NULLS {nulls}, {text} {direction} NULLS {nulls}"
    return f"{sql} {direction} NULLS {nulls}"


def _ordered_key(g: SqlGen, key: ast.SortKey, env):
    """The promoted real key with an order column that sorting on `key` may read: the key is
    that number (toreal() of the property), or the property itself, whose numbers sort first."""
    p = _promoted_key(g, key.expr, env)
    if p is None or not p.order_column or p.type != "real":
        return None
    wanted = "dynamic" if isinstance(key.expr, ast.DynPath) else "real"
    return p if key.expr.type == wanted else None


def op_sort(g: SqlGen, op: ast.Sort, cols):
    s = g.sel
    if s.limit is not None or s.distinct or s.group_by is not None:
        g.wrap()
    env = g.sel.env()
    # a key that reads no column cannot change the order (and DuckDB rejects a constant key);
    # every column reference is a quoted identifier, so a key without one is a constant
    keys = [_sort_sql(g, k, env) for k in op.keys]
    g.sel.order_by = [k for k in keys if '"' in k]
    first = op.keys[0] if op.keys else None
    p = _ordered_key(g, first, env) if first is not None else None
    ordered = p is not None and not first.nulls_first
    g.sel.order_key = (p.order_column, first.descending) if ordered else None


def op_top(g: SqlGen, op: ast.Top, cols):
    op_sort(g, ast.Sort((op.key,)), cols)
    g.sel.limit = int(op.count.value)


def op_project(g: SqlGen, op: ast.Project, cols):
    if g.sel.distinct or g.sel.group_by is not None:
        g.wrap()
    env = g.sel.env()
    g.sel.cols = [(a.name, g.expr(a.expr, env), a.expr.type) for a in op.items]


def op_extend(g: SqlGen, op: ast.Extend, cols):
    if g.sel.distinct or g.sel.group_by is not None:
        g.wrap()
    env = g.sel.env()
    current = list(g.sel.cols)
    for a in op.items:
        sql = g.expr(a.expr, env)
        env[a.name] = sql
        names = [c[0] for c in current]
        if a.name in names:
            current[names.index(a.name)] = (a.name, sql, a.expr.type)
        else:
            current.append((a.name, sql, a.expr.type))
    g.sel.cols = current


def _reshape(g: SqlGen, op, cols: tuple[OutputColumn, ...]):
    """project-away / project-reorder / project-rename: the resolver computed the new list."""
    old = {n: (s, t) for n, s, t in g.sel.cols}
    renames = {new: old_name for new, old_name in getattr(op, "pairs", ())}
    g.sel.cols = [(c.name, old[renames.get(c.name, c.name)][0], c.type) for c in cols]




def op_summarize(g: SqlGen, op: ast.Summarize, cols):
    s = g.sel
    if s.group_by is not None or s.limit is not None or s.distinct:
        g.wrap()
    env = g.sel.env()
    # a missing string groups (and shows) as ''
    by = [(a.name, g.shown(g.expr(a.expr, env), a.expr.type), a.expr.type) for a in op.by]
    aggs = [(a.name, g.expr(a.expr, env), a.expr.type) for a in op.aggregates]
    g.sel.cols = by + aggs
    g.sel.group_by = [
        sql.group if isinstance(sql, functions.GroupedBy) else str(i + 1)
        for i, (_, sql, _) in enumerate(by)
    ]
    g.sel.order_by = []


def op_count(g: SqlGen, op, cols):
    s = g.sel
    if s.group_by is not None or s.limit is not None or s.distinct:
        g.wrap()
    g.sel.cols = [("Count", "count(*)", "long")]
    g.sel.group_by = []
    g.sel.order_by = []


def op_distinct(g: SqlGen, op: ast.Distinct, cols):
    s = g.sel
    if s.group_by is not None or s.limit is not None or s.distinct:
        g.wrap()
    env = g.sel.env()
    g.sel.cols = [(c.name, g.shown(env[c.name], c.type), c.type) for c in cols]
    g.sel.distinct = True
    g.sel.order_by = []


OP_HANDLERS = {
    ast.Where: op_where, ast.Take: op_take, ast.Sort: op_sort, ast.Top: op_top,
    ast.Project: op_project, ast.Extend: op_extend, ast.ProjectAway: _reshape,
    ast.ProjectRename: _reshape, ast.ProjectReorder: _reshape, ast.Summarize: op_summarize,
    ast.Count: op_count, ast.Distinct: op_distinct, ast.Union: sqlgen_tabular.op_union,
    ast.Join: sqlgen_tabular.op_join, ast.MvExpand: sqlgen_tabular.op_mv_expand,
    ast.Parse: sqlgen_tabular.op_parse,
}


# ---------------------------------------------------------------- expression handlers
def e_literal(g: SqlGen, e: ast.Literal, env):
    if e.type == "null" or e.value is None:
        return g.param(None, e.type)
    if e.type == "string" and e.value == "":
        return "''"  # the empty string carries no user text
    if e.type == "bool" and isinstance(e.value, bool):
        # nor does a truth value, and DuckDB plans `WHERE FALSE` as an empty result before it
        # opens the lake's files (bench/NOTES.md#compile-constant-truth-values)
        return "TRUE" if e.value else "FALSE"
    if e.type == "timespan" and isinstance(e.value, timedelta):
        return g.param(e.value, "timespan")
    return g.param(e.value, e.type)


def e_column(g: SqlGen, e: ast.ColumnRef, env):
    return env[e.name]


def e_dynpath(g: SqlGen, e: ast.DynPath, env):
    return f"json_extract({g.expr(e.base, env)}, {g.param(json_path(e.path), 'string')})"


def _promoted_key(g: SqlGen, e, env):
    """The promoted key holding the property `e` reads (or converts), when reading it gives the
    same answer: the dynamic column is the events' own, not one a query replaced."""
    x = e.operand if isinstance(e, ast.Convert) else e
    if not (isinstance(x, ast.DynPath) and isinstance(x.base, ast.ColumnRef)):
        return None
    sel = g.sel
    if sel is None or not sel.base or env.get(x.base.name) != quote_ident(x.base.name):
        return None
    for p in g.schema.promoted:
        if p.dynamic_column == x.base.name and tuple(p.path) == tuple(x.path):
            return p
    return None


def _promoted(g: SqlGen, e: ast.Convert, env):
    """A typed column holding the same property, when using it gives the same answer."""
    p = _promoted_key(g, e, env)
    if p is None or not isinstance(e, ast.Convert):
        return None
    if p.type == e.type:
        return quote_ident(p.column)
    if e.type == "real" and p.type in functions.NUMERIC:
        return f"CAST({quote_ident(p.column)} AS DOUBLE)"
    return None


def e_convert(g: SqlGen, e: ast.Convert, env):
    promoted = _promoted(g, e, env)
    if promoted is not None:
        return promoted
    x = e.operand
    if isinstance(x, ast.DynPath):
        text = (f"json_extract_string({g.expr(x.base, env)}, "
                f"{g.param(json_path(x.path), 'string')})")
    else:
        text = f"json_extract_string({g.expr(x, env)}, '$')"
    if e.type == "string":
        return text
    if e.type in ("int", "long"):  # like toint(): numbers truncate toward zero
        return f"TRY_CAST(trunc(TRY_CAST({text} AS DOUBLE)) AS {SQL_TYPES[e.type]})"
    return f"TRY_CAST({text} AS {SQL_TYPES[e.type]})"


def e_unary(g: SqlGen, e: ast.Unary, env):
    x = g.expr(e.operand, env)
    if e.op == "not":  # Kusto: not(null) is null; OData: not inverts "false on null"
        return f"(NOT {x})" if g.dialect == "kql" else f"(NOT COALESCE({x}, FALSE))"
    return f"(-{x})"


_SQL_CMP = {"<": "<", "<=": "<=", ">": ">", ">=": ">=", "gt": ">", "ge": ">=", "lt": "<",
            "le": "<="}


def e_binary(g: SqlGen, e: ast.Binary, env, relaxed: bool = False):
    op = e.op
    l = g.expr(e.left, env)
    r = g.expr(e.right, env)
    if op in ("and", "or"):
        return f"({l} {op.upper()} {r})"
    if op in ("+", "-", "*"):
        return f"({l} {op} {r})"
    if op == "%":  # Kusto's remainder is never negative: -14 % 12 is 10
        return f"((({l} % {r}) + abs({r})) % abs({r}))"
    if op == "/":
        return _divide(e, l, r)
    if op in ("eq", "ne"):  # OData: null is a value
        if isinstance(e.right, ast.Literal) and e.right.value is None:
            return f"({l} IS {'NOT ' if op == 'ne' else ''}NULL)"
        return f"({l} IS NOT DISTINCT FROM {r})" if op == "eq" else nullrules.is_distinct(l, r)
    strings = "string" in (e.left.type, e.right.type)
    if op in _SQL_CMP:  # only OData orders strings; null is sticky, as in SQL
        return f"({l} {_SQL_CMP[op]} {r})"
    if strings or op in STRING_OPS:
        if g.dialect == "kql":
            return sqlgen_strings.kql_test(g, e, l, r, relaxed)
        return sqlgen_strings.odata_test(g, e, l, r)
    return nullrules.equality(op, l, r, e.left, e.right, relaxed)


def _divide(e: ast.Binary, l: str, r: str) -> str:
    lt, rt = e.left.type, e.right.type
    if lt == rt == "timespan":
        return f"(epoch_us({l}) / epoch_us({r}))"
    if lt in ("int", "long") and rt in ("int", "long"):
        return f"({l} // {r})"
    return f"({l} / {r})"


def e_between(g: SqlGen, e: ast.Between, env):
    x, lo, hi = (g.expr(v, env) for v in (e.operand, e.low, e.high))
    return f"({x} {'NOT ' if e.negated else ''}BETWEEN {lo} AND {hi})"


def e_inlist(g: SqlGen, e: ast.InList, env, relaxed: bool = False):
    x = g.expr(e.operand, env)
    if e.op in ("has_any", "has_all"):
        return sqlgen_strings.has_any_or_all(g, e, x, relaxed)
    items = [g.expr(i, env) for i in e.items]
    if g.dialect == "kql" and (e.operand.type == "string" or e.op.endswith("~")):
        return sqlgen_strings.kql_in(g, e, x, items, relaxed)
    if g.dialect != "kql":  # OData's `in`: null is in no list
        return f"({x} IN ({', '.join(items)}))"
    if all(isinstance(i, ast.Literal) and i.value is not None for i in e.items):
        if e.op.startswith("!"):  # each != is true for a null
            return f"({x} NOT IN ({', '.join(items)}) OR {x} IS NULL)"
        test = f"({x} IN ({', '.join(items)}))"
        return test if relaxed else f"COALESCE({test}, FALSE)"
    # a null or a computed item: the `or` of its `==`s, the `and` of its `!=`s
    op, joiner = ("!=", " AND ") if e.op.startswith("!") else ("==", " OR ")
    return "(" + joiner.join(nullrules.equality(op, x, i, e.operand, item, False)
                             for i, item in zip(items, e.items)) + ")"


def e_call(g: SqlGen, e: ast.Call, env):
    f = functions.lookup(e.name)
    args_sql = [g.expr(a, env) for a in e.args]
    if f.aggregate and g.dialect == "kql":  # a missing string is '' to an aggregate, too
        args_sql = [g.shown(s, a.type) for s, a in zip(args_sql, e.args)]
    return functions.render(f, g, args_sql, e.args)


EXPR_HANDLERS = {
    ast.Literal: e_literal, ast.ColumnRef: e_column, ast.DynPath: e_dynpath,
    ast.Convert: e_convert, ast.Unary: e_unary, ast.Binary: e_binary, ast.Between: e_between,
    ast.InList: e_inlist, ast.Call: e_call,
}


def generate(rq: ResolvedQuery, *, source_sql: str, now: datetime,
             max_rows: int | None = None) -> tuple[str, dict[str, object]]:
    sql, params, _ = generate_with_hints(rq, source_sql=source_sql, now=now, max_rows=max_rows)
    return sql, params


def generate_with_hints(rq: ResolvedQuery, *, source_sql: str, now: datetime,
                        max_rows: int | None = None, order_key_output: bool = False
                        ) -> tuple[str, dict[str, object], TopByKey | None]:
    """(sql, params, top_by_key): see SqlGen.query."""
    g = SqlGen(rq.schema, source_sql, now, rq.dialect)
    sql = g.query(rq, max_rows, order_key_output)
    # templates that read a constant argument themselves leave its parameter unused: drop it
    used = set(re.findall(r"\$(p\d+)\b", sql))
    return sql, {k: v for k, v in g.params.items() if k in used}, g.top_by_key
