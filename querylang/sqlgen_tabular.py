"""The SQL of what gives rows besides the operator's input: sources (the table, `datatable`,
`print`, `range`, `union`) and the operators `union`, `join`, `mv-expand` and `parse`.

A pipeline a join or a union reads is the generator's `nested` SQL: a subquery of the one
SELECT, reading the table through the same `source_sql` as the main query (so, through the
server's scope-confined source), with the same parameters. A datatable's values are bound as one
list parameter a column. Nothing here checks anything: the resolver has
(resolve_tabular.py).
"""
from __future__ import annotations

import json

from . import ast, nullrules
from .functions import SQL_TYPES, from_text
from .sqlgen_strings import regex_literal
from .sqlselect import Select, render
from .sqltext import quote_ident


def _named(source: str, columns) -> Select:
    """A SELECT over `source` whose columns are its own, by name."""
    return Select(source, [(c.name, quote_ident(c.name), c.type) for c in columns])


# ---------------------------------------------------------------- sources
def source_select(g, rq):
    """The first SELECT of a pipeline: over the table, or over the rows its source makes."""
    source = rq.source
    if source is None:
        return Select(f"{g.source_sql} AS _e",
                      [(c.name, quote_ident(c.name), c.type) for c in rq.base], base=True)
    if isinstance(source, ast.UnionRows):
        parts = [(g.nested(t), t.columns) for t in source.tables]
        return _named(f"{_union_sql(g, parts, rq.base)} AS {g.alias('_u')}", rq.base)
    if isinstance(source, ast.PrintRow):
        return Select(f"(SELECT 1) AS {g.alias('_p')}",
                      [(a.name, g.expr(a.expr, {}), a.expr.type) for a in source.items])
    if isinstance(source, ast.RangeRows):
        return _named(f"{_range_sql(g, source, rq.base[0].type)} AS {g.alias('_r')}", rq.base)
    return _named(f"{_datatable_sql(g, source)} AS {g.alias('_d')}", rq.base)


def _datatable_sql(g, t: ast.DataTable) -> str:
    """One list parameter a column, unnested side by side: one row a position."""
    width = len(t.columns)
    items = []
    for j, c in enumerate(t.columns):
        values = [v.value for v in t.values[j::width]]
        if c.type == "dynamic":
            values = [None if v is None else json.dumps(v, separators=(",", ":"),
                                                        ensure_ascii=False) for v in values]
        name = f"p{len(g.params)}"
        g.params[name] = values
        items.append(f"unnest(CAST(${name} AS {SQL_TYPES[c.type]}[])) AS {quote_ident(c.name)}")
    return f"(SELECT {', '.join(items)})"


def _range_sql(g, r: ast.RangeRows, kind: str) -> str:
    start, stop, step = (g.expr(x, {}) for x in (r.start, r.stop, r.step))
    name = quote_ident(r.name)
    if kind in ("long", "datetime"):  # generate_series counts both, stop included
        return f"(SELECT generate_series AS {name} FROM generate_series({start}, {stop}, {step}))"
    count = (f"floor(epoch_us({stop} - {start}) / epoch_us({step}))" if kind == "timespan"
             else f"floor(({stop} - {start}) / {step})")
    return (f"(SELECT {start} + i * {step} AS {name} "
            f"FROM generate_series(0, CAST({count} AS BIGINT)) AS _i(i))")


# ---------------------------------------------------------------- union
def _union_sql(g, parts, columns) -> str:
    """The rows of every part, each with every column of `columns` (null where it has none)."""
    selects = []
    for sql, own in parts:
        have = {c.name for c in own}
        items = [quote_ident(c.name) if c.name in have else
                 f"CAST(NULL AS {SQL_TYPES[c.type]}) AS {quote_ident(c.name)}" for c in columns]
        selects.append(f"SELECT {', '.join(items)} FROM ({sql}) AS {g.alias('_a')}")
    return "(" + "\nUNION ALL\n".join(selects) + ")"


def op_union(g, op: ast.Union, cols):
    current = [ast.OutputColumn(n, t) for n, _, t in g.sel.cols]
    parts = [(render(g.sel, g), current)] + [(g.nested(t), t.columns) for t in op.tables]
    g.sel = _named(f"{_union_sql(g, parts, cols)} AS {g.alias('_u')}", cols)


# ---------------------------------------------------------------- join
_JOINS = {"innerunique": "JOIN", "inner": "JOIN", "leftouter": "LEFT JOIN",
          "rightouter": "RIGHT JOIN", "fullouter": "FULL JOIN", "leftsemi": "SEMI JOIN",
          "leftanti": "ANTI JOIN", "rightsemi": "SEMI JOIN", "rightanti": "ANTI JOIN"}


def _key(alias: str, name: str, type_: str) -> str:
    """A join key: in KQL a missing string is '' and matches ''."""
    sql = f"{alias}.{quote_ident(name)}"
    return nullrules.text(sql) if type_ == "string" else sql


def op_join(g, op: ast.Join, cols):
    left_cols = list(g.sel.cols)
    left_types = {n: t for n, _, t in left_cols}
    left, right = g.alias("_l"), g.alias("_r")
    left_sql = render(g.sel, g)
    if op.kind == "innerunique":  # Kusto keeps one left row of each key
        keys = ", ".join(_key("_k", k.left, left_types[k.left]) for k in op.on)
        left_sql = (f"SELECT * FROM ({left_sql}) AS _k "
                    f"QUALIFY row_number() OVER (PARTITION BY {keys}) = 1")
    on = " AND ".join(f"{_key(left, k.left, left_types[k.left])} = "
                      f"{_key(right, k.right, left_types[k.left])}" for k in op.on)
    sides = [f"({left_sql}) AS {left}", f"({g.nested(op.right)}) AS {right}"]
    if op.kind.startswith("right") and op.kind != "rightouter":
        sides.reverse()  # rightsemi/rightanti: the right side's rows that have (no) match
    source = f"{sides[0]} {_JOINS[op.kind]} {sides[1]} ON {on}"
    if op.kind in ("leftsemi", "leftanti"):
        out = [(n, f"{left}.{quote_ident(n)}", t) for n, _, t in left_cols]
    elif op.kind in ("rightsemi", "rightanti"):
        out = [(c.name, f"{right}.{quote_ident(c.name)}", c.type) for c in op.right.columns]
    else:  # the left columns, then the right ones under their (numbered) result names
        out = [(n, f"{left}.{quote_ident(n)}", t) for n, _, t in left_cols]
        out += [(c.name, f"{right}.{quote_ident(r.name)}", c.type)
                for c, r in zip(cols[len(left_cols):], op.right.columns)]
    g.sel = Select(source, out)


# ---------------------------------------------------------------- mv-expand
_BAG = "MAP(VARCHAR, JSON)"


def _elements(x: str, bag_kind: str, limit: str | None) -> str:
    """The list mv-expand makes rows of: an array's elements, a bag's properties (as bags of
    one property, or [key, value] arrays), any other value (null included) alone."""
    entry = "json_object(e.key, e.value)" if bag_kind == "bag" else "json_array(e.key, e.value)"
    elements = (f"(CASE json_type({x}) WHEN 'ARRAY' THEN CAST({x} AS JSON[]) "
                f"WHEN 'OBJECT' THEN list_transform(map_entries(CAST({x} AS {_BAG})), "
                f"e -> {entry}) ELSE [{x}] END)")
    return elements if limit is None else f"{elements}[1:{limit}]"


def _typed_elements(elements: str, kind: str) -> str:
    if kind == "dynamic":
        return elements
    text = "json_extract_string(v, '$')"
    value = text if kind == "string" else f"TRY_CAST({text} AS {SQL_TYPES[kind]})"
    return f"list_transform({elements}, v -> {value})"


def op_mv_expand(g, op: ast.MvExpand, cols):
    g.wrap()  # rows multiply: what follows reads the expanded rows by name
    env = g.sel.env()
    limit = g.param(int(op.limit.value), "long", cast=False) if op.limit is not None else None
    lists = {i.name: (_elements(g.expr(i.expr, env), op.bag_kind, limit), i.to_type)
             for i in op.items}
    # several lists unnest side by side, the shorter ones padded with nulls
    expanded = {name: f"unnest({_typed_elements(elements, kind)})"
                for name, (elements, kind) in lists.items()}
    if op.index is not None:
        longest = ", ".join(f"len({elements})" for elements, _ in lists.values())
        expanded[op.index] = f"unnest(range(greatest({longest})))"
    g.sel.cols = [(c.name, expanded.get(c.name, env.get(c.name)), c.type) for c in cols]
    g.wrap()


# ---------------------------------------------------------------- parse
_TYPED = {"long": r"-?\d+", "int": r"-?\d+", "real": r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?",
          "bool": r"(?i:true|false)"}


def capturing_groups(regex: str) -> int:
    """How many groups of an RE2 pattern capture: `(` unescaped, outside a character class,
    not `(?`... unless a named group `(?P<`."""
    count, i, in_class = 0, 0, False
    while i < len(regex):
        ch = regex[i]
        if ch == "\\":
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
            i += 1 + (regex[i + 1:i + 2] == "]")  # a leading ] is a member
            continue
        elif ch == "(" and (regex[i + 1:i + 2] != "?" or regex[i + 1:i + 4] == "?P<"):
            count += 1
        i += 1
    return count


def parse_regex(op: ast.Parse) -> tuple[str, list[int]]:
    """The regular expression of a parse pattern and the group of each column: its texts
    literally (as regexes with kind=regex), `*` any text, each column a group of what its type
    can hold (kind=relaxed: that, or else any text, which becomes null if it does not convert)."""
    lazy = "" if op.kind == "regex" else "?"
    out = [f"(?{op.flags})"] if op.flags else []
    if op.pattern[0] is not None and op.kind != "regex":
        out.append("^")
    groups, seen = [], 0
    for position, part in enumerate(op.pattern):
        last = position == len(op.pattern) - 1
        if part is None:
            text = f".*{lazy}"
        elif isinstance(part, str):
            text = part if op.kind == "regex" else regex_literal(part)
        else:
            text = "(.*)" if last else f"(.*{lazy})"
            if part.type in _TYPED:
                other = "|.*?" if op.kind == "relaxed" else ""
                text = f"({_TYPED[part.type]}{other})"
            groups.append(seen + 1)
        seen += capturing_groups(text)
        out.append(text)
    return "".join(out), groups


def _typed(text: str, kind: str) -> str:
    return text if kind == "string" else from_text(f"NULLIF({text}, '')", kind)


def _strict(texts: dict[str, str], columns) -> dict[str, str]:
    """Simple and regex parses are strict: every typed column must convert, or the text is not
    parsed at all ('' and nulls). The regex already holds numbers and bools to their type; a
    datetime or timespan column is checked here, once its text is converted."""
    values = {c.name: _typed(texts[c.name], c.type) for c in columns}
    checked = [c.name for c in columns if c.type in ("datetime", "timespan")]
    if not checked:
        return values
    failed = " OR ".join(f"({values[n]} IS NULL AND {texts[n]} <> '')" for n in checked)
    unparsed = {c.name: "''" if c.type == "string" else "NULL" for c in columns}
    return {n: f"(CASE WHEN {failed} THEN {unparsed[n]} ELSE {values[n]} END)" for n in values}


def op_parse(g, op: ast.Parse, cols):
    if g.sel.distinct or g.sel.group_by is not None:
        g.wrap()
    env = g.sel.env()
    text = g.expr(op.expr, env)
    regex, groups = parse_regex(op)
    pattern = g.param(regex, "string")
    columns = [p for p in op.pattern if isinstance(p, ast.ColumnDecl)]
    texts = {c.name: f"regexp_extract({text}, {pattern}, {group})"
             for c, group in zip(columns, groups)}
    new = ({c.name: _typed(texts[c.name], c.type) for c in columns} if op.kind == "relaxed"
           else _strict(texts, columns))
    g.sel.cols = [(c.name, new.get(c.name, env.get(c.name)), c.type) for c in cols]
