"""The one registry of KQL functions: name, arity, argument types, result type, DuckDB SQL.

A new function is one row here (and one test, and one line in docs/kql.md). Anything not in this
table is "not supported"; the compiler never falls back to something close.

Argument specs: a KQL type name, several joined by '|', 'number' (int|long|real), 'any',
'const_string' / 'const_long' (must be a constant). A trailing '?' makes an argument optional and a
trailing '*' lets it repeat. A `dynamic` argument given where a scalar type is expected is
converted the way Kusto converts it (the resolver inserts a Convert node).

`check`, when set, is called by the resolver with the typed arguments and raises QueryError for
what their types alone do not rule out (a bin size that is not a positive constant, an unknown
period...). So `sql` never fails: it is a format string over the arguments' SQL ({0}, {1}, ...)
or a function (gen, args_sql, args) -> SQL, where `gen` offers `param(value, type)` and `now()`.
A `conversion` is Kusto's conversion of a dynamic value to its result type when given one.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Callable, Union

from . import ast
from .errors import at

NUMERIC = ("int", "long", "real")
SQL_TYPES = {
    "string": "VARCHAR", "long": "BIGINT", "int": "INTEGER", "real": "DOUBLE", "bool": "BOOLEAN",
    "datetime": "TIMESTAMP", "timespan": "INTERVAL", "dynamic": "JSON",
}

SqlTemplate = Union[str, Callable]


@dataclass(frozen=True)
class Function:
    name: str
    args: tuple[str, ...]
    returns: str | Callable  # a type name, or (args) -> type name
    sql: SqlTemplate
    aggregate: bool = False
    example: str = ""
    check: Callable | None = None  # (args) -> None, or raises QueryError
    conversion: bool = False


REGISTRY: dict[str, Function] = {}


def fn(name, args, returns, sql, *, aggregate=False, example="", aliases=(), check=None,
       conversion=False):
    for each in (name, *aliases):
        REGISTRY[each] = Function(each, tuple(args), returns, sql, aggregate, example, check,
                                  conversion)
    return REGISTRY[name]


# ---------------------------------------------------------------- type helpers
def unify(types, node=None, what="arguments") -> str:
    """The common type of several values (numbers widen to long/real; null fits anything)."""
    kinds = [t for t in types if t not in (None, "null")]
    if not kinds:
        return "string"
    if all(t == kinds[0] for t in kinds):
        return kinds[0]
    if all(t in NUMERIC for t in kinds):
        return "real" if "real" in kinds else "long"
    raise at(node, f"the {what} have different types ({', '.join(dict.fromkeys(kinds))})")


def same_as(i):
    return lambda args: args[i].type


def _unify_from(start, step=1, last=None):
    def rule(args):
        picked = list(args[start::step])
        if last is not None and len(args) > last:
            picked.append(args[-1])
        return unify([a.type for a in picked], args[0] if args else None, "results")
    return rule


def cast(sql: str, type_: str) -> str:
    return f"CAST({sql} AS {SQL_TYPES[type_]})"


# ---------------------------------------------------------------- date and time
_TRUNC = {"day": "day", "week": "week", "month": "month", "year": "year"}
_STEP = {"day": "to_days", "week": "to_weeks", "month": "to_months", "year": "to_years"}


def _start_of(unit):
    def sql(g, a, args):
        # with an offset: shift first, then truncate, so it counts whole units from the start
        value = f"({a[0]} + {_STEP[unit]}(CAST({a[1]} AS INTEGER)))" if len(a) > 1 else a[0]
        if unit == "week":
            return _sunday_of(value)
        return f"CAST(date_trunc('{unit}', {value}) AS TIMESTAMP)"
    return sql


def _end_of(unit):
    start = _start_of(unit)

    def sql(g, a, args):
        return f"({start(g, a, args)} + {_STEP[unit]}(1) - INTERVAL 1 MICROSECOND)"
    return sql


for _u in ("day", "week", "month", "year"):
    fn(f"startof{_u}", ["datetime", "long?"], "datetime", _start_of(_u),
       example=f"startof{_u}(EventTime)")
    fn(f"endof{_u}", ["datetime", "long?"], "datetime", _end_of(_u),
       example=f"endof{_u}(EventTime, -1)")

_PERIODS = {
    "year": ("year", "to_years", 1), "quarter": ("quarter", "to_months", 3),
    "month": ("month", "to_months", 1), "week": ("week", "to_weeks", 1),
    "day": ("day", "to_days", 1), "hour": ("hour", "to_hours", 1),
    "minute": ("minute", "to_minutes", 1), "second": ("second", "to_seconds", 1),
    "millisecond": ("millisecond", "to_milliseconds", 1),
    "microsecond": ("microsecond", "to_microseconds", 1),
}
_PERIOD_ALIASES = {"yy": "year", "yyyy": "year", "qq": "quarter", "q": "quarter", "mm": "month",
                   "m": "month", "wk": "week", "ww": "week", "dd": "day", "d": "day",
                   "hh": "hour", "mi": "minute", "n": "minute", "ss": "second", "s": "second",
                   "ms": "millisecond", "mcs": "microsecond"}


def _period_name(value) -> str:
    raw = str(value).strip().lower()
    return _PERIOD_ALIASES.get(raw, raw.rstrip("s") if raw.rstrip("s") in _PERIODS else raw)


def _check_period(args):
    if _period_name(args[0].value) in ("nanosecond", "ns", "nanoseconds"):
        raise at(args[0], "the period 'nanosecond' is not supported: datetimes have "
                          "microsecond precision")
    if _period_name(args[0].value) not in _PERIODS:
        raise at(args[0], f"unknown period '{args[0].value}'; expected one of "
                          f"{', '.join(_PERIODS)}")


def period(args, i):
    return _PERIODS[_period_name(args[i].value)]


def _datetime_add(g, a, args):
    _, step, mult = period(args, 0)
    amount = f"CAST({a[1]} AS INTEGER)" if mult == 1 else f"CAST({a[1]} AS INTEGER) * {mult}"
    return f"({a[2]} + {step}({amount}))"


def _sunday_of(sql: str) -> str:
    """The start of the Sunday-based week holding `sql` (startofweek)."""
    return f"(date_trunc('day', {sql}) - to_days(CAST(dayofweek({sql}) AS INTEGER)))"


def _datetime_diff(g, a, args):
    part, _, _ = period(args, 0)
    if part == "week":  # Kusto counts the Sundays crossed; DuckDB's weeks are whole 7 days
        return f"(date_diff('day', {_sunday_of(a[2])}, {_sunday_of(a[1])}) // 7)"
    return f"date_diff('{part}', {a[2]}, {a[1]})"


# Kusto format_datetime specifiers -> strftime
_FORMAT = [("yyyy", "%Y"), ("yy", "%y"), ("MM", "%m"), ("M", "%-m"), ("dd", "%d"), ("d", "%-d"),
           ("HH", "%H"), ("H", "%-H"), ("hh", "%I"), ("h", "%-I"), ("mm", "%M"), ("m", "%-M"),
           ("ss", "%S"), ("s", "%-S"), ("ffffff", "%f"), ("fff", "%g"), ("tt", "%p")]
_FORMAT_SEPARATORS = set(" /-:,._[]T'")


def kusto_format_to_strftime(fmt: str) -> tuple[str, str | None]:
    """(the strftime format, the first character that is neither a specifier nor a separator)."""
    out, i, unsupported = [], 0, None
    while i < len(fmt):
        for token, spec in _FORMAT:
            if fmt.startswith(token, i):
                out.append(spec)
                i += len(token)
                break
        else:
            ch = fmt[i]
            if ch not in _FORMAT_SEPARATORS and unsupported is None:
                unsupported = ch
            out.append(ch)
            i += 1
    return "".join(out), unsupported


def _check_format(args):
    _, ch = kusto_format_to_strftime(str(args[1].value))
    if ch is not None:
        raise at(args[1], f"format specifier '{ch}' is not supported in format_datetime "
                          f"(use yyyy, yy, MM, M, dd, d, HH, H, hh, h, mm, m, ss, s, fff, "
                          f"ffffff, tt)")


def _format_datetime(g, a, args):
    fmt, _ = kusto_format_to_strftime(str(args[1].value))
    return f"strftime({a[0]}, {g.param(fmt, 'string')})"


_EPOCH_OFFSET_US = 62135596800000000  # 0001-01-01 .. 1970-01-01: Kusto bins count from year 1


# Bin sizes whose bins, counted from 0001-01-01 as Kusto does, start exactly where date_trunc's
# do, so date_trunc, DuckDB's fastest path, gives the same bins as the general arithmetic below
# (bench/NOTES.md#compile-bins-by-date_trunc).
_TRUNCATABLE = {
    timedelta(days=1): "day", timedelta(hours=1): "hour", timedelta(minutes=1): "minute",
    timedelta(seconds=1): "second", timedelta(milliseconds=1): "millisecond",
}


class GroupedBy(str):
    """SQL text of a value, which a GROUP BY should group by `group` (the cheaper key it is
    computed from) rather than by the value itself."""

    def __new__(cls, sql: str, group: str):
        text = super().__new__(cls, sql)
        text.group = group
        return text


def _truncated_unit(size: ast.Expr) -> str | None:
    return _TRUNCATABLE.get(size.value) if isinstance(size, ast.Literal) else None


def _check_bin(args):
    kind, size = args[0].type, args[1]
    if kind in NUMERIC:
        if size.type not in NUMERIC:
            raise at(size, "bin() of a number needs a number size")
        return
    if kind not in ("datetime", "timespan"):
        raise at(args[0], f"bin() works on numbers, datetimes and timespans, not {kind}")
    if kind == "datetime" and size.type != "timespan":
        raise at(size, "bin() of a datetime needs a timespan size, e.g. bin(EventTime, 1h)")
    if kind == "datetime" and _truncated_unit(size) is not None:
        return
    if not (isinstance(size, ast.Literal) and isinstance(size.value, timedelta)):
        raise at(size, "the bin size must be a constant timespan, e.g. 1h")
    if size.value // timedelta(microseconds=1) <= 0:
        raise at(size, "the bin size must be positive")


def _bin(g, a, args):
    kind, size = args[0].type, args[1]
    if kind in NUMERIC:
        result = "real" if "real" in (kind, size.type) else "long"
        return cast(f"floor({a[0]} / {a[1]}) * {a[1]}", result)
    unit = _truncated_unit(size) if kind == "datetime" else None
    if unit is not None:
        # date_trunc('day', ...) is a DATE: group by it, and cast only the groups.
        truncated = f"date_trunc('{unit}', {a[0]})"
        return GroupedBy(f"CAST({truncated} AS TIMESTAMP)", truncated)
    us = g.param(size.value // timedelta(microseconds=1), "long")
    if kind == "timespan":
        return f"to_microseconds((epoch_us({a[0]}) // {us}) * {us})"
    return (f"make_timestamp(((epoch_us({a[0]}) + {_EPOCH_OFFSET_US}) // {us}) * {us}"
            f" - {_EPOCH_OFFSET_US})")


def _bin_type(args):
    if args[0].type in ("datetime", "timespan"):
        return args[0].type
    return "real" if "real" in (args[0].type, args[1].type) else "long"


for _name in ("bin", "floor"):
    fn(_name, ["number|datetime|timespan", "number|timespan"], _bin_type, _bin,
       example=f"{_name}(EventTime, 1h)", check=_check_bin)

fn("make_datetime", ["long", "long", "long", "long?", "long?", "number?"], "datetime",
   lambda g, a, args: "TRY(make_timestamp(" + ", ".join(
       f"CAST({x} AS {t})" for x, t in zip(a + ["0"] * (6 - len(a)),
                                           ["BIGINT"] * 5 + ["DOUBLE"])) + "))",
   example="make_datetime(2024, 1, 31)")
fn("now", ["timespan?"], "datetime",
   lambda g, a, args: f"({g.now()} + {a[0]})" if a else g.now(), example="now()")
fn("ago", ["timespan"], "datetime", lambda g, a, args: f"({g.now()} - {a[0]})", example="ago(7d)")
fn("datetime_add", ["const_string", "long", "datetime"], "datetime", _datetime_add,
   example="datetime_add('day', 7, EventTime)", check=_check_period)
fn("datetime_diff", ["const_string", "datetime", "datetime"], "long", _datetime_diff,
   example="datetime_diff('day', now(), EventTime)", check=_check_period)
fn("dayofweek", ["datetime"], "timespan", "to_days(CAST(dayofweek({0}) AS INTEGER))",
   example="dayofweek(EventTime) == 1d")
fn("getmonth", ["datetime"], "int", "CAST(month({0}) AS INTEGER)", example="getmonth(EventTime)",
   aliases=("monthofyear",))
fn("getyear", ["datetime"], "int", "CAST(year({0}) AS INTEGER)", example="getyear(EventTime)")
fn("hourofday", ["datetime"], "int", "CAST(hour({0}) AS INTEGER)", example="hourofday(EventTime)")
fn("format_datetime", ["datetime", "const_string"], "string", _format_datetime,
   example="format_datetime(EventTime, 'yyyy-MM-dd HH:mm')", check=_check_format)


# ---------------------------------------------------------------- conversions
def tostring_sql(sql: str, type_: str) -> str:
    if type_ == "string":
        return sql
    if type_ == "datetime":
        return f"strftime({sql}, '%Y-%m-%dT%H:%M:%S.%f0Z')"
    if type_ == "dynamic":
        return f"json_extract_string({sql}, '$')"
    if type_ == "bool":
        return f"CASE WHEN {sql} THEN 'true' WHEN NOT {sql} THEN 'false' END"
    return f"CAST({sql} AS VARCHAR)"


def _to_number(target):
    def sql(g, a, args):
        t = args[0].type
        if t in ("real",) and target in ("int", "long"):
            return f"TRY_CAST(trunc({a[0]}) AS {SQL_TYPES[target]})"
        if t == "bool":
            return f"CAST({a[0]} AS {SQL_TYPES[target]})"
        if t == "dynamic":
            inner = f"json_extract_string({a[0]}, '$')"
            if target in ("int", "long"):
                return f"TRY_CAST(trunc(TRY_CAST({inner} AS DOUBLE)) AS {SQL_TYPES[target]})"
            return f"TRY_CAST({inner} AS {SQL_TYPES[target]})"
        if t == "string" and target in ("int", "long"):
            return f"TRY_CAST(trunc(TRY_CAST({a[0]} AS DOUBLE)) AS {SQL_TYPES[target]})"
        return f"TRY_CAST({a[0]} AS {SQL_TYPES[target]})"
    return sql


def _check_number_source(target):
    def check(args):
        if args[0].type in ("datetime", "timespan"):
            raise at(args[0], f"cannot convert a {args[0].type} to {target}")
    return check


def _tobool(g, a, args):
    t = args[0].type
    if t == "bool":
        return a[0]
    if t in NUMERIC:
        return f"({a[0]} <> 0)"
    src = a[0] if t == "string" else f"json_extract_string({a[0]}, '$')"
    return f"TRY_CAST({src} AS BOOLEAN)"


def datetime_from_text(sql: str) -> str:
    """Kusto's reading of a datetime's text: ISO 8601, or US month/day/year."""
    return (f"COALESCE(TRY_CAST({sql} AS TIMESTAMP), "
            f"try_strptime({sql}, ['%m/%d/%Y %H:%M:%S', '%m/%d/%Y', '%m-%d-%Y %H:%M:%S', "
            f"'%m-%d-%Y']))")


def _todatetime(g, a, args):
    t = args[0].type
    if t == "datetime":
        return a[0]
    src = a[0] if t == "string" else f"json_extract_string({a[0]}, '$')"
    return datetime_from_text(src)


fn("tostring", ["any"], "string", lambda g, a, args: tostring_sql(a[0], args[0].type),
   example="tostring(Payload.price)", conversion=True)
fn("toint", ["any"], "int", _to_number("int"), example="toint(Value)", aliases=("int",),
   check=_check_number_source("int"), conversion=True)
fn("tolong", ["any"], "long", _to_number("long"), example="tolong(Value)", aliases=("long",),
   check=_check_number_source("long"), conversion=True)
fn("todouble", ["any"], "real", _to_number("real"), example="todouble(Value)",
   aliases=("toreal", "real", "double"), check=_check_number_source("real"), conversion=True)
fn("tobool", ["any"], "bool", _tobool, example="tobool(Payload.flag)",
   aliases=("toboolean", "bool"), conversion=True)
fn("todatetime", ["string|datetime|dynamic"], "datetime", _todatetime,
   example="todatetime('2019-01-01')", conversion=True)
fn("parse_json", ["string|dynamic"], "dynamic",
   lambda g, a, args: a[0] if args[0].type == "dynamic" else
   f"CASE WHEN json_valid({a[0]}) THEN CAST({a[0]} AS JSON) ELSE to_json({a[0]}) END",
   example="parse_json(Value).a", aliases=("todynamic",))


# ---------------------------------------------------------------- strings
def _substring(g, a, args):
    # a negative start counts from the end
    index = f"CAST({a[1]} AS BIGINT)"
    start = (f"(CASE WHEN {index} < 0 THEN greatest(length({a[0]}) + {index}, 0) "
             f"ELSE {index} END + 1)")
    if len(a) == 3:
        return f"substring({a[0]}, {start}, greatest(CAST({a[2]} AS BIGINT), 0))"
    return f"substring({a[0]}, {start})"


def _strcat(g, a, args):
    parts = [f"COALESCE({tostring_sql(s, x.type)}, '')" for s, x in zip(a, args)]
    return "(" + " || ".join(parts) + ")"


def _trim(g, a, args):
    pattern = str(args[0].value)
    regex = g.param(f"^(?:{pattern})+|(?:{pattern})+$", "string")
    return f"regexp_replace({a[1]}, {regex}, '', 'g')"


def _split(g, a, args):
    parts = f"string_split(COALESCE({a[0]}, ''), COALESCE({a[1]}, ''))"
    if len(a) == 3:
        return (f"CASE WHEN CAST({a[2]} AS BIGINT) >= 0 AND CAST({a[2]} AS BIGINT) < len({parts})"
                f" THEN to_json([{parts}[CAST({a[2]} AS BIGINT) + 1]]) ELSE to_json([]) END")
    return f"to_json({parts})"


# Python's messages for the mistakes RE2 (DuckDB's regex engine) refuses too; other Python
# errors may be RE2 syntax Python lacks (\\p{L}, \\C), which DuckDB judges when it runs.
_REGEX_MISTAKES = ("nothing to repeat", "multiple repeat", "missing ), unterminated subpattern",
                   "unbalanced parenthesis", "unterminated character set",
                   "unexpected end of pattern")


def check_regex(node: ast.Expr, pattern: str) -> None:
    """A constant pattern that no regex engine accepts is the query's error, with its place."""
    try:
        re.compile(pattern)
    except re.error as error:
        if error.msg in _REGEX_MISTAKES:
            raise at(node, f"the regular expression {pattern!r} is not valid: {error.msg}"
                           + (f" at position {error.pos}" if error.pos is not None else ""))


def _check_pattern(args):
    """The constant regex of the first argument (extract, trim)."""
    if isinstance(args[0], ast.Literal) and isinstance(args[0].value, str):
        check_regex(args[0], args[0].value)


def _check_group(args):
    _check_pattern(args)
    group = args[1].value
    if not isinstance(group, int) or not 0 <= group <= 9:
        raise at(args[1], "extract() needs a capture group number from 0 to 9")


def _extract(g, a, args):
    group = g.param(args[1].value, 'int', cast=False)
    text = f"NULLIF(regexp_extract({a[2]}, {a[0]}, {group}), '')"
    return from_text(text, args[3].value) if len(args) > 3 else text


_FROM_TEXT = {"string": "{0}", "dynamic": "CASE WHEN json_valid({0}) THEN CAST({0} AS JSON) END"}


def from_text(text: str, kind: str) -> str:
    """Text (null for none) read as a value of `kind`: null where it is not one."""
    if kind == "datetime":
        return datetime_from_text(text)
    return _FROM_TEXT.get(kind, f"TRY_CAST({{0}} AS {SQL_TYPES[kind]})").format(text)


fn("strlen", ["string"], "long", "CAST(length(COALESCE({0}, '')) AS BIGINT)",
   example="strlen(PageTitle)")
fn("tolower", ["string"], "string", "lower({0})", example="tolower(City)")
fn("toupper", ["string"], "string", "upper({0})", example="toupper(CountryCode)")
fn("substring", ["string", "long", "long?"], "string", _substring,
   example="substring(PageUri, 0, 8)")
fn("strcat", ["any", "any*"], "string", _strcat, example="strcat(City, ', ', CountryCode)")
fn("replace_string", ["string", "string", "string"], "string",
   "replace({0}, COALESCE({1}, ''), COALESCE({2}, ''))",
   example="replace_string(PageUri, 'http:', 'https:')")
fn("trim", ["const_string", "string"], "string", _trim, example=r"trim(@'\s', Value)",
   check=_check_pattern)
fn("split", ["string", "string", "long?"], "dynamic", _split, example="split(PageUri, '/')")
fn("extract", ["const_string", "const_long", "string", "const_type?"],
   lambda args: args[3].value if len(args) > 3 else "string", _extract,
   example=r"extract(@'id=(\d+)', 1, PageUri, typeof(long))", check=_check_group)


# ---------------------------------------------------------------- logic and nulls
def _iff(g, a, args):
    return f"CASE WHEN {a[0]} THEN {a[1]} ELSE {a[2]} END"


def _check_case(args):
    if len(args) < 3 or len(args) % 2 == 0:
        raise at(args[0] if args else None,
                 "case() needs pairs of condition and value, then an else value")


def _case(g, a, args):
    whens = " ".join(f"WHEN {a[i]} THEN {a[i + 1]}" for i in range(0, len(a) - 1, 2))
    return f"CASE {whens} ELSE {a[-1]} END"


def _isempty(negated):
    def sql(g, a, args):
        t = args[0].type
        if t == "string":
            test = f"COALESCE({a[0]}, '') = ''"
        elif t == "dynamic":
            test = f"COALESCE(json_extract_string({a[0]}, '$'), '') = ''"
        else:
            test = f"{a[0]} IS NULL"
        return f"(NOT ({test}))" if negated else f"({test})"
    return sql


def _isnull(negated):
    def sql(g, a, args):
        t = args[0].type
        if t == "string":
            # Kusto strings are never null: a missing string is the empty string
            return "TRUE" if negated else "FALSE"
        if t == "dynamic":
            test = f"json_extract_string({a[0]}, '$') IS NULL"
        else:
            test = f"{a[0]} IS NULL"
        return f"(NOT ({test}))" if negated else f"({test})"
    return sql


fn("iff", ["bool", "any", "any"], _unify_from(1), _iff,
   example="iff(City == '', 'unknown', City)", aliases=("iif",))
fn("case", ["bool", "any", "any*"], _unify_from(1, 2, last=True), _case,
   example="case(Payload.price > 100, 'high', 'low')", check=_check_case)
def _coalesce(g, a, args):
    # Kusto's coalesce skips empty strings too: a string is never null, '' is its "no value"
    if all(x.type in ("string", "null") for x in args):
        return "COALESCE(" + ", ".join(f"NULLIF({s}, '')" for s in a) + ")"
    return "COALESCE(" + ", ".join(a) + ")"


def _strcmp(g, a, args):
    left, right = (f"COALESCE({x}, '')" for x in a)
    return (f"CAST(CASE WHEN {left} < {right} THEN -1 WHEN {left} > {right} THEN 1 ELSE 0 END "
            f"AS INTEGER)")


def _bag_pack(g, a, args):
    return "json_object(" + ", ".join(
        f"COALESCE({s}, '')" if x.type == "string" else s for s, x in zip(a, args)) + ")"


def _check_pairs(args):
    if len(args) % 2:
        raise at(args[-1], "bag_pack() needs pairs of key and value")
    for key in args[::2]:
        if key.type not in ("string", "null"):
            raise at(key, f"a key of bag_pack() must be a string, but this is a {key.type}")


fn("coalesce", ["any", "any*"], _unify_from(0), _coalesce,
   example="coalesce(User.Name, User.Email)")
fn("isempty", ["any"], "bool", _isempty(False), example="isempty(City)")
fn("isnotempty", ["any"], "bool", _isempty(True), example="isnotempty(User.Email)")
fn("isnull", ["any"], "bool", _isnull(False), example="isnull(Payload.price)")
fn("isnotnull", ["any"], "bool", _isnull(True), example="isnotnull(Payload.price)")
fn("strcmp", ["string", "string"], "int", _strcmp, example="strcmp(City, 'M') < 0")
fn("bag_keys", ["dynamic"], "dynamic",
   "CASE WHEN json_type({0}) = 'OBJECT' THEN to_json(json_keys({0})) END",
   example="bag_keys(Payload)")
fn("bag_pack", ["string", "any", "any*"], "dynamic", _bag_pack, aliases=("pack",),
   example="bag_pack('city', City, 'price', Payload.price)", check=_check_pairs)
fn("array_length", ["dynamic"], "long",
   "CASE WHEN json_type({0}) = 'ARRAY' THEN CAST(json_array_length({0}) AS BIGINT) END",
   example="array_length(Payload.items)")


# ---------------------------------------------------------------- aggregates
def _sum_sql(g, a, args):
    # the sum of no values is 0 in Kusto (null in SQL)
    filtered = f" FILTER (WHERE {a[1]})" if len(a) > 1 else ""
    return cast(f"COALESCE(sum({a[0]}){filtered}, 0)", "real" if args[0].type == "real" else "long")


def _sum_type(args):
    return "real" if args[0].type == "real" else "long"


def _check_percentage(args):
    p = args[1].value
    if not isinstance(p, (int, float)) or not 0 <= p <= 100:
        raise at(args[1], "percentile() needs a constant percentage from 0 to 100")


def _percentile(g, a, args):
    return f"quantile_disc({a[0]}, {g.param(float(args[1].value) / 100, 'real')})"


def _make_list(distinct):
    def sql(g, a, args):
        if distinct and args[0].type == "dynamic":  # a set of arrays is the set of their elements
            elements = (f"CASE json_type({a[0]}) WHEN 'ARRAY' THEN CAST({a[0]} AS JSON[]) "
                        f"ELSE [{a[0]}] END")
            return f"to_json(list_distinct(flatten(list({elements}))))"
        d = "DISTINCT " if distinct else ""
        return f"COALESCE(to_json(list({d}{a[0]}) FILTER (WHERE {a[0]} IS NOT NULL)), '[]'::JSON)"
    return sql


def _comparable(where):
    def check(args):
        t = args[0].type
        if t in ("dynamic", "bool"):
            raise at(args[0], f"{where}() needs a number, string, datetime or timespan, not {t}")
        return t
    return check


# count(x) counts the rows, whatever x holds, as Kusto's does
fn("count", ["any?"], "long", "count(*)", aggregate=True, example="summarize count() by EventType")
fn("countif", ["bool"], "long", "count(*) FILTER (WHERE {0})", aggregate=True,
   example="summarize countif(EventType == 'pageview')")
def _dcount_sql(g, a, args):
    # Kusto's dcount is an estimate; this one counts the values' distinct 64-bit hashes:
    # exact but for a collision (about one query in 3,700 with 100 million distinct values
    # would be one short), and its table holds 8 bytes a value where DeviceIds held 36, so
    # it stays inside the memory limit where the strings spilled (bench/NOTES.md#dcount).
    # hash(NULL) is a value, so nulls are filtered out, as count(DISTINCT) leaves them. The
    # argument is written twice but computed once: DuckDB's common-subexpression pass projects
    # it below the aggregate (EXPLAIN shows one json_extract_string for a Payload key).
    condition = f"{a[0]} IS NOT NULL" + (f" AND ({a[1]})" if len(a) > 1 else "")
    return f"count(DISTINCT hash({a[0]})) FILTER (WHERE {condition})"


fn("dcount", ["any"], "long", _dcount_sql, aggregate=True,
   example="summarize dcount(SessionId)")
fn("dcountif", ["any", "bool"], "long", _dcount_sql, aggregate=True,
   example="summarize dcountif(SessionId, EventType == 'pageview')")
fn("sum", ["number"], _sum_type, _sum_sql, aggregate=True, example="summarize sum(Payload.price)")
fn("sumif", ["number", "bool"], _sum_type, _sum_sql, aggregate=True,
   example="summarize sumif(Payload.price, City == 'Oslo')")
fn("avg", ["number"], "real", "avg({0})", aggregate=True, example="summarize avg(Payload.price)")
fn("avgif", ["number", "bool"], "real", "avg({0}) FILTER (WHERE {1})", aggregate=True,
   example="summarize avgif(Payload.price, City == 'Oslo')")
fn("min", ["any"], _comparable("min"), "min({0})", aggregate=True,
   example="summarize min(EventTime)")
fn("max", ["any"], _comparable("max"), "max({0})", aggregate=True,
   example="summarize max(EventTime)")
fn("make_list", ["any"], "dynamic", _make_list(False), aggregate=True,
   example="summarize make_list(PageUri) by SessionId")
fn("make_set", ["any"], "dynamic", _make_list(True), aggregate=True,
   example="summarize make_set(EventType) by SessionId")
fn("percentile", ["number|datetime|timespan", "const_number"], same_as(0), _percentile,
   aggregate=True, example="summarize percentile(Payload.price, 95)", check=_check_percentage)
# percentiles is expanded by the resolver into one percentile column per percentage
fn("percentiles", ["number|datetime|timespan", "const_number*"], same_as(0), _percentile,
   aggregate=True, example="summarize percentiles(Payload.price, 50, 95)")
def _take_any(g, a, args):
    # Kusto returns a non-empty value when the group has one
    return f"any_value(NULLIF({a[0]}, ''))" if args[0].type == "string" else f"any_value({a[0]})"


_OBJECTS = "FILTER (WHERE json_type({0}) = 'OBJECT')"
_BAG = "MAP(VARCHAR, JSON)"


def _make_bag(g, a, args):
    """The union of the property bags. A key in several takes its value in the bag whose JSON
    text sorts last: the same answer whatever order the rows are read in."""
    bags = (f"list(CAST(CASE WHEN json_type({a[0]}) = 'OBJECT' THEN {a[0]} END AS {_BAG}) "
            f"ORDER BY CAST({a[0]} AS VARCHAR))")
    return (f"to_json(list_reduce({bags} {_OBJECTS.format(a[0])}, (a, b) -> map_concat(a, b), "
            f"MAP {{}}::{_BAG}))")


fn("make_bag", ["dynamic"], "dynamic", _make_bag, aggregate=True,
   example="summarize make_bag(Payload) by DeviceId")
fn("take_any", ["any"], same_as(0), _take_any, aggregate=True,
   example="summarize take_any(PageTitle) by PageUri")
# arg_max / arg_min are expanded by the resolver into one internal aggregate per output column
fn("arg_max", ["any", "any*"], same_as(0), "max({0})", aggregate=True,
   example="summarize arg_max(EventTime, *) by SessionId")
fn("arg_min", ["any", "any*"], same_as(0), "min({0})", aggregate=True,
   example="summarize arg_min(EventTime, PageUri) by SessionId")

# Below (max) or above (min) every value of a type: a null key ranks last, and a group whose
# keys are all null still gives a row, as Kusto's arg_max does.
_BEYOND = {
    "real": ("'-infinity'::DOUBLE", "'infinity'::DOUBLE"),
    "long": ("(-9223372036854775807 - 1)", "9223372036854775807"),
    "int": ("(-2147483647 - 1)", "2147483647"),
    "datetime": ("'-infinity'::TIMESTAMP", "'infinity'::TIMESTAMP"),
    "timespan": ("to_days(-100000000)", "to_days(100000000)"),
}


def _arg_extreme(which):
    def sql(g, a, args):
        if args[0] == args[1]:  # the compared value itself
            return f"{which}({a[1]})"
        beyond = _BEYOND.get(args[1].type)
        key = f"COALESCE({a[1]}, {beyond[which == 'min']})" if beyond else a[1]
        # the value at the row of the extreme, null included (arg_max skips null values)
        return f"arg_{which}_null({a[0]}, {key})"
    return sql


# internal helpers used by the resolver's arg_max/arg_min expansion (not user-callable)
INTERNAL: dict[str, Function] = {
    "__arg_max_col": Function("__arg_max_col", ("any", "any"), same_as(0), _arg_extreme("max"),
                              True),
    "__arg_min_col": Function("__arg_min_col", ("any", "any"), same_as(0), _arg_extreme("min"),
                              True),
}

# what to use instead of a KQL function that is deliberately not offered
NOT_SUPPORTED_HINTS = {
    "any": "use take_any(x)",
    "dcount_hll": "use dcount(x)",
    "countof": "use countif() or extract()",
}


def lookup(name: str) -> Function | None:
    return REGISTRY.get(name) or INTERNAL.get(name)


def render(f: Function, gen, args_sql: list[str], args) -> str:
    if callable(f.sql):
        return f.sql(gen, args_sql, args)
    if "{*}" in f.sql:
        return f.sql.replace("{*}", ", ".join(args_sql))
    return f.sql.format(*args_sql)
