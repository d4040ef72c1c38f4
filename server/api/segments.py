"""The services of proto/trackstore/v1/segments.proto: each method checks access to the scope,
makes one call to the engine's segments (server/segments/service.py), writes the answer."""
from __future__ import annotations

import re
from typing import Callable

from google.protobuf import timestamp_pb2

from trackstore.v1 import segments_pb2 as spb
from trackstore.v1 import trackevents_pb2 as pb

from .registration import preserialized
from .segment_messages import (definition_in, definition_out, segment_in, segment_out,
                               values_in)
from .rpc import rpc
from .servicer import TrackEventsServicer, _with_items

PREVIEW_ITEMS_FIELD = spb.PreviewFilterDefinitionResponse.DESCRIPTOR.fields_by_name["items"].number


class _SegmentsEdge:
    """The scope check and the engine of the track servicer (set once the store is open)."""

    def __init__(self, track_servicer: TrackEventsServicer):
        self._track = track_servicer

    def _open(self, scope: str, call: dict):
        """(the scope, normalized and allowed to the caller, the engine's segments)."""
        segments = self._track._engine().segments
        return self._track._scope(scope, call), segments


def standard_methods(resource: str, domain: str, to_domain: Callable, to_message: Callable):
    """Create, Get, List, Replace and Delete of one resource (AIP-131 to 135), as the contract
    names them: `CreateSegment(CreateSegmentRequest) returns (CreateSegmentResponse)`, the
    resource in the request's and the response's field `segment`, a page's in `segments`.
    `domain` is the attribute of the engine's segments that stores it."""
    field = re.sub(r"(?<!^)(?=[A-Z])", "_", resource).lower()  # FilterDefinition: filter_definition
    response = {verb: getattr(spb, f"{verb}{resource}{'s' if verb == 'List' else ''}Response")
                for verb in ("Create", "Get", "List", "Replace", "Delete")}

    def writing(verb: str):  # Create and Replace
        def write(self, request, context, call):
            scope, segments = self._open(request.scope, call)
            store = getattr(getattr(segments, domain), verb.lower())
            return response[verb](**{field: to_message(store(scope, to_domain(
                getattr(request, field))))})
        return write

    def get(self, request, context, call):
        scope, segments = self._open(request.scope, call)
        return response["Get"](**{field: to_message(getattr(segments, domain).get(
            scope, request.name))})

    def list_(self, request, context, call):
        scope, segments = self._open(request.scope, call)
        found, token = getattr(segments, domain).list(scope, request.page_size,
                                                      request.page_token, request.name_prefix)
        call["rows"] = len(found)
        return response["List"](**{f"{field}s": [to_message(item) for item in found]},
                                next_page_token=token)

    def delete(self, request, context, call):
        scope, segments = self._open(request.scope, call)
        getattr(segments, domain).delete(scope, request.name, request.etag)
        return response["Delete"]()

    methods = []
    for verb, method in (("Create", writing("Create")), ("Get", get), ("List", list_),
                         ("Replace", writing("Replace")), ("Delete", delete)):
        method.__name__ = f"{verb}{resource}{'s' if verb == 'List' else ''}"
        methods.append(rpc()(method))
    return methods


class FilterDefinitionServicer(_SegmentsEdge):
    SERVICE = spb.DESCRIPTOR.services_by_name["FilterDefinitionService"]
    RESPONSE_ENCODERS = {"PreviewFilterDefinition": preserialized}

    (CreateFilterDefinition, GetFilterDefinition, ListFilterDefinitions,
     ReplaceFilterDefinition, DeleteFilterDefinition) = standard_methods(
        "FilterDefinition", "definitions", definition_in, definition_out)

    @rpc()
    def PreviewFilterDefinition(self, request, context, call):
        scope, segments = self._open(request.scope, call)
        inline = (definition_in(request.inline_definition)
                  if request.WhichOneof("definition") == "inline_definition" else None)
        columns, items, truncated = segments.definitions.preview(
            scope, request.name, inline, values_in(request.parameters, "parameters"),
            timeout_seconds=context.time_remaining(), on_cancel=context.add_callback)
        call["rows"] = len(items)
        response = spb.PreviewFilterDefinitionResponse(
            columns=[pb.Column(name=name, type=kind) for name, kind in columns],
            count=len(items), truncated=truncated)
        return _with_items(response, items, PREVIEW_ITEMS_FIELD)


class SegmentServicer(_SegmentsEdge):
    SERVICE = spb.DESCRIPTOR.services_by_name["SegmentService"]

    (CreateSegment, GetSegment, ListSegments, ReplaceSegment, DeleteSegment) = standard_methods(
        "Segment", "segments", segment_in, segment_out)

    @rpc()
    def RefreshSegment(self, request, context, call):
        scope, segments = self._open(request.scope, call)
        requested_at = timestamp_pb2.Timestamp()
        requested_at.FromDatetime(segments.refresh(scope, request.name))
        return spb.RefreshSegmentResponse(request_time=requested_at)

    @rpc()
    def EvaluateSegment(self, request, context, call):
        scope, segments = self._open(request.scope, call)
        if request.fresh:
            page = segments.evaluation.fresh(
                scope, request.name, request.page_size, request.page_token,
                timeout_seconds=context.time_remaining(), on_cancel=context.add_callback)
        else:
            page = segments.evaluation.materialized(scope, request.name, request.page_size,
                                                    request.page_token)
        call["rows"] = len(page.device_ids)
        response = spb.EvaluateSegmentResponse(device_ids=page.device_ids,
                                               next_page_token=page.next_page_token,
                                               device_count=page.device_count)
        if page.computed_at is not None:
            response.computed_at.FromDatetime(page.computed_at)
        return response

    # These two answer from memory on the personalisation hot path: on the event loop (rpc.py).
    @rpc(inline=True)
    def IsInSegment(self, request, context, call):
        scope, segments = self._open(request.scope, call)
        return spb.IsInSegmentResponse(
            in_segment=segments.is_in(scope, request.device_id, list(request.segments)))

    @rpc(inline=True)
    def SegmentsOf(self, request, context, call):
        scope, segments = self._open(request.scope, call)
        found = segments.segments_of(scope, request.device_id)
        call["rows"] = len(found)
        return spb.SegmentsOfResponse(segments=found)
