"""Filter definitions and segments (issue 22) in the Python client: `SegmentMethods`, which
`trackstore.Client` and `trackstore.aio.Client` both inherit (blocking calls in the one,
coroutines in the other, as for every unary method of `calls.ClientBase`).

    client.create_filter_definition(
        "viewed-product", "Events | where Payload.product == {{product}} "
        "and EventTime > ago({{window}})", {"product": "string", "window": "timespan"})
    client.create_segment("viewed-shoes", "viewed-product",
                          {"product": "shoes-42", "window": datetime.timedelta(days=7)})
    client.is_in_segment("visitor-1", ["viewed-shoes"])   # {"viewed-shoes": True}

A parameter value is typed by its Python type: bool, int (sent as a long), float (double),
str (string; a guid parameter takes one too), datetime.datetime, datetime.timedelta
(timespan), uuid.UUID (guid); a `trackstore.v1.segments_pb2.ParameterValue` goes as it is. The
server checks each value against its parameter's declared type, converting only exactly (an int
for a double or an int parameter within its range), and names the parameter when it refuses.

Definitions and segments come back as dicts in JSON shape, as a definition file holds them:
proto field names, times as RFC 3339 text, a definition's `parameters` as {name: type}, a
segment's as {name: value} (a timespan as seconds, "604800s").
"""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Iterable, Mapping

from google.protobuf import json_format

from trackstore.v1 import segments_pb2 as spb

from .calls import Call
from .results import PreviewResult

PARAMETER_TYPES = {value.name.removeprefix("PARAMETER_TYPE_").lower(): value.number
                   for value in spb.ParameterType.DESCRIPTOR.values if value.number}
_TYPE_NAMES = {number: name for name, number in PARAMETER_TYPES.items()}


def parameter_value(value) -> spb.ParameterValue:
    """A Python value as the ParameterValue of its type (see the module's docstring)."""
    if isinstance(value, spb.ParameterValue):
        return value
    message = spb.ParameterValue()
    if isinstance(value, bool):  # before int: a bool is an int in Python
        message.bool_value = value
    elif isinstance(value, int):
        message.long_value = value
    elif isinstance(value, float):
        message.double_value = value
    elif isinstance(value, str):
        message.string_value = value
    elif isinstance(value, uuid.UUID):
        message.guid_value = str(value)
    elif isinstance(value, dt.datetime):
        message.datetime_value.FromDatetime(
            value if value.tzinfo is None else value.astimezone(dt.timezone.utc))
    elif isinstance(value, dt.timedelta):
        message.timespan_value.FromTimedelta(value)
    else:
        raise TypeError(f"a parameter value is a bool, int, float, str, datetime, timedelta or "
                        f"UUID, not {type(value).__name__}")
    return message


def definition_message(name: str, query: str, parameters: Mapping[str, str] | None = None, *,
                       description: str = "", category: str = "",
                       etag: str = "") -> spb.FilterDefinition:
    """A FilterDefinition of `parameters` {name: type}, the types by their names (bool,
    datetime, guid, int, long, double, string, timespan)."""
    declared = []
    for parameter, kind in (parameters or {}).items():
        if kind not in PARAMETER_TYPES:
            raise ValueError(f"parameter {parameter!r} has type {kind!r}; a type is one of "
                             f"{', '.join(PARAMETER_TYPES)}")
        declared.append(spb.FilterParameter(name=parameter, type=PARAMETER_TYPES[kind]))
    return spb.FilterDefinition(name=name, query=query, parameters=declared,
                                description=description, category=category, etag=etag)


def segment_message(name: str, filter_definition: str, values: Mapping | None = None, *,
                    description: str = "", refresh_interval: dt.timedelta | None = None,
                    etag: str = "") -> spb.Segment:
    segment = spb.Segment(name=name, filter_definition=filter_definition,
                          description=description, etag=etag)
    for parameter, value in (values or {}).items():
        segment.parameters[parameter].CopyFrom(parameter_value(value))
    if refresh_interval is not None:
        segment.refresh_interval.FromTimedelta(refresh_interval)
    return segment


def plain(message) -> dict:
    """A FilterDefinition or a Segment as a dict in JSON shape (see the module's docstring)."""
    document = json_format.MessageToDict(message, preserving_proto_field_name=True,
                                         always_print_fields_with_no_presence=True,
                                         unquote_int64_if_possible=True)
    if isinstance(message, spb.FilterDefinition):
        document["parameters"] = {p.name: _TYPE_NAMES.get(p.type, "unspecified")
                                  for p in message.parameters}
    elif isinstance(message, spb.Segment):
        document["parameters"] = {name: plain_value(value)
                                  for name, value in sorted(message.parameters.items())}
    return document


def plain_value(message: spb.ParameterValue):
    """A ParameterValue as its JSON value (a datetime as RFC 3339 text, a timespan "604800s")."""
    return json_format.MessageToDict(message, unquote_int64_if_possible=True).popitem()[1]


def _page(field: str):
    def answer(response) -> dict:
        return {field: [plain(item) for item in getattr(response, field)],
                "next_page_token": response.next_page_token}
    return answer


def _evaluated(response) -> dict:
    computed = response.computed_at.ToJsonString() if response.HasField("computed_at") else None
    return {"device_ids": list(response.device_ids), "device_count": response.device_count,
            "computed_at": computed, "next_page_token": response.next_page_token}


class SegmentMethods:
    """The FilterDefinitionService and SegmentService methods of a client (ClientBase's
    `_run` and `_scope`)."""

    # -- filter definitions ------------------------------------------------------------------

    def create_filter_definition(self, name: str, query: str,
                                 parameters: Mapping[str, str] | None = None, *,
                                 description: str = "", category: str = "",
                                 scope: str | None = None, timeout: float | None = None):
        """Stores a filter definition: a KQL template with `{{name}}` placeholders and the
        types of its `parameters` ({name: type}); returns it as stored (with its etag)."""
        request = spb.CreateFilterDefinitionRequest(
            scope=self._scope(scope), filter_definition=definition_message(
                name, query, parameters, description=description, category=category))
        return self._run(Call("CreateFilterDefinition", request, _definition, False, timeout))

    def get_filter_definition(self, name: str, *, scope: str | None = None,
                              timeout: float | None = None):
        request = spb.GetFilterDefinitionRequest(scope=self._scope(scope), name=name)
        return self._run(Call("GetFilterDefinition", request, _definition, True, timeout))

    def list_filter_definitions(self, name_prefix: str = "", *, page_size: int = 0,
                                page_token: str = "", scope: str | None = None,
                                timeout: float | None = None):
        """One page, by name: {"filter_definitions": [...], "next_page_token"} (empty at the
        end)."""
        request = spb.ListFilterDefinitionsRequest(
            scope=self._scope(scope), name_prefix=name_prefix, page_size=page_size,
            page_token=page_token)
        return self._run(Call("ListFilterDefinitions", request, _page("filter_definitions"),
                              True, timeout))

    def replace_filter_definition(self, name: str, query: str,
                                  parameters: Mapping[str, str] | None = None, *,
                                  description: str = "", category: str = "", etag: str = "",
                                  scope: str | None = None, timeout: float | None = None):
        """Replaces every field of a stored definition; with `etag`, Aborted if it changed
        since that etag was read."""
        request = spb.ReplaceFilterDefinitionRequest(
            scope=self._scope(scope), filter_definition=definition_message(
                name, query, parameters, description=description, category=category, etag=etag))
        return self._run(Call("ReplaceFilterDefinition", request, _definition, False, timeout))

    def delete_filter_definition(self, name: str, *, etag: str = "", scope: str | None = None,
                                 timeout: float | None = None):
        """FailedPrecondition naming the segments that still use it."""
        request = spb.DeleteFilterDefinitionRequest(scope=self._scope(scope), name=name,
                                                    etag=etag)
        return self._run(Call("DeleteFilterDefinition", request, _nothing, False, timeout))

    def preview_filter_definition(self, name: str | None = None, values: Mapping | None = None,
                                  *, definition: spb.FilterDefinition | None = None,
                                  scope: str | None = None, timeout: float | None = None):
        """Runs a stored definition (`name`) or an unsaved one (`definition`, e.g. from
        `definition_message`) with `values`; Preview's limits and answer (a PreviewResult)."""
        if (name is None) == (definition is None):
            raise ValueError("give a stored definition's name or an inline definition")
        request = spb.PreviewFilterDefinitionRequest(scope=self._scope(scope))
        if definition is not None:
            request.inline_definition.CopyFrom(definition)
        else:
            request.name = name
        for parameter, value in (values or {}).items():
            request.parameters[parameter].CopyFrom(parameter_value(value))
        return self._run(Call("PreviewFilterDefinition", request, PreviewResult.from_response,
                              True, timeout))

    # -- segments ----------------------------------------------------------------------------

    def create_segment(self, name: str, filter_definition: str, values: Mapping | None = None,
                       *, description: str = "", refresh_interval: dt.timedelta | None = None,
                       scope: str | None = None, timeout: float | None = None):
        """Stores a segment (a definition bound to `values`) and starts its first refresh."""
        request = spb.CreateSegmentRequest(scope=self._scope(scope), segment=segment_message(
            name, filter_definition, values, description=description,
            refresh_interval=refresh_interval))
        return self._run(Call("CreateSegment", request, _segment, False, timeout))

    def get_segment(self, name: str, *, scope: str | None = None, timeout: float | None = None):
        """The segment with its materialisation's state (computed_at, device_count,
        last_error)."""
        request = spb.GetSegmentRequest(scope=self._scope(scope), name=name)
        return self._run(Call("GetSegment", request, _segment, True, timeout))

    def list_segments(self, name_prefix: str = "", *, page_size: int = 0, page_token: str = "",
                      scope: str | None = None, timeout: float | None = None):
        """One page, by name: {"segments": [...], "next_page_token"}."""
        request = spb.ListSegmentsRequest(scope=self._scope(scope), name_prefix=name_prefix,
                                          page_size=page_size, page_token=page_token)
        return self._run(Call("ListSegments", request, _page("segments"), True, timeout))

    def replace_segment(self, name: str, filter_definition: str, values: Mapping | None = None,
                        *, description: str = "", refresh_interval: dt.timedelta | None = None,
                        etag: str = "", scope: str | None = None, timeout: float | None = None):
        request = spb.ReplaceSegmentRequest(scope=self._scope(scope), segment=segment_message(
            name, filter_definition, values, description=description,
            refresh_interval=refresh_interval, etag=etag))
        return self._run(Call("ReplaceSegment", request, _segment, False, timeout))

    def delete_segment(self, name: str, *, etag: str = "", scope: str | None = None,
                       timeout: float | None = None):
        request = spb.DeleteSegmentRequest(scope=self._scope(scope), name=name, etag=etag)
        return self._run(Call("DeleteSegment", request, _nothing, False, timeout))

    def refresh_segment(self, name: str, *, scope: str | None = None,
                        timeout: float | None = None):
        """Starts a refresh and returns at once: its request time (RFC 3339). The segment holds
        the events as of then once its computed_at is at or after it."""
        request = spb.RefreshSegmentRequest(scope=self._scope(scope), name=name)
        return self._run(Call("RefreshSegment", request,
                              lambda response: response.request_time.ToJsonString(), True,
                              timeout))

    def evaluate_segment(self, name: str, *, page_size: int = 0, page_token: str = "",
                         fresh: bool = False, scope: str | None = None,
                         timeout: float | None = None):
        """One page of the segment's DeviceIds: {"device_ids", "device_count", "computed_at",
        "next_page_token"}; `fresh` evaluates the definition now instead."""
        request = spb.EvaluateSegmentRequest(scope=self._scope(scope), name=name,
                                             page_size=page_size, page_token=page_token,
                                             fresh=fresh)
        return self._run(Call("EvaluateSegment", request, _evaluated, True, timeout))

    def is_in_segment(self, device_id: str, segments: Iterable[str], *,
                      scope: str | None = None, timeout: float | None = None):
        """{segment: whether the device is in it}, answered from the server's memory."""
        names = list(segments)
        request = spb.IsInSegmentRequest(scope=self._scope(scope), device_id=device_id,
                                         segments=names)
        return self._run(Call("IsInSegment", request,
                              lambda response: dict(zip(names, response.in_segment)), True,
                              timeout))

    def segments_of(self, device_id: str, *, scope: str | None = None,
                    timeout: float | None = None):
        """The names of the scope's segments that hold the device."""
        request = spb.SegmentsOfRequest(scope=self._scope(scope), device_id=device_id)
        return self._run(Call("SegmentsOf", request, lambda response: list(response.segments),
                              True, timeout))


def _definition(response) -> dict:
    return plain(response.filter_definition)


def _segment(response) -> dict:
    return plain(response.segment)


def _nothing(response) -> None:
    return None
