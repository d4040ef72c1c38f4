"""Kusto's default column names: what a result column is called when the query names it not.

A column reference keeps its name; a property path joins its parts (`User.Email` ->
`User_Email`). A conversion (`tostring(Payload.currency)`) and a bin (`bin(EventTime, 1h)`) keep
the name of the value they convert; another function of one named value is named after both
(`strlen(Value)` -> `strlen_Value`). An aggregate is named after its result prefix and its
argument (`count_`, `countif_` of an expression, `sum_Price`, `set_X` for make_set, `list_X`
for make_list, `bag_X` for make_bag, `max_strlen_Value`); take_any keeps its argument's name. Anything else has no name of
its own: the resolver numbers it (`Column1`, ...), and `print` names it after its position
(`print_0`, ...). Two results with the same name: the later one gets a number (`count_1`).
"""
from __future__ import annotations

from . import ast
from .functions import lookup

# functions named after the value they convert or round, as Kusto names them
KEEPS_ARGUMENT = frozenset({
    "tostring", "toint", "int", "tolong", "long", "todouble", "toreal", "real", "double",
    "tobool", "toboolean", "bool", "todatetime", "todynamic", "parse_json", "bin", "floor",
    "take_any",
})
# aggregates whose names start with something other than the function's name
RESULT_PREFIX = {"make_set": "set", "make_list": "list", "make_bag": "bag"}


def _column_path(e: ast.Expr) -> tuple[str, tuple] | None:
    """(column, property path) of a column, or of a property inside one, converted or not."""
    if isinstance(e, ast.ColumnRef):
        return e.name, ()
    if isinstance(e, ast.Convert):
        return _column_path(e.operand)
    if isinstance(e, ast.DynPath):
        inner = _column_path(e.base)
        return None if inner is None else (inner[0], inner[1] + tuple(e.path))
    return None


def path_name(e: ast.Expr) -> str | None:
    """The name of a column or of a property path inside one, if it makes an identifier."""
    found = _column_path(e)
    if found is None:
        return None
    name = "_".join([found[0]] + [str(p) for p in found[1]])
    return name if name.replace("_", "a").isidentifier() else None


def source_text(e: ast.Expr) -> str | None:
    """KQL text reading the column or property `e` reads (`Payload.a['b-c'][0]`), for hints."""
    found = _column_path(e)
    if found is None:
        return None
    text = found[0]
    for key in found[1]:
        if isinstance(key, int):
            text += f"[{key}]"
        elif key.isidentifier():
            text += f".{key}"
        else:
            text += "['" + key.replace("\\", "\\\\").replace("'", "\\'") + "']"
    return text


def default_name(e: ast.Expr, aggregate: bool) -> str | None:
    """Kusto's name for the value of `e`, or None where Kusto numbers the column."""
    name = path_name(e)
    if name is not None or not isinstance(e, ast.Call):
        return name
    if e.name == "percentile" and len(e.args) == 2 and isinstance(e.args[1], ast.Literal):
        return percentile_name(e.args[0], e.args[1].value)
    if e.name in KEEPS_ARGUMENT:
        return default_name(e.args[0], aggregate) if e.args else None
    inner = default_name(e.args[0], aggregate) if e.args else None
    prefix = RESULT_PREFIX.get(e.name, e.name)
    if aggregate and _is_aggregate_call(e):
        return f"{prefix}_{inner}" if inner else f"{prefix}_"
    if len(e.args) == 1 and inner:
        return f"{prefix}_{inner}"
    return None


def percentile_name(e: ast.Expr, percentage) -> str:
    """`percentile_Price_95`, `percentile_Price_99_9`: the percentage's dot becomes '_'."""
    text = f"{percentage:g}" if isinstance(percentage, float) else str(percentage)
    return f"percentile_{path_name(e) or default_name(e, True) or ''}_" + \
        text.replace(".", "_").replace("-", "_")


def column_number(position: int, count: int) -> str:
    """The name of the count-th unnamed result: Column1, Column2, ..."""
    return f"Column{count}"


def print_position(position: int, count: int) -> str:
    """The name of a `print` result without one: print_ and its position from 0."""
    return f"print_{position}"


def numbered(name: str, taken) -> str:
    """`name`, or with the smallest number appended that makes it new."""
    if name not in taken:
        return name
    n = 1
    while f"{name}{n}" in taken:
        n += 1
    return f"{name}{n}"


def _is_aggregate_call(e: ast.Call) -> bool:
    f = lookup(e.name)
    return f is not None and f.aggregate
