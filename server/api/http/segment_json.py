"""Filter definitions and segments as the HTTP API reads and writes them (server/segments/model.py
<-> JSON), in the Profile Store's style: PascalCase field names, a definition's `Parameters` as
`[{"Name", "Type"}]`, times with seven fractional digits, timespans as .NET writes them
(`7.00:00:00`).

A parameter value is a plain JSON value typed by the definition's parameter, as a Profile Store
client writes it: true/false, a number (an integer for int or long, any number for double), and
text for the rest (a string, a guid, an RFC 3339 datetime, a timespan such as `7.00:00:00` or
`7d`). Only a datetime's and a timespan's text is read by the declared type; every other value
keeps the type JSON gave it, and the domain refuses one that does not fit (values.bind), naming
the parameter. Output-only fields (CreateTime, ..., Generation) may be sent back and are ignored,
so what a GET answers can be PUT again.
"""
from __future__ import annotations

import datetime as dt
from typing import Callable, Mapping

from querylang.templates import value_from_text

from ...errors import BadRequest, FieldViolation
from ...rows import format_datetime_ticks, format_timespan
from ...segments.model import (FilterDefinition, Parameter, Segment, SegmentView, Value)
from ...limits import DEFAULT_REFRESH_INTERVAL_SECONDS

EVENTS_TYPE = "Events"  # the Profile Store's kind of definition over track events (not Profiles)
DEFINITION_FIELDS = ("Name", "Description", "Category", "Query", "Parameters", "Type", "Scope",
                     "ETag", "CreateTime", "UpdateTime")
SEGMENT_FIELDS = ("Name", "Description", "FilterDefinition", "Parameters", "RefreshInterval",
                  "Scope", "ETag", "CreateTime", "UpdateTime", "ComputedAt", "DeviceCount",
                  "LastError", "LastErrorTime", "Generation")
# The domain's request field names -> this API's (a violation's target).
_JSON_NAMES = {"name": "Name", "description": "Description", "category": "Category",
               "query": "Query", "parameters": "Parameters", "type": "Type",
               "filter_definition": "FilterDefinition", "refresh_interval": "RefreshInterval",
               "inline_definition": "Definition", "etag": "ETag"}
_RESOURCES = ("filter_definition", "segment")


def fields_of(body, names: tuple[str, ...]) -> dict:
    """A JSON object's fields by their names here, matched without regard to case as the
    Profile Store matches them; an unknown field is refused, not dropped."""
    if not isinstance(body, dict):
        raise _invalid("body", "must be a JSON object")
    by_lower = {name.lower(): name for name in names}
    fields = {}
    for key, value in body.items():
        name = by_lower.get(str(key).lower())
        if name is None:
            raise _invalid(str(key), f"is not a field here; the fields are {', '.join(names)}")
        fields[name] = value
    return fields


def _invalid(field: str, description: str) -> BadRequest:
    return BadRequest(f"{field} {description}", [FieldViolation(field, description)])


def _text(fields: dict, name: str) -> str:
    value = fields.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _invalid(name, "must be a string")
    return value


def _named(fields: dict, path_name: str | None) -> str:
    """The resource's name: the path's, which a body's Name may repeat but not contradict."""
    name = _text(fields, "Name")
    if path_name is not None and name and name != path_name:
        raise _invalid("Name", f"is {name!r} but the path names {path_name!r}")
    return path_name if path_name is not None else name


def json_field(path: str) -> str:
    """A domain request field (`segment.parameters[window]`) as this API names it
    (`Parameters[window]`)."""
    parts = path.split(".")
    if parts and parts[0] in _RESOURCES:
        parts = parts[1:]
    renamed = []
    for part in parts:
        head, bracket, rest = part.partition("[")
        renamed.append(_JSON_NAMES.get(head, head) + bracket + rest)
    return ".".join(renamed)


def with_json_fields(error: BadRequest) -> BadRequest:
    """`error` with its violations' fields as this API names them (the message is kept)."""
    for violation in error.violations:
        violation.field = json_field(violation.field)
    return error


# -- filter definitions -------------------------------------------------------------------------

def definition_in(body, path_name: str | None = None) -> tuple[str, FilterDefinition]:
    """(the Scope field, the definition) of a request body."""
    fields = fields_of(body, DEFINITION_FIELDS)
    kind = fields.get("Type")
    if kind is not None and str(kind).lower() != EVENTS_TYPE.lower():
        raise _invalid("Type", f"must be {EVENTS_TYPE!r}: a definition queries track events "
                               f"(Profiles definitions are not supported), got {kind!r}")
    return _text(fields, "Scope"), FilterDefinition(
        name=_named(fields, path_name), query=_text(fields, "Query"),
        parameters=_declared(fields.get("Parameters")),
        description=_text(fields, "Description"), category=_text(fields, "Category"),
        etag=_text(fields, "ETag"))


def _declared(parameters) -> tuple[Parameter, ...]:
    if parameters is None:
        return ()
    if not isinstance(parameters, list):
        raise _invalid("Parameters", 'must be an array of {"Name", "Type"} objects')
    declared = []
    for index, item in enumerate(parameters):
        fields = fields_of(item, ("Name", "Type"))
        if not all(isinstance(fields.get(key), str) for key in ("Name", "Type")):
            raise _invalid(f"Parameters[{index}]", 'must have a "Name" and a "Type", both text')
        declared.append(Parameter(fields["Name"], fields["Type"].lower()))
    return tuple(declared)


def definition_out(scope: str, definition: FilterDefinition) -> dict:
    return {"Name": definition.name, "Description": definition.description,
            "Category": definition.category, "Query": definition.query,
            "Parameters": [{"Name": p.name, "Type": p.type} for p in definition.parameters],
            "Type": EVENTS_TYPE, "Scope": scope, "ETag": definition.etag,
            "CreateTime": _time(definition.create_time),
            "UpdateTime": _time(definition.update_time)}


def _time(value: dt.datetime | None) -> str | None:
    return None if value is None else format_datetime_ticks(value)


# -- parameter values ---------------------------------------------------------------------------

def values_in(values, declared: Mapping[str, str], field: str) -> dict[str, Value]:
    """`{name: JSON value}` as the domain's values (see the module's docstring)."""
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise _invalid(field, "must be an object of parameter names and values")
    return {name: _value(value, declared.get(name), f"{field}[{name}]")
            for name, value in values.items()}


def _value(value, kind: str | None, where: str) -> Value:
    if isinstance(value, bool):
        return Value("bool", value)
    if isinstance(value, int):
        return Value("long", value)
    if isinstance(value, float):
        return Value("double", value)
    if not isinstance(value, str):
        raise _invalid(where, "must be true, false, a number or text")
    if kind in ("datetime", "timespan"):
        try:
            return Value(kind, value_from_text(kind, value))
        except ValueError as error:
            raise _invalid(where, str(error)) from None
    return Value("string", value)


def value_out(value: Value):
    if value.kind == "datetime":
        return format_datetime_ticks(value.value)
    if value.kind == "timespan":
        return format_timespan(value.value)
    return value.value


# -- segments -----------------------------------------------------------------------------------

def segment_in(body, declared_of: Callable[[str], Mapping[str, str]],
               path_name: str | None = None) -> tuple[str, Segment]:
    """(the Scope field, the segment) of a request body; `declared_of(definition)` gives the
    parameter types of the definition it names (for the values' datetimes and timespans)."""
    fields = fields_of(body, SEGMENT_FIELDS)
    definition = _text(fields, "FilterDefinition")
    declared = declared_of(definition) if definition else {}
    return _text(fields, "Scope"), Segment(
        name=_named(fields, path_name), filter_definition=definition,
        parameters=values_in(fields.get("Parameters"), declared, "Parameters"),
        description=_text(fields, "Description"), etag=_text(fields, "ETag"),
        refresh_seconds=_interval(fields.get("RefreshInterval")))


def _interval(value) -> float:
    """RefreshInterval: timespan text (`01:00:00`, `1h`) or seconds; 24 h when absent."""
    if value is None:
        return float(DEFAULT_REFRESH_INTERVAL_SECONDS)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return value_from_text("timespan", value).total_seconds()
        except ValueError as error:
            raise _invalid("RefreshInterval", str(error)) from None
    raise _invalid("RefreshInterval", "must be a timespan such as 01:00:00, or seconds")


def segment_out(scope: str, view: SegmentView) -> dict:
    segment, state = view.segment, view.state
    return {"Name": segment.name, "Description": segment.description,
            "FilterDefinition": segment.filter_definition,
            "Parameters": {name: value_out(value)
                           for name, value in sorted(segment.parameters.items())},
            "RefreshInterval": format_timespan(dt.timedelta(seconds=segment.refresh_seconds)),
            "Scope": scope, "ETag": segment.etag, "CreateTime": _time(segment.create_time),
            "UpdateTime": _time(segment.update_time), "ComputedAt": _time(state.computed_at),
            "DeviceCount": state.device_count, "LastError": state.last_error or None,
            "LastErrorTime": _time(state.failed_at), "Generation": state.generation}
