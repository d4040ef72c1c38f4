"""Parameter values: bound to a definition's parameters (querylang.templates.bind), and stored
as JSON in the lake ({name: [type given, value]}; a datetime as ISO 8601 text, a timespan as
microseconds), so that a stored value comes back exactly as it was given."""
from __future__ import annotations

import datetime as dt
import hashlib
from typing import Mapping

import orjson

from querylang import templates

from ..errors import BadRequest, FieldViolation
from .model import FilterDefinition, Segment, Value


def bind(definition: FilterDefinition, values: Mapping[str, Value],
         field: str) -> dict[str, tuple[str, object]]:
    """The values for querylang.compile(parameters=...); BadRequest naming `field[name]` when
    one is missing, extra or does not fit its parameter's type."""
    try:
        return templates.bind(definition.declared,
                              {name: (v.kind, v.value) for name, v in values.items()})
    except templates.ParameterError as error:
        where = f"{field}[{error.parameter}]"
        raise BadRequest(f"{where}: {error.message}", [FieldViolation(where, error.message)],
                         reason="PARAMETER_INVALID") from None


def fingerprint(segment: Segment, definition_etag: str | None) -> str:
    """Changes whenever what a refresh computes from changes: the segment's definition or
    values, or that definition (its etag; None: it has none). A new description or refresh
    interval leaves it as it was."""
    text = "\n".join((segment.filter_definition, to_json(segment.parameters),
                      str(definition_etag)))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def to_json(values: Mapping[str, Value]) -> str:
    return orjson.dumps({name: [v.kind, _json_value(v.value)]
                         for name, v in sorted(values.items())}).decode()


def from_json(text: str) -> dict[str, Value]:
    return {name: Value(kind, _python_value(kind, value))
            for name, (kind, value) in orjson.loads(text).items()}


def _json_value(value):
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value // dt.timedelta(microseconds=1)
    return value


def _python_value(kind: str, value):
    if kind == "datetime":
        return dt.datetime.fromisoformat(value)
    if kind == "timespan":
        return dt.timedelta(microseconds=value)
    return value
