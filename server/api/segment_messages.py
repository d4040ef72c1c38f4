"""The messages of proto/trackstore/v1/segments.proto <-> the domain's (server/segments/model.py).

The parameter types and the value fields are read from the descriptors (ParameterType's values,
ParameterValue's oneof), so a type added to the contract is a type here without a second table;
tests/unit/test_segment_messages.py holds them to querylang's parameter types.
"""
from __future__ import annotations

import datetime as dt
from typing import Mapping

from google.protobuf import duration_pb2, timestamp_pb2

from trackstore.v1 import segments_pb2 as spb

from ..errors import BadRequest, FieldViolation
from ..limits import DEFAULT_REFRESH_INTERVAL_SECONDS
from ..segments.model import (FilterDefinition, Materialization, Parameter, Segment,
                              SegmentView, Value)

# ParameterType number -> the domain's type name ("bool", ..., "timespan"), and back
TYPE_NAMES = {value.number: value.name.removeprefix("PARAMETER_TYPE_").lower()
              for value in spb.ParameterType.DESCRIPTOR.values if value.number}
TYPE_NUMBERS = {name: number for number, name in TYPE_NAMES.items()}
# ParameterValue's field of each type: "bool" -> "bool_value", ...
VALUE_FIELDS = {field.name.removesuffix("_value"): field.name
                for field in spb.ParameterValue.DESCRIPTOR.oneofs_by_name["kind"].fields}

# google.protobuf.Timestamp's and Duration's valid ranges (their .proto files)
_MIN_SECONDS, _MAX_SECONDS = -62_135_596_800, 253_402_300_799  # 0001-01-01 to 9999-12-31
_MAX_DURATION_SECONDS = 315_576_000_000
_NANOS = 1_000_000_000


def _invalid(field: str, description: str) -> BadRequest:
    return BadRequest(f"{field}: {description}", [FieldViolation(field, description)],
                      reason="PARAMETER_INVALID")


def datetime_of(stamp: timestamp_pb2.Timestamp, field: str) -> dt.datetime:
    """A valid Timestamp as a naive UTC datetime (microseconds)."""
    if not (_MIN_SECONDS <= stamp.seconds <= _MAX_SECONDS and 0 <= stamp.nanos < _NANOS):
        raise _invalid(field, "is not a valid timestamp (years 1 to 9999)")
    return stamp.ToDatetime()


def timedelta_of(duration: duration_pb2.Duration, field: str) -> dt.timedelta:
    seconds, nanos = duration.seconds, duration.nanos
    if (abs(seconds) > _MAX_DURATION_SECONDS or abs(nanos) >= _NANOS
            or (seconds and nanos and (seconds < 0) != (nanos < 0))):
        raise _invalid(field, "is not a valid duration (seconds and nanos of one sign, at most "
                              "10,000 years)")
    return duration.ToTimedelta()


def _timestamp(value: dt.datetime | None) -> timestamp_pb2.Timestamp | None:
    if value is None:
        return None
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(value)
    return stamp


def _duration(value: dt.timedelta) -> duration_pb2.Duration:
    duration = duration_pb2.Duration()
    duration.FromTimedelta(value)
    return duration


# -- parameter values ---------------------------------------------------------------------------

def values_in(values: Mapping[str, spb.ParameterValue], field: str) -> dict[str, Value]:
    """A request's map of values; a value without a field set, or an invalid time, is
    BadRequest naming `field[name]`."""
    found = {}
    for name, message in values.items():
        where = f"{field}[{name}]"
        which = message.WhichOneof("kind")
        if which is None:
            raise _invalid(where, "has no value: set the field of its type, e.g. string_value")
        kind = which.removesuffix("_value")
        raw = getattr(message, which)
        if kind == "datetime":
            raw = datetime_of(raw, where)
        elif kind == "timespan":
            raw = timedelta_of(raw, where)
        found[name] = Value(kind, raw)
    return found


def value_out(value: Value) -> spb.ParameterValue:
    message = spb.ParameterValue()
    field = VALUE_FIELDS[value.kind]
    if value.kind == "datetime":
        getattr(message, field).CopyFrom(_timestamp(value.value))
    elif value.kind == "timespan":
        getattr(message, field).CopyFrom(_duration(value.value))
    else:
        setattr(message, field, value.value)
    return message


# -- filter definitions -------------------------------------------------------------------------

def definition_in(message: spb.FilterDefinition) -> FilterDefinition:
    """The fields a client sets (output-only ones are ignored, the etag read for Replace)."""
    return FilterDefinition(
        name=message.name, query=message.query, description=message.description,
        category=message.category, etag=message.etag,
        parameters=tuple(Parameter(p.name, TYPE_NAMES.get(p.type, "unspecified"))
                         for p in message.parameters))


def definition_out(definition: FilterDefinition) -> spb.FilterDefinition:
    return spb.FilterDefinition(
        name=definition.name, description=definition.description,
        category=definition.category, query=definition.query,
        parameters=[spb.FilterParameter(name=p.name, type=TYPE_NUMBERS[p.type])
                    for p in definition.parameters],
        create_time=_timestamp(definition.create_time),
        update_time=_timestamp(definition.update_time), etag=definition.etag)


# -- segments -----------------------------------------------------------------------------------

def segment_in(message: spb.Segment) -> Segment:
    seconds = float(DEFAULT_REFRESH_INTERVAL_SECONDS)
    if message.HasField("refresh_interval"):
        seconds = timedelta_of(message.refresh_interval,
                               "segment.refresh_interval").total_seconds()
    return Segment(name=message.name, filter_definition=message.filter_definition,
                   parameters=values_in(message.parameters, "segment.parameters"),
                   description=message.description, refresh_seconds=seconds, etag=message.etag)


def segment_out(view: SegmentView) -> spb.Segment:
    segment, state = view.segment, view.state
    return spb.Segment(
        name=segment.name, description=segment.description,
        filter_definition=segment.filter_definition,
        parameters={name: value_out(value) for name, value in segment.parameters.items()},
        refresh_interval=_duration(dt.timedelta(seconds=segment.refresh_seconds)),
        create_time=_timestamp(segment.create_time),
        update_time=_timestamp(segment.update_time), etag=segment.etag,
        **_state_fields(state))


def _state_fields(state: Materialization) -> dict:
    return {"computed_at": _timestamp(state.computed_at), "device_count": state.device_count,
            "last_error": state.last_error, "last_error_time": _timestamp(state.failed_at),
            "generation": state.generation}
