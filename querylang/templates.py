"""Filter definition templates: KQL queries with `{{name}}` placeholders and typed parameters.

A template parses like any query: a placeholder is an `ast.Param` node, which the resolver
replaces with a Literal of the value bound to its name (`compile(..., parameters=bind(...))`), so
a value is only ever a bound SQL parameter, never text of the query. This module holds what
concerns a template as a whole: every placeholder is declared, every declared parameter is used,
the query compiles with values of the declared types (`check`); and the typing of the values a
caller binds (`bind`, `value_from_text`). Errors inside the query text are QueryErrors at their
place in the template as written; errors of a declaration or a value are ParameterErrors naming
the parameter.
"""
from __future__ import annotations

import datetime as dt
import math
import re
from typing import Mapping

from . import ast, literals, parse_kql
from .compiler import CompiledQuery, compile
from .errors import QueryError, at
from .schema import BOOL, DATETIME, INT, LONG, REAL, STRING, TIMESPAN, Schema, EVENTS_SCHEMA

# Parameter type (the Profile Store's names) -> the KQL type of its values in the query.
PARAMETER_TYPES = {
    "bool": BOOL, "datetime": DATETIME, "guid": STRING, "int": INT, "long": LONG,
    "double": REAL, "string": STRING, "timespan": TIMESPAN,
}
# A value of each type, to prove a template compiles whatever the values will be.
_SAMPLES = {
    "bool": False, "datetime": dt.datetime(2000, 1, 1), "guid": "00000000-0000-0000-0000-000000000000",
    "int": 0, "long": 0, "double": 0.0, "string": "", "timespan": dt.timedelta(0),
}
_RANGES = {"int": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
PARAMETER_NAME = re.compile(r"[A-Za-z]+")


class ParameterError(ValueError):
    """A parameter's declaration or value is wrong; `parameter` names it."""

    def __init__(self, parameter: str, message: str):
        super().__init__(message)
        self.parameter = parameter
        self.message = message


def placeholders(template: str) -> dict[str, ast.Param]:
    """The first placeholder of each name in the template, in order. Raises QueryError when
    the template does not parse."""
    tree = parse_kql.parse(template)
    found: dict[str, ast.Param] = {}
    for node, _ in ast.walk([*tree.lets, tree.source, *tree.operators]):
        if isinstance(node, ast.Param):
            found.setdefault(node.name, node)
    return dict(sorted(found.items(), key=lambda item: (item[1].span.line, item[1].span.column)))


def check(template: str, declared: Mapping[str, str],
          schema: Schema = EVENTS_SCHEMA) -> CompiledQuery:
    """The template compiled with a sample value of each declared type (its output columns tell
    what the definition returns). Raises QueryError, positioned in the template, for a syntax
    error, an undeclared placeholder or a value type the query cannot use; ParameterError for a
    bad declaration or a declared parameter the query does not use."""
    for name, kind in declared.items():
        _check_declaration(name, kind)
    used = placeholders(template)
    for name, node in used.items():
        if name not in declared:
            raise at(node, f"{{{{{name}}}}} is not a declared parameter; declare it, with its "
                           f"type, in the definition's parameters").with_source(template)
    for name in declared:
        if name not in used:
            raise ParameterError(name, f"parameter '{name}' is declared but the query does not "
                                       f"use {{{{{name}}}}}")
    samples = {name: (PARAMETER_TYPES[kind], _SAMPLES[kind]) for name, kind in declared.items()}
    return compile(template, schema=schema, parameters=samples)


def _check_declaration(name: str, kind: str) -> None:
    if not PARAMETER_NAME.fullmatch(name or ""):
        raise ParameterError(name, f"parameter name '{name}' must be letters (a-z, A-Z) only")
    if kind not in PARAMETER_TYPES:
        raise ParameterError(name, f"parameter '{name}' has type '{kind}'; a type is one of "
                                   f"{', '.join(PARAMETER_TYPES)}")


def bind(declared: Mapping[str, str],
         values: Mapping[str, tuple[str, object]]) -> dict[str, tuple[str, object]]:
    """The placeholder values for `compile(parameters=...)`: each declared parameter's value,
    checked against its type. `values`: name -> (the type the caller gave the value, the
    value). A value may be given as a narrower type that converts exactly (an int for a long or
    a double, a string for a guid). Raises ParameterError for a missing, extra or unfit value."""
    for name in values:
        if name not in declared:
            raise ParameterError(name, f"'{name}' is not a parameter of the definition "
                                       f"(it has: {', '.join(declared) or 'none'})")
    bound = {}
    for name, kind in declared.items():
        if name not in values:
            raise ParameterError(name, f"parameter '{name}' ({kind}) has no value")
        given, value = values[name]
        bound[name] = (PARAMETER_TYPES[kind], checked_value(name, kind, given, value))
    return bound


# parameter type -> the types of values that convert to it exactly
_ACCEPTED = {"long": ("long", "int"), "int": ("int", "long"), "double": ("double", "int", "long"),
             "guid": ("guid", "string")}


def checked_value(name: str, kind: str, given: str, value):
    """`value`, given as type `given`, as a value of parameter type `kind`."""
    if given not in _ACCEPTED.get(kind, (kind,)):
        raise ParameterError(name, f"parameter '{name}' is {_a(kind)}, but its value is "
                                   f"{_a(given)}")
    if kind in _RANGES:
        low, high = _RANGES[kind]
        if not low <= value <= high:
            raise ParameterError(name, f"parameter '{name}' is {_a(kind)}: {value} is out of "
                                       f"its range, {low} to {high}")
        return int(value)
    if kind == "double":
        if not math.isfinite(value):
            raise ParameterError(name, f"parameter '{name}' must be a finite number")
        return float(value)
    if kind == "guid" and not _GUID.fullmatch(value):
        raise ParameterError(name, f"parameter '{name}' is a guid: '{value}' is not one "
                                   f"(expected e.g. 0b7e8a52-0f3c-4d5e-9a1b-2c3d4e5f6a7b)")
    if kind == "datetime" and value.tzinfo is not None:
        return literals.as_naive_utc(value)
    return value


def _a(kind: str) -> str:
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"


def value_from_text(kind: str, text: str):
    """A value of parameter type `kind` written as text (a command line's --param name=value):
    true/false, a number, an ISO 8601 datetime, a KQL timespan (7d, 1.02:03:04), any string.
    Raises ValueError."""
    if kind not in PARAMETER_TYPES:
        raise ValueError(f"unknown parameter type '{kind}'")
    try:
        return _FROM_TEXT.get(kind, str)(text)
    except (ValueError, OverflowError, QueryError):
        raise ValueError(f"'{text}' is not {_a(kind)}") from None


def _bool_text(text: str) -> bool:
    words = {"true": True, "false": False}
    if text.strip().lower() not in words:
        raise ValueError(text)
    return words[text.strip().lower()]


def _required(parse):
    def parsed(text: str):
        value = parse(text)
        if value is None:  # "null" is a KQL literal, not a value
            raise ValueError(text)
        return value
    return parsed


_FROM_TEXT = {
    "bool": _bool_text, "int": int, "long": int, "double": float,
    "datetime": _required(literals.datetime_text), "timespan": _required(literals.timespan_text),
}
