"""The resolver's handlers of rows that do not come from the operator's input: the sources
(`datatable`, `print`, `range`, `union`) and the operators that read another pipeline (`union`,
`join`) or make rows of their own (`mv-expand`, `parse`).

A pipeline they read is resolved like the query itself (`Resolver.tabular`) and kept inside the
resolved operator; every table it names is the schema's table, so the generator reads it through
the same source the main query reads. Knows nothing of SQL.
"""
from __future__ import annotations

import dataclasses

from . import ast, naming
from .errors import at, did_you_mean
from .functions import NUMERIC, check_regex, unify
from .schema import TYPE_NAMES
from .sqlgen_tabular import parse_regex

# the join kinds whose result holds one side's columns only
_LEFT_ONLY = ("leftanti", "leftsemi")
_RIGHT_ONLY = ("rightanti", "rightsemi")


def type_named(node, name: str, what: str) -> str:
    """The KQL type a query spells `name` (datatable and parse columns, typeof())."""
    kind = TYPE_NAMES.get(name)
    if kind is None:
        raise at(node, f"type '{name}' is not supported in {what}; use one of "
                       f"{', '.join(sorted(TYPE_NAMES))}")
    return kind


class TabularOperators:
    """Mixed into the Resolver, whose `expr`, `items`, `need`, `groupable`, `const_count`,
    `tabular` and `table` these use."""

    # ------------------------------------------------------------ sources
    def source(self, src: ast.Tabular):
        """(the resolved source, or None for the table itself; its columns: name -> type)."""
        handler = {ast.TableRef: self.table, ast.DataTable: self.datatable,
                   ast.PrintRow: self.print_row, ast.RangeRows: self.range_rows,
                   ast.UnionRows: self.union_rows}[type(src)]
        return handler(src)

    def datatable(self, t: ast.DataTable):
        columns = tuple(dataclasses.replace(c, type=type_named(c, c.type, "datatable"))
                        for c in t.columns)
        names = [c.name for c in columns]
        for i, name in enumerate(names):
            if name in names[:i]:
                raise at(columns[i], f"the column name '{name}' is used twice")
        if len(t.values) % len(columns):
            raise at(t, f"datatable has {len(t.values)} values for {len(columns)} columns: "
                        f"each row needs a value for every column")
        values = tuple(self.cell(v, columns[i % len(columns)]) for i, v in enumerate(t.values))
        return (dataclasses.replace(t, columns=columns, values=values),
                {c.name: c.type for c in columns})

    def cell(self, value: ast.Expr, column: ast.ColumnDecl) -> ast.Literal:
        """A datatable value as a literal of its column's type."""
        x = self.expr(value, {})
        if not isinstance(x, ast.Literal):
            raise at(value, "a datatable value must be a constant, such as 1, 'text', "
                            "datetime(2024-01-01) or long(null)")
        kind = column.type
        if x.value is None:
            return ast.Literal(None, span=x.span, type=kind)
        fits_int = x.type == "long" and -2**31 <= x.value < 2**31
        if x.type == kind or (kind == "long" and x.type == "int") or (kind == "int" and fits_int):
            return dataclasses.replace(x, type=kind)
        if kind == "real" and x.type in NUMERIC:
            return ast.Literal(float(x.value), span=x.span, type=kind)
        if kind == "dynamic" and x.type in ("string", "long", "int", "real", "bool"):
            return ast.Literal(x.value, span=x.span, type=kind)
        raise at(value, f"column '{column.name}' holds {kind} values, but this is a {x.type}")

    def print_row(self, t: ast.PrintRow):
        items = self.items(t.items, {}, sequential=False, unnamed=naming.print_position)
        return (dataclasses.replace(t, items=tuple(items)),
                {a.name: a.expr.type for a in items})

    def range_rows(self, t: ast.RangeRows):
        start, stop, step = (self.expr(x, {}) for x in (t.start, t.stop, t.step))
        kind = unify([start.type, stop.type], t, "bounds of range")
        if kind in NUMERIC:
            kind = "real" if "real" in (kind, step.type) else "long"
            steps = NUMERIC
        elif kind in ("datetime", "timespan"):
            steps = ("timespan",)
        else:
            raise at(t, f"range counts numbers, datetimes or timespans, not {kind}s")
        if not (isinstance(step, ast.Literal) and step.type in steps and step.value):
            raise at(t.step, f"range needs a constant step other than 0 "
                             f"({'a number' if steps == NUMERIC else 'a timespan such as 1d'})")
        return (dataclasses.replace(t, start=start, stop=stop, step=step),
                {t.name: kind})

    def union_rows(self, t: ast.UnionRows):
        tables = tuple(self.tabular(x) for x in t.tables)
        inputs = [{c.name: c.type for c in table.columns} for table in tables]
        return dataclasses.replace(t, tables=tables), self.union_columns(t, inputs)

    # ------------------------------------------------------------ operators
    def op_Union(self, op: ast.Union, scope):
        tables = tuple(self.tabular(x) for x in op.tables)
        inputs = [scope] + [{c.name: c.type for c in table.columns} for table in tables]
        return dataclasses.replace(op, tables=tables), self.union_columns(op, inputs)

    def union_columns(self, node, inputs) -> dict[str, str]:
        """Kusto's union: every column of any input (kind=outer) or of all (kind=inner), in
        the order first seen."""
        out: dict[str, str] = {}
        for columns in inputs:
            for name, kind in columns.items():
                if out.setdefault(name, kind) != kind:
                    raise at(node, f"column '{name}' is a {out[name]} in one input of union "
                                   f"and a {kind} in another: a union of different types is "
                                   f"not supported; convert one, e.g. with tostring()")
        if node.kind == "inner":
            out = {n: t for n, t in out.items() if all(n in columns for columns in inputs)}
            if not out:
                raise at(node, "union kind=inner keeps the columns every input has, and these "
                               "have none in common")
        return out

    def op_Join(self, op: ast.Join, scope):
        right = self.tabular(op.right)
        right_scope = {c.name: c.type for c in right.columns}
        for key in op.on:
            self.join_key(key, scope, right_scope)
        if op.kind in _LEFT_ONLY:
            out = dict(scope)
        elif op.kind in _RIGHT_ONLY:
            out = dict(right_scope)
        else:  # both sides; a right column whose name is taken gets a number (Key1)
            out = dict(scope)
            for name, kind in right_scope.items():
                out[naming.numbered(name, out)] = kind
        return dataclasses.replace(op, right=right), out

    def join_key(self, key: ast.JoinKey, scope, right_scope) -> None:
        self.need(key.left, scope, key)
        if key.right not in right_scope:
            raise at(key, f"unknown column '{key.right}' on the right side of join"
                          f"{did_you_mean(key.right, right_scope)}")
        left, right = scope[key.left], right_scope[key.right]
        self.groupable(ast.ColumnRef(key.left, span=key.span, type=left), "join on")
        if left != right and not (left in NUMERIC and right in NUMERIC):
            raise at(key, f"cannot join a {left} ('{key.left}') with a {right} "
                          f"('{key.right}'); convert one side first")

    def op_MvExpand(self, op: ast.MvExpand, scope):
        out = dict(scope)
        items = []
        for item in op.items:
            e = self.expr(item.expr, scope)
            if e.type != "dynamic":
                raise at(item.expr, f"mv-expand expands a dynamic array or property bag, but "
                                    f"this is a {e.type}")
            name = item.name or naming.path_name(e)
            if name is None:
                raise at(item, "name the expanded values, e.g. mv-expand tag = Payload.tags")
            kind = type_named(item, item.to_type, "typeof()") if item.to_type else "dynamic"
            out[name] = kind
            items.append(ast.MvExpandItem(name, e, kind, span=item.span))
        limit = self.const_count(op.limit, scope, "limit") if op.limit is not None else None
        if op.index is not None:
            out[op.index] = "long"
        return dataclasses.replace(op, items=tuple(items), limit=limit), out

    def op_Parse(self, op: ast.Parse, scope):
        e = self.expr(op.expr, scope)
        if e.type != "string":  # Kusto parses the value's text
            e = self.expr(ast.Call("tostring", (op.expr,), span=op.expr.span), scope)
        out = dict(scope)
        pattern = []
        for position, part in enumerate(op.pattern):
            if isinstance(part, ast.ColumnDecl):
                part = dataclasses.replace(part, type=type_named(part, part.type, "parse"))
                if part.name in (p.name for p in pattern if isinstance(p, ast.ColumnDecl)):
                    raise at(part, f"the column name '{part.name}' is used twice")
                out[part.name] = part.type
            elif part is None and position and isinstance(pattern[-1], ast.ColumnDecl) \
                    and pattern[-1].type == "string":
                raise at(op, "in parse, '*' cannot follow a string column: the column would "
                             "take the text '*' skips")
            pattern.append(part)
        if not any(isinstance(p, ast.ColumnDecl) for p in pattern):
            raise at(op, "parse needs at least one column to extract, e.g. "
                         "parse Value with 'id=' id:long")
        resolved = dataclasses.replace(op, expr=e, pattern=tuple(pattern))
        if op.kind == "regex":  # its texts are regexes: the whole one must read
            check_regex(op, parse_regex(resolved)[0])
        return resolved, out
