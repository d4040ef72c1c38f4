"""ast.Query -> ResolvedQuery: names checked against the schema, every expression typed.

Kusto's implicit conversions are made explicit here (`Convert` nodes around dynamic values), `let`
values are substituted, constants folded where that makes the SQL simpler, and each operator's
output columns computed. Every check is made here, those of function arguments too (the
registry's `check`), so that SQL generation never fails. Knows nothing of SQL.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Iterator, Mapping

from . import ast, functions, literals, naming
from .ast import OutputColumn
from .errors import at, did_you_mean
from .limits import MAX_AGGREGATIONS, MAX_OPERATORS
from .resolve_tabular import TabularOperators
from .schema import EVENTS_SCHEMA, ID_COLUMN, TIME_COLUMN, TYPE_NAMES, Schema

NUMERIC = functions.NUMERIC
COMPARE = ("==", "!=", "<", "<=", ">", ">=", "eq", "ne", "gt", "ge", "lt", "le")
ORDERING = ("<", "<=", ">", ">=", "gt", "ge", "lt", "le")
ARITH = ("+", "-", "*", "/", "%")
# Whole-term tests: the term on their right is a constant string (it becomes a regex).
TERM_TESTS = ("has", "hasprefix", "hassuffix")
STRING_OPS = tuple(
    prefix + base + suffix
    for base in TERM_TESTS + ("contains", "startswith", "endswith")
    for suffix in ("", "_cs")
    for prefix in ("", "!")
) + ("=~", "!~", "matches regex")


@dataclass(frozen=True)
class Stage:
    op: ast.Op
    columns: tuple[OutputColumn, ...]


@dataclass(frozen=True)
class ResolvedQuery:
    """A resolved pipeline: its source (a TableRef, or a typed DataTable, PrintRow, RangeRows or
    UnionRows of ResolvedQuerys), the columns that source gives, and each operator's stage.
    The pipelines an operator reads (join, union) are ResolvedQuerys inside that operator."""

    base: tuple[OutputColumn, ...]
    stages: tuple[Stage, ...]
    dialect: str
    schema: Schema
    source: ast.Tabular | None = None  # None: the table itself

    @property
    def columns(self) -> tuple[OutputColumn, ...]:
        return self.stages[-1].columns if self.stages else self.base

    @property
    def reads_table(self) -> bool:
        """True when the rows come from the table itself (not a literal, print or range)."""
        return self.source is None

    def nested(self) -> Iterator["ResolvedQuery"]:
        """Every pipeline this one reads besides its own rows (union tables, join sides),
        at any depth."""
        parts = [self.source] + [s.op for s in self.stages]
        for part in parts:
            for inner in getattr(part, "tables", ()) + ((part.right,) if isinstance(
                    part, ast.Join) else ()):
                yield inner
                yield from inner.nested()


def _t(e: ast.Expr, type_: str) -> ast.Expr:
    return dataclasses.replace(e, type=type_)


def convert(e: ast.Expr, type_: str) -> ast.Expr:
    """Kusto's conversion of a dynamic value to a scalar type."""
    if e.type == "dynamic" and type_ != "dynamic":
        return ast.Convert(e, span=e.span, type=type_)
    return e


def is_const(e: ast.Expr) -> bool:
    return isinstance(e, ast.Literal)


# A placeholder's value: (KQL type, Python value), as templates.bind gives it.
Bound = tuple[str, object]


class Resolver(TabularOperators):
    def __init__(self, schema: Schema = EVENTS_SCHEMA, dialect: str = "kql",
                 parameters: Mapping[str, Bound] | None = None):
        self.schema = schema
        self.dialect = dialect
        self.lets: dict[str, ast.Expr] = {}
        self.parameters = parameters or {}
        self.operators = 0  # of the whole query so far, for limits.MAX_OPERATORS
        self.aggregations = 0

    # ------------------------------------------------------------ query and operators
    def query(self, q: ast.Query) -> ResolvedQuery:
        self.dialect = q.dialect
        for let in q.lets:
            if let.name in self.lets:
                raise at(let, f"'{let.name}' is already defined by an earlier let")
            self.lets[let.name] = self.expr(let.expr, {})
            if self.lets[let.name].type is None:
                raise at(let, f"'{let.name}' has no type")
        return self.pipeline(q.source, q.operators)

    def pipeline(self, source: ast.Tabular, operators) -> ResolvedQuery:
        if isinstance(source, ast.Pipeline):  # (T | ...) | ...: one longer pipeline
            return self.pipeline(source.source, source.operators + tuple(operators))
        source, scope = self.source(source)
        base = tuple(OutputColumn(n, t) for n, t in scope.items())
        stages = []
        for op in operators:
            self.count_operator(op)
            handler = getattr(self, "op_" + type(op).__name__, None)
            if handler is None:  # pragma: no cover - parser and resolver cover the same ops
                raise at(op, f"operator {type(op).__name__} is not supported")
            op, scope = handler(op, scope)
            if not scope:  # a table without columns: no SELECT can say it
                raise at(op, "this operator leaves no column (a union of kind=inner without "
                             "a column in common, or every column projected away)")
            stages.append(Stage(op, tuple(OutputColumn(n, t) for n, t in scope.items())))
        return ResolvedQuery(base, tuple(stages), self.dialect, self.schema, source)

    def count_operator(self, op: ast.Op) -> None:
        self.operators += 1
        if self.operators > MAX_OPERATORS:
            raise at(op, f"the query has more than {MAX_OPERATORS} operators, the most one may")
        if isinstance(op, (ast.Summarize, ast.Count)):
            self.aggregations += 1
            if self.aggregations > MAX_AGGREGATIONS:
                raise at(op, f"the query has more than {MAX_AGGREGATIONS} summarize or count "
                             f"operators, the most one may")

    def tabular(self, t: ast.Tabular) -> ResolvedQuery:
        """A table a join or a union reads."""
        return self.pipeline(t, ())

    def table(self, t: ast.TableRef):
        """(None, the table's columns): the source of a pipeline over the table."""
        if t.name != self.schema.table:
            hint = did_you_mean(t.name, [self.schema.table])
            raise at(t, f"unknown table '{t.name}'{hint} (the only table is "
                        f"'{self.schema.table}')")
        return None, {c.name: c.type for c in self.schema.columns}

    def op_Where(self, op: ast.Where, scope):
        pred = self.predicate(op.predicate, scope, "where")
        return dataclasses.replace(op, predicate=pred), scope

    def predicate(self, e, scope, what):
        pred = convert(self.expr(e, scope), "bool")
        if pred.type != "bool":
            raise at(e, f"'{what}' needs a true/false condition, but this is a {pred.type}")
        return pred

    def const_count(self, e, scope, what) -> ast.Literal:
        value = self.expr(e, scope)
        if not (is_const(value) and value.type in ("int", "long") and value.value is not None
                and value.value >= 0):
            raise at(e, f"'{what}' needs a constant number of rows, e.g. {what} 10")
        return value

    def op_Take(self, op: ast.Take, scope):
        odata = self.dialect == "odata"
        count = self.const_count(op.count, scope, "$top" if odata else "take")
        skip = self.const_count(op.skip, scope, "$skip") if op.skip is not None else None
        return dataclasses.replace(op, count=count, skip=skip), scope

    def sort_key(self, k: ast.SortKey, scope) -> ast.SortKey:
        e = self.expr(k.expr, scope)
        if e.type is None or e.type == "null":
            raise at(k.expr, "cannot sort by a constant null")
        nulls_first = k.nulls_first if k.nulls_first is not None else not k.descending
        return dataclasses.replace(k, expr=e, nulls_first=nulls_first)

    def op_Sort(self, op: ast.Sort, scope):
        keys = self.list_order(op) if self.dialect == "odata" else op.keys
        return dataclasses.replace(op, keys=tuple(self.sort_key(k, scope) for k in keys)), scope

    def list_order(self, op: ast.Sort) -> tuple[ast.SortKey, ...]:
        """List's order: $orderby's keys, or newest first without any, then the table's id
        (when it has one), so that every page of a List has a stable order."""
        keys = op.keys or (ast.SortKey(ast.Name(TIME_COLUMN, span=op.span), True, False,
                                       span=op.span),)
        if self.schema.column(ID_COLUMN) is None:
            return keys
        return keys + (ast.SortKey(ast.Name(ID_COLUMN, span=op.span), False, True, span=op.span),)

    def op_Top(self, op: ast.Top, scope):
        count = self.const_count(op.count, scope, "top")
        return dataclasses.replace(op, count=count, key=self.sort_key(op.key, scope)), scope

    def items(self, items, scope, *, sequential: bool, agg: bool = False,
              unnamed=naming.column_number):
        """Typed assignments with Kusto's default names (naming.py). `unnamed(position,
        count)` names what has no name of its own: Column1, Column2... (print: print_0...)."""
        out: list[ast.Assign] = []
        names: dict[str, str] = {}
        inner = dict(scope)
        counter = 0
        for position, item in enumerate(items):
            e = self.expr(item.expr, inner if sequential else scope, agg=agg)
            if e.type == "typeof":
                raise at(item.expr, "typeof() is an argument of functions such as extract(), "
                                    "not a value")
            if e.type in (None, "null"):
                if not isinstance(e, ast.Literal):
                    raise at(item.expr, "the type of this value is unknown; use a typed null "
                                        "such as long(null)")
                e = _t(e, "string")
            name = item.name or naming.default_name(e, agg)
            if name is None:
                counter += 1
                name = unnamed(position, counter)
            if name in names and item.name is not None:
                raise at(item, f"the column name '{name}' is used twice")
            name = naming.numbered(name, names) if item.name is None else name
            names[name] = e.type
            out.append(ast.Assign(name, e, span=item.span))
            if sequential:
                inner[name] = e.type
        return out

    def op_Project(self, op: ast.Project, scope):
        items = self.items(op.items, scope, sequential=False)
        return dataclasses.replace(op, items=tuple(items)), {a.name: a.expr.type for a in items}

    def op_Extend(self, op: ast.Extend, scope):
        items = self.items(op.items, scope, sequential=True)
        new = dict(scope)
        for a in items:
            new[a.name] = a.expr.type
        return dataclasses.replace(op, items=tuple(items)), new

    def need(self, name, scope, node):
        if name not in scope:
            raise at(node, f"unknown column '{name}'{did_you_mean(name, scope)}")

    def op_ProjectAway(self, op: ast.ProjectAway, scope):
        for n in op.names:
            self.need(n, scope, op)
        rest = {n: t for n, t in scope.items() if n not in op.names}
        if not rest:
            raise at(op, "project-away would remove every column")
        return op, rest

    def op_ProjectRename(self, op: ast.ProjectRename, scope):
        mapping = {}
        for new, old in op.pairs:
            self.need(old, scope, op)
            mapping[old] = new
        out = {}
        for n, t in scope.items():
            out[mapping.get(n, n)] = t
        if len(out) != len(scope):
            raise at(op, "project-rename would give two columns the same name")
        return op, out

    def op_ProjectReorder(self, op: ast.ProjectReorder, scope):
        for n in op.names:
            self.need(n, scope, op)
        first = {n: scope[n] for n in op.names}
        return op, {**first, **{n: t for n, t in scope.items() if n not in first}}

    def op_Summarize(self, op: ast.Summarize, scope):
        if not op.aggregates and not op.by:  # no column at all: no SELECT can say it
            raise at(op, "summarize needs an aggregation or a 'by' clause, e.g. "
                         "summarize count() by EventType")
        by = self.items(op.by, scope, sequential=False, agg=True)
        for a in by:
            if _has_aggregate(a.expr):
                raise at(a.expr, "an aggregate function cannot be a 'by' key")
            self.groupable(a.expr, "group by")
        aggs: list[ast.Assign] = []
        taken = {a.name for a in by}
        for item in op.aggregates:
            call = item.expr
            if isinstance(call, ast.Call) and call.name in ("arg_max", "arg_min"):
                aggs.extend(self.arg_extreme(item, scope, taken))
            elif isinstance(call, ast.Call) and call.name == "percentiles":
                aggs.extend(self.percentiles(item, scope, taken))
            else:
                aggs.append(self.aggregate(item, scope, taken))
        out = {a.name: a.expr.type for a in by}
        out.update({a.name: a.expr.type for a in aggs})
        return dataclasses.replace(op, aggregates=tuple(aggs), by=tuple(by)), out

    def groupable(self, e: ast.Expr, what: str) -> None:
        """Kusto groups, dedups and joins by scalar values only."""
        if e.type == "dynamic":
            text = naming.source_text(e)
            raise at(e, f"cannot {what} {text or 'this value'}, a dynamic value; convert it "
                        f"first, e.g. tostring({text or '...'}) or toint(...)")

    def aggregate(self, item: ast.Assign, scope, taken: set[str]) -> ast.Assign:
        [a] = self.items([item], scope, sequential=False, agg=True)
        if not _has_aggregate(a.expr):
            raise at(item.expr, "each summarize result needs an aggregate function such "
                                "as count() or sum()")
        if a.name in taken and item.name is not None:
            raise at(item, f"the column name '{a.name}' is used twice")
        name = naming.numbered(a.name, taken)
        taken.add(name)
        return dataclasses.replace(a, name=name)

    def percentiles(self, item: ast.Assign, scope, taken: set[str]) -> list[ast.Assign]:
        """percentiles(x, p1, p2, ...): one percentile(x, p) column per percentage."""
        call: ast.Call = item.expr
        if item.name is not None:
            raise at(item, "naming the columns of percentiles() is not supported; use "
                           "name = percentile(x, p) once per percentage")
        if len(call.args) < 2:
            raise at(call, "percentiles() needs a value and at least one percentage")
        out = []
        for p in call.args[1:]:
            single = ast.Call("percentile", (call.args[0], p), span=call.span)
            [a] = self.items([ast.Assign(None, single, span=item.span)], scope,
                             sequential=False, agg=True)
            name = naming.numbered(naming.percentile_name(a.expr.args[0], a.expr.args[1].value),
                                   taken)
            taken.add(name)
            out.append(dataclasses.replace(a, name=name))
        return out

    def arg_extreme(self, item: ast.Assign, scope, taken: set[str]):
        call: ast.Call = item.expr
        if len(call.args) < 2:
            raise at(call, f"{call.name}() needs an expression and the columns to return, "
                           f"e.g. {call.name}(EventTime, *)")
        key = self.expr(call.args[0], scope)
        if key.type in ("dynamic", "bool", None, "null"):
            raise at(call.args[0], f"{call.name}() needs a number, string or datetime to compare")
        internal = "__arg_max_col" if call.name == "arg_max" else "__arg_min_col"
        prefix = "max_" if call.name == "arg_max" else "min_"
        out = []
        key_name = item.name or naming.path_name(key) or \
            prefix + (naming.default_name(key, False) or "")
        if key_name not in taken:
            taken.add(key_name)
            out.append(ast.Assign(key_name, ast.Call(internal, (key, key), span=call.span,
                                                     type=key.type), span=item.span))
        if isinstance(key, ast.ColumnRef):  # returned once, under the key's name
            taken.add(key.name)
        for name in self.returned_columns(call, scope):
            if name in taken:
                continue
            taken.add(name)
            col = ast.ColumnRef(name, span=call.span, type=scope[name])
            out.append(ast.Assign(name, ast.Call(internal, (col, key), span=call.span,
                                                 type=scope[name]), span=item.span))
        return out

    def returned_columns(self, call: ast.Call, scope) -> list[str]:
        wanted: list[str] = []
        for arg in call.args[1:]:
            if isinstance(arg, ast.Star):
                wanted.extend(scope)
            elif isinstance(arg, ast.Name):
                self.need(arg.name, scope, arg)
                wanted.append(arg.name)
            else:
                raise at(arg, f"{call.name}() returns columns: name them or use *")
        return wanted

    def op_Count(self, op, scope):
        return op, {"Count": "long"}

    def op_Distinct(self, op: ast.Distinct, scope):
        names = list(scope) if op.names is None else op.names
        for n in names:
            self.need(n, scope, op)
            self.groupable(ast.ColumnRef(n, span=op.span, type=scope[n]), "take distinct values of")
        return op, {n: scope[n] for n in names}

    # ------------------------------------------------------------ expressions
    def expr(self, e: ast.Expr, scope: dict[str, str], agg: bool = False) -> ast.Expr:
        handler = getattr(self, "e_" + type(e).__name__)
        return handler(e, scope, agg)

    def e_Literal(self, e: ast.Literal, scope, agg):
        if e.type is None:
            return _t(e, "null")
        return e

    def e_Param(self, e: ast.Param, scope, agg):
        if e.name not in self.parameters:
            raise at(e, f"the placeholder {{{{{e.name}}}}} has no value: placeholders belong to "
                        f"filter definitions, whose parameters give them values")
        kind, value = self.parameters[e.name]
        return ast.Literal(value, span=e.span, type=kind)

    def e_Star(self, e, scope, agg):
        raise at(e, "'*' is only allowed as a column list, e.g. arg_max(EventTime, *)")

    def e_Name(self, e: ast.Name, scope, agg):
        if e.name in scope:
            return ast.ColumnRef(e.name, span=e.span, type=scope[e.name])
        if e.name in self.lets:
            return self.lets[e.name]
        words = {"true": True, "false": False}
        if e.name.lower() in words and (self.dialect == "odata" or e.name in
                                        ("true", "false", "True", "False", "TRUE", "FALSE")):
            return ast.Literal(words[e.name.lower()], span=e.span, type="bool")
        if e.name.lower() == "null" and self.dialect == "odata":
            return ast.Literal(None, span=e.span, type="null")
        if e.name == "null":
            return ast.Literal(None, span=e.span, type="null")
        if e.name == self.schema.table:
            raise at(e, f"'{e.name}' is a table, not a column")
        candidates = list(scope) + list(self.lets)
        return self._unknown(e, candidates)

    def _unknown(self, e, candidates):
        raise at(e, f"unknown column '{e.name}'{did_you_mean(e.name, candidates)}")

    def e_ColumnRef(self, e, scope, agg):
        return e

    def e_Member(self, e: ast.Member, scope, agg):
        base = self.expr(e.base, scope, agg)
        if base.type != "dynamic":
            what = naming.path_name(base) or "this value"
            raise at(e, f"'{what}' is a {base.type}, not dynamic: only dynamic values "
                        f"(like User and Payload) have properties")
        if isinstance(base, ast.DynPath):
            return ast.DynPath(base.base, base.path + (e.key,), span=e.span, type="dynamic")
        return ast.DynPath(base, (e.key,), span=e.span, type="dynamic")

    def e_DynPath(self, e, scope, agg):
        return e

    def e_Convert(self, e, scope, agg):
        return e

    def e_Unary(self, e: ast.Unary, scope, agg):
        x = self.expr(e.operand, scope, agg)
        if e.op == "not":
            x = convert(x, "bool")
            if x.type not in ("bool", "null"):
                raise at(e, f"not() needs a true/false value, but this is a {x.type}")
            return ast.Unary("not", x, span=e.span, type="bool")
        x = convert(x, "real")
        if x.type not in NUMERIC + ("timespan",):
            raise at(e, f"cannot negate a {x.type}")
        if isinstance(x, ast.Literal) and x.value is not None:
            return ast.Literal(-x.value, span=e.span, type=x.type)
        return ast.Unary("-", x, span=e.span, type=x.type)

    def e_Binary(self, e: ast.Binary, scope, agg):
        left = self.expr(e.left, scope, agg)
        right = self.expr(e.right, scope, agg)
        op = e.op
        if op in ("and", "or"):
            left, right = convert(left, "bool"), convert(right, "bool")
            for side in (left, right):
                if side.type not in ("bool", "null"):
                    raise at(side, f"'{op}' needs true/false values on both sides, but this is "
                                   f"a {side.type}")
            return ast.Binary(op, left, right, span=e.span, type="bool")
        if op in ARITH:
            return self.arith(e, left, right)
        if op in COMPARE:
            left, right = self.comparable(e, left, right, ordering=op in ORDERING)
            return ast.Binary(op, left, right, span=e.span, type="bool")
        if op in STRING_OPS:
            return self.string_test(e, left, right)
        raise at(e, f"operator '{op}' is not supported")  # pragma: no cover

    def string_test(self, e: ast.Binary, left, right):
        left, right = self.stringish(e, left), self.stringish(e, right)
        if e.op.lstrip("!").removesuffix("_cs") in TERM_TESTS and not (
                isinstance(right, ast.Literal) and isinstance(right.value, str)):
            raise at(right, f"'{e.op}' with a term that is not a constant is not supported: "
                            f"it needs a constant string on its right")
        if e.op == "matches regex" and isinstance(right, ast.Literal) and \
                isinstance(right.value, str):
            functions.check_regex(right, right.value)
        return ast.Binary(e.op, left, right, span=e.span, type="bool")

    def stringish(self, e, x):
        x = convert(x, "string")
        if x.type not in ("string", "null"):
            raise at(x, f"'{getattr(e, 'op', '')}' works on strings, but this is a {x.type}; "
                        f"use tostring()")
        return x

    def comparable(self, e, left, right, ordering):
        lt, rt = left.type, right.type
        if lt == "dynamic" and rt == "dynamic":
            return convert(left, "string"), convert(right, "string")
        if lt == "dynamic":
            left = convert(left, _target(rt))
        if rt == "dynamic":
            right = convert(right, _target(lt))
        lt, rt = left.type, right.type
        if "null" in (lt, rt) or lt == rt or (lt in NUMERIC and rt in NUMERIC):
            op = getattr(e, "op", "between")
            if ordering and "bool" in (lt, rt):
                raise at(e, f"'{op}' cannot order true/false values")
            if ordering and "string" in (lt, rt) and self.dialect == "kql":
                raise at(e, f"strings cannot be compared with '{op}'; use strcmp(a, b) < 0 "
                            f"(or > 0) to order them")
            return left, right
        raise at(e, f"cannot compare a {lt} with a {rt}"
                    + ("; write the datetime as datetime(...)" if "datetime" in (lt, rt) and
                       "string" in (lt, rt) else ""))

    def arith(self, e, left, right):
        op = e.op
        left = convert(left, "real")
        right = convert(right, "real")
        lt, rt = left.type, right.type
        result = None
        if lt in NUMERIC and rt in NUMERIC:
            result = "real" if "real" in (lt, rt) else ("int" if lt == rt == "int" else "long")
        elif op in ("+", "-") and lt == "datetime" and rt == "timespan":
            result = "datetime"
        elif op == "+" and lt == "timespan" and rt == "datetime":
            result = "datetime"
        elif op == "-" and lt == rt == "datetime":
            result = "timespan"
        elif op in ("+", "-") and lt == rt == "timespan":
            result = "timespan"
        elif op in ("*", "/") and lt == "timespan" and rt in NUMERIC:
            result = "timespan"
        elif op == "*" and lt in NUMERIC and rt == "timespan":
            result = "timespan"
        elif op == "/" and lt == rt == "timespan":
            result = "real"
        elif "null" in (lt, rt):
            result = lt if rt == "null" else rt
        if result is None:
            hint = "; use strcat() to join strings" if lt == rt == "string" else ""
            raise at(e, f"operator '{op}' cannot be applied to {lt} and {rt}{hint}")
        return ast.Binary(op, left, right, span=e.span, type=result)

    def e_Between(self, e: ast.Between, scope, agg):
        x = self.expr(e.operand, scope, agg)
        low = self.expr(e.low, scope, agg)
        high = self.expr(e.high, scope, agg)
        if low.type == "datetime" and high.type == "timespan":
            high = ast.Binary("+", low, high, span=high.span, type="datetime")
        x, low = self.comparable(e, x, low, ordering=True)
        x, high = self.comparable(e, x, high, ordering=True)
        return ast.Between(x, low, high, e.negated, span=e.span, type="bool")

    def e_InList(self, e: ast.InList, scope, agg):
        x = self.expr(e.operand, scope, agg)
        items = []
        for i in e.items:
            item = self.expr(i, scope, agg)
            if isinstance(item, ast.Literal) and item.type == "dynamic" \
                    and isinstance(item.value, list):
                # x in (dynamic(['a', 'b'])) and a let-bound array: its elements
                items.extend(_json_literal(v, item.span, i) for v in item.value)
            elif item.type == "dynamic" and not isinstance(item, ast.Literal):
                raise at(i, f"'{e.op}' with an array that is not a constant is not supported; "
                            f"list the values, or use dynamic([...])")
            else:
                items.append(item)
        if not items:
            raise at(e, f"'{e.op}' needs at least one value")
        if e.op in ("has_any", "has_all"):
            x = self.stringish(ast.Binary(e.op, x, x, span=e.span), x)
            for i in items:
                if not (isinstance(i, ast.Literal) and isinstance(i.value, str)):
                    raise at(i, f"'{e.op}' with terms that are not constants is not "
                                f"supported: it needs constant strings")
        elif e.op.endswith("~"):
            x = self.stringish(ast.Binary(e.op, x, x, span=e.span), x)
            items = [self.stringish(ast.Binary(e.op, i, i, span=e.span), i) for i in items]
        else:
            types = [i.type for i in items if i.type not in ("null",)]
            if x.type == "dynamic" and types:
                x = convert(x, _target(functions.unify(types, e, "values in the list")))
            fixed = []
            for i in items:
                x2, i2 = self.comparable(ast.Binary(e.op, x, i, span=i.span), x, i, False)
                fixed.append(i2)
            items = fixed
        return ast.InList(e.op, x, tuple(items), span=e.span, type="bool")

    def e_Call(self, e: ast.Call, scope, agg):
        if e.name == "typeof":
            return self.type_of(e)
        if e.name == "not":
            if len(e.args) != 1:
                raise at(e, "not() takes 1 argument")
            return self.expr(ast.Unary("not", e.args[0], span=e.span), scope, agg)
        f = functions.REGISTRY.get(e.name)
        if f is None:
            hint = functions.NOT_SUPPORTED_HINTS.get(e.name)
            hint = "; " + hint if hint else did_you_mean(e.name, functions.REGISTRY)
            raise at(e, f"function '{e.name}' is not supported{hint}")
        if f.aggregate:
            if not agg:
                raise at(e, f"aggregate function '{e.name}' can only be used in summarize")
            if e.name in ("arg_max", "arg_min", "percentiles"):
                raise at(e, f"{e.name}() must be a whole summarize result, e.g. "
                            f"summarize {functions.REGISTRY[e.name].example.split()[-1]}")
        args = self.call_args(f, e, scope, agg=False if f.aggregate else agg)
        folded = self.fold(f, e, args)
        if folded is not None:
            return folded
        rtype = f.returns(args) if callable(f.returns) else f.returns
        if f.check is not None:
            f.check(args)
        return ast.Call(e.name, tuple(args), span=e.span, type=rtype)

    def type_of(self, e: ast.Call) -> ast.Literal:
        """`typeof(long)`: a type, as a function's argument (extract's fourth)."""
        if len(e.args) != 1 or not isinstance(e.args[0], ast.Name) or \
                e.args[0].name not in TYPE_NAMES:
            raise at(e, f"typeof() needs a type name: {', '.join(sorted(TYPE_NAMES))}")
        return ast.Literal(TYPE_NAMES[e.args[0].name], span=e.span, type="typeof")

    def call_args(self, f: functions.Function, e: ast.Call, scope, agg):
        specs = list(f.args)
        required = [s for s in specs if not s.endswith(("?", "*"))]
        variadic = specs and specs[-1].endswith("*")
        maximum = None if variadic else len(specs)
        n = len(e.args)
        if n < len(required) or (maximum is not None and n > maximum):
            want = (f"{len(required)}" if maximum == len(required) else
                    f"{len(required)} to {maximum}" if maximum is not None else
                    f"at least {len(required)}")
            raise at(e, f"{e.name}() takes {want} argument{'s' if want != '1' else ''}, "
                        f"but got {n}")
        out = []
        for i, arg in enumerate(e.args):
            spec = specs[min(i, len(specs) - 1)].rstrip("?*")
            x = self.expr(arg, scope, agg)
            out.append(self.check_arg(e, i, spec, x))
        return out

    def check_arg(self, e, i, spec, x):
        if spec.startswith("const_"):
            kind = spec[len("const_"):]
            ok = isinstance(x, ast.Literal) and x.value is not None and (
                (kind == "string" and x.type == "string") or (kind == "type" and x.type == "typeof")
                or (kind == "long" and x.type in ("int", "long"))
                or (kind == "number" and x.type in NUMERIC))
            if not ok:
                raise at(x, f"argument {i + 1} of {e.name}() must be a constant {kind}")
            return x
        allowed = set()
        for part in spec.split("|"):
            allowed.update(NUMERIC if part == "number" else (part,))
        if spec == "any":
            if x.type == "null":
                return x
            if x.type is None:
                raise at(x, f"argument {i + 1} of {e.name}() has no value")
            return x
        if x.type == "dynamic" and "dynamic" not in allowed:
            order = ["string", "real", "long", "datetime", "timespan", "bool"]
            target = next((t for t in order if t in allowed), "string")
            return convert(x, target)
        if x.type == "null":
            return x
        if x.type in allowed or (x.type == "int" and "long" in allowed) or \
                (x.type in ("int", "long") and "real" in allowed):
            return x
        want = " or ".join(sorted(allowed - {"int"} if "long" in allowed else allowed))
        raise at(x, f"argument {i + 1} of {e.name}() must be a {want}, but this is a {x.type}")

    def fold(self, f, e, args):
        """Folding that keeps SQL simple: todatetime('...') becomes a datetime literal, and a
        conversion function applied to a dynamic value is the same as Kusto's conversion."""
        if f.conversion and args and args[0].type == "dynamic":
            return ast.Convert(args[0], span=e.span, type=f.returns)
        if f.conversion and args and isinstance(args[0], ast.Literal):
            constant = _converted_constant(args[0], f.returns)
            if constant is not None:
                return dataclasses.replace(constant, span=e.span)
        if e.name == "todatetime" and args and isinstance(args[0], ast.Literal) \
                and args[0].type == "string":
            try:
                value = literals.datetime_text(args[0].value)
            except (ValueError, OverflowError):
                value = None
            return ast.Literal(value, span=e.span, type="datetime")
        return None


def _converted_constant(x: ast.Literal, target: str) -> ast.Literal | None:
    """`long(null)`, `int(5)`, `real(1)`, `bool(true)` as literals of the target type (a datatable
    value must be one); None for conversions left to the database."""
    if x.value is None:
        return ast.Literal(None, type=target)
    if target in NUMERIC and x.type in NUMERIC and not isinstance(x.value, bool):
        value = float(x.value) if target == "real" else int(x.value)
        return ast.Literal(value, type=target)
    if target == x.type:
        return x
    return None


def _json_literal(value, span, node) -> ast.Literal:
    if isinstance(value, bool):
        return ast.Literal(value, span=span, type="bool")
    if isinstance(value, int):
        return ast.Literal(value, span=span, type="long")
    if isinstance(value, float):
        return ast.Literal(value, span=span, type="real")
    if isinstance(value, str):
        return ast.Literal(value, span=span, type="string")
    if value is None:
        return ast.Literal(None, span=span, type="null")
    raise at(node, "an 'in' list can hold strings, numbers and bools, not arrays or objects")


def _target(t):
    """The type a dynamic value is converted to when compared with a value of type t."""
    if t in NUMERIC:
        return "real"
    if t in (None, "null"):
        return "string"
    return t


def _has_aggregate(e) -> bool:
    if isinstance(e, ast.Call):
        f = functions.lookup(e.name)
        if f is not None and f.aggregate:
            return True
    for field in dataclasses.fields(e) if dataclasses.is_dataclass(e) else ():
        v = getattr(e, field.name)
        if isinstance(v, ast.Expr) and _has_aggregate(v):
            return True
        if isinstance(v, tuple) and any(isinstance(x, ast.Expr) and _has_aggregate(x) for x in v):
            return True
    return False


def resolve(query: ast.Query, schema: Schema = EVENTS_SCHEMA,
            parameters: Mapping[str, Bound] | None = None) -> ResolvedQuery:
    """`parameters`: name -> the value of each placeholder {{name}} (templates.bind)."""
    return Resolver(schema, query.dialect, parameters).query(query)

