"""Filter definitions and segments as the domain sees them, and the rules for their fields.

Each check raises BadRequest naming the request field at fault; `field` is the path of the
resource in the request (e.g. "filter_definition", "segment", "inline_definition").
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field as dataclass_field

from querylang.templates import PARAMETER_TYPES

from ..errors import BadRequest, FieldViolation
from ..limits import (DEFAULT_REFRESH_INTERVAL_SECONDS, MAX_CATEGORY_LENGTH,
                      MAX_DESCRIPTION_LENGTH, MAX_RESOURCE_NAME_LENGTH,
                      MIN_REFRESH_INTERVAL_SECONDS)

NAME = re.compile(r"[A-Za-z0-9._-]+")


@dataclass(frozen=True)
class Parameter:
    name: str
    type: str  # a key of querylang.templates.PARAMETER_TYPES


@dataclass(frozen=True)
class Value:
    """A parameter value as the caller typed it: `kind` is the parameter type whose field held
    it (querylang.templates.bind converts it to the declared type where that is exact)."""

    kind: str
    value: object


@dataclass(frozen=True)
class FilterDefinition:
    name: str
    query: str
    parameters: tuple[Parameter, ...] = ()
    description: str = ""
    category: str = ""
    create_time: dt.datetime | None = None
    update_time: dt.datetime | None = None
    etag: str = ""

    @property
    def declared(self) -> dict[str, str]:
        """Parameter name -> type."""
        return {p.name: p.type for p in self.parameters}


@dataclass(frozen=True)
class Segment:
    name: str
    filter_definition: str
    parameters: dict[str, Value] = dataclass_field(default_factory=dict)
    description: str = ""
    refresh_seconds: float = float(DEFAULT_REFRESH_INTERVAL_SECONDS)
    create_time: dt.datetime | None = None
    update_time: dt.datetime | None = None
    etag: str = ""


@dataclass(frozen=True)
class Materialization:
    """The state of a segment's refreshes (lake table `segment_states`). `generation` names the
    rows of `segment_members` it holds (0: none yet). `computed_for` is the fingerprint
    (values.fingerprint) of what the materialisation was computed from;
    `attempted_for` that of the last attempt, `attempted_at` when that attempt read the events.
    """

    generation: int = 0
    computed_at: dt.datetime | None = None
    device_count: int = 0
    computed_for: str = ""
    attempted_at: dt.datetime | None = None
    attempted_for: str = ""
    last_error: str = ""
    failed_at: dt.datetime | None = None


@dataclass(frozen=True)
class SegmentView:
    """A segment with the state of its materialisation: what Get and List answer."""

    segment: Segment
    state: Materialization


def _invalid(field: str, description: str) -> BadRequest:
    return BadRequest(f"{field} {description}", [FieldViolation(field, description)])


def check_name(field: str, name: str) -> None:
    if not NAME.fullmatch(name or "") or len(name) > MAX_RESOURCE_NAME_LENGTH:
        raise _invalid(field, f"must be 1 to {MAX_RESOURCE_NAME_LENGTH} letters, digits, '.', "
                              f"'_' or '-', got {name!r}")


def check_lookup_name(name: str) -> None:
    """A name looked up that no resource can have and the catalog cannot be asked about: a
    NUL ends a string constant in DuckLake's catalog queries. Other strangers are NOT_FOUND."""
    if "\0" in name:
        raise _invalid("name", "contains the NUL character (U+0000), which no name may hold")


def check_description(field: str, description: str) -> None:
    if len(description) > MAX_DESCRIPTION_LENGTH:
        raise _invalid(field, f"must be at most {MAX_DESCRIPTION_LENGTH} characters")


def check_definition_fields(field: str, definition: FilterDefinition) -> None:
    """The rules of every field but the query's meaning (definitions.check_query)."""
    check_name(f"{field}.name", definition.name)
    check_description(f"{field}.description", definition.description)
    if len(definition.category) > MAX_CATEGORY_LENGTH or "\\" in definition.category:
        raise _invalid(f"{field}.category",
                       f"must be at most {MAX_CATEGORY_LENGTH} characters, without a backslash")
    if not definition.query.strip():
        raise _invalid(f"{field}.query", "is required: a KQL query over Events")
    seen = set()
    for index, parameter in enumerate(definition.parameters):
        where = f"{field}.parameters[{index}]"
        if parameter.type not in PARAMETER_TYPES:
            raise _invalid(f"{where}.type", f"must be one of {', '.join(PARAMETER_TYPES)}")
        if parameter.name in seen:
            raise _invalid(f"{where}.name", f"declares '{parameter.name}' a second time")
        seen.add(parameter.name)


def check_segment_fields(field: str, segment: Segment) -> None:
    check_name(f"{field}.name", segment.name)
    check_description(f"{field}.description", segment.description)
    check_name(f"{field}.filter_definition", segment.filter_definition)
    if segment.refresh_seconds < MIN_REFRESH_INTERVAL_SECONDS:
        raise _invalid(f"{field}.refresh_interval",
                       f"must be at least {MIN_REFRESH_INTERVAL_SECONDS} s, got "
                       f"{segment.refresh_seconds:g} s")
