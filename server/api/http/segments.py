"""The HTTP routes of filter definitions and segments (issue 22), beside the track-event routes:
each parses its request (segment_json.py), makes one call to the engine's segments (the domain
layer the gRPC servicers call, server/segments/service.py) and answers in the Profile Store's
style. Errors take the one status table like every route (calls.endpoint); an invalid field is
named as this API names it (`Parameters[window]`, not the gRPC `segment.parameters[window]`).

    POST/GET             api/v2.0/FilterDefinitions            create; list (a page)
    GET/PUT/DELETE       api/v2.0/FilterDefinitions/{name}     get; replace; delete
    POST                 api/v2.0/FilterDefinitions/preview    run a stored or an inline one
    POST/GET             api/v2.0/Segments                     create; list
    GET/PUT/DELETE       api/v2.0/Segments/{name}              get; replace; delete
    POST                 api/v2.0/Segments/{name}/refresh      refresh now (202, at once)
    GET                  api/v2.0/Segments/{name}/devices      a page of its DeviceIds
    GET                  api/v2.0/Devices/{id}/Segments        IsInSegment / SegmentsOf

A definition's or segment's scope is the `scope` query parameter of a read or delete and the
`Scope` field of a body (default `default`); a write's etag is its `ETag` field or an
`If-Match` header.
"""
from __future__ import annotations

import dataclasses
import functools

from starlette.responses import Response
from starlette.routing import Route

from ...errors import BadRequest, FieldViolation, NotFound
from ...rows import format_datetime_ticks
from .calls import Call, endpoint
from .error_body import json_response
from .events import items
from .segment_json import (DEFINITION_FIELDS, SEGMENT_FIELDS, definition_in, definition_out,
                           fields_of, segment_in, segment_out, values_in, with_json_fields)

DEFINITIONS = "/api/v2.0/FilterDefinitions"
SEGMENTS = "/api/v2.0/Segments"
DEVICES = "/api/v2.0/Devices"
PAGE_OPTIONS = ("scope", "$top", "pageToken", "namePrefix")
PREVIEW_FIELDS = ("Scope", "Name", "Definition", "Parameters")


def route(name: str):
    """calls.endpoint, with the violations of a BadRequest named as this API names fields."""
    def decorate(handler):
        @functools.wraps(handler)
        async def renamed(call: Call) -> Response:
            try:
                return await handler(call)
            except BadRequest as error:
                raise with_json_fields(error) from None
        return endpoint(name)(renamed)
    return decorate


def _domain(call: Call):
    return call.engine.segments


def _path_name(call: Call) -> str:
    return call.request.path_params["name"]


def _etag(call: Call, given: str) -> str:
    """The body's ETag, else the If-Match header's (quotes and a weak W/ prefix removed)."""
    header = call.request.headers.get("if-match", "")
    return given or header.removeprefix("W/").strip().strip('"')


def _options(call: Call, allowed: tuple[str, ...]) -> dict[str, str]:
    options = dict(call.request.query_params)
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise BadRequest(f"unsupported query option {unknown[0]}; the options are "
                         f"{', '.join(allowed)}", [FieldViolation(unknown[0], "unsupported")])
    return options


def _page_size(options: dict[str, str]) -> int:
    text = options.get("$top", "0")
    if not text.isdigit():
        raise BadRequest(f"$top must be a whole number, got {text!r}",
                         [FieldViolation("$top", "not a whole number")])
    return int(text)


def _page(found: list[dict], token: str) -> Response:
    return json_response({"items": found, "count": len(found), "nextPageToken": token})


def _declared(call: Call, scope: str):
    """A segment's definition -> its parameter types, for reading the segment's values; a
    definition that is not stored types nothing (the domain then says it is missing)."""
    def declared(definition: str) -> dict[str, str]:
        try:
            return _domain(call).definitions.get(scope, definition).declared
        except NotFound:
            return {}
    return declared


# -- the standard methods of both resources -----------------------------------------------------

def _standard(resource: str, domain: str, parse, write, fields: tuple[str, ...]):
    """Create, Get, List, Replace and Delete of one resource, as route handlers; `parse(call,
    scope, body, path_name)` reads a request body, `write(scope, item)` writes an answer."""
    async def create(call: Call) -> Response:
        body = await call.json_body()
        scope = call.scope(_text_field(body, fields, "Scope"))
        made = await call.run(lambda _: getattr(_domain(call), domain).create(
            scope, parse(call, scope, body, None)))
        return json_response(write(scope, made), 201)

    async def get(call: Call) -> Response:
        scope = call.scope(_options(call, ("scope",)).get("scope", ""))
        found = await call.run(lambda _: getattr(_domain(call), domain).get(
            scope, _path_name(call)))
        return json_response(write(scope, found))

    async def list_(call: Call) -> Response:
        options = _options(call, PAGE_OPTIONS)
        scope = call.scope(options.get("scope", ""))
        found, token = await call.run(lambda _: getattr(_domain(call), domain).list(
            scope, _page_size(options), options.get("pageToken", ""),
            options.get("namePrefix", "")))
        call.log["rows"] = len(found)
        return _page([write(scope, item) for item in found], token)

    async def replace(call: Call) -> Response:
        body = await call.json_body()
        scope = call.scope(_text_field(body, fields, "Scope"))
        name, etag = _path_name(call), _etag(call, "")

        def store(_):  # in the thread pool: parsing a segment reads its definition
            item = parse(call, scope, body, name)
            item = dataclasses.replace(item, etag=item.etag or etag)
            return getattr(_domain(call), domain).replace(scope, item)

        return json_response(write(scope, await call.run(store)))

    async def delete(call: Call) -> Response:
        scope = call.scope(_options(call, ("scope",)).get("scope", ""))
        name = _path_name(call)
        await call.run(lambda _: getattr(_domain(call), domain).delete(
            scope, name, _etag(call, "")))
        return json_response({"Name": name, "Scope": scope})

    return {verb: route(f"{verb}{resource}{'s' if verb == 'List' else ''}")(handler)
            for verb, handler in (("Create", create), ("Get", get), ("List", list_),
                                  ("Replace", replace), ("Delete", delete))}


def _text_field(body, fields: tuple[str, ...], name: str) -> str:
    value = fields_of(body, fields).get(name)
    return value if isinstance(value, str) else ""


def _parse_definition(call: Call, scope: str, body, path_name: str | None):
    return definition_in(body, path_name)[1]


def _parse_segment(call: Call, scope: str, body, path_name: str | None):
    return segment_in(body, _declared(call, scope), path_name)[1]


DEFINITION_ROUTES = _standard("FilterDefinition", "definitions", _parse_definition,
                              definition_out, DEFINITION_FIELDS)
SEGMENT_ROUTES = _standard("Segment", "segments", _parse_segment, segment_out, SEGMENT_FIELDS)


# -- the other methods --------------------------------------------------------------------------

@route("PreviewFilterDefinition")
async def preview(call: Call) -> Response:
    """A stored definition (`Name`) or an unsaved one (`Definition`), with `Parameters`."""
    fields = fields_of(await call.json_body(), PREVIEW_FIELDS)
    scope = call.scope(fields.get("Scope") if isinstance(fields.get("Scope"), str) else "")
    inline = None
    if fields.get("Definition") is not None:
        inline = definition_in(fields["Definition"])[1]
    name = fields.get("Name") if isinstance(fields.get("Name"), str) else ""

    def run(cancellation):
        if inline is not None:
            declared = inline.declared
        else:
            declared = _declared(call, scope)(name) if name else {}
        values = values_in(fields.get("Parameters"), declared, "Parameters")
        return _domain(call).definitions.preview(scope, name, inline, values,
                                                 on_cancel=cancellation.register)

    columns, rows, truncated = await call.run(run)
    call.log["rows"] = len(rows)
    return json_response({"items": items(rows), "count": len(rows),
                          "columns": [{"name": n, "type": t} for n, t in columns],
                          "truncated": truncated})


@route("RefreshSegment")
async def refresh(call: Call) -> Response:
    scope = call.scope(_options(call, ("scope",)).get("scope", ""))
    name = _path_name(call)
    requested = await call.run(lambda _: _domain(call).refresh(scope, name))
    return json_response({"Name": name, "Scope": scope,
                          "RequestTime": format_datetime_ticks(requested)}, 202)


@route("EvaluateSegment")
async def devices(call: Call) -> Response:
    """A page of the segment's DeviceIds; `fresh=true` evaluates its definition now."""
    options = _options(call, ("scope", "$top", "pageToken", "fresh"))
    scope = call.scope(options.get("scope", ""))
    fresh = options.get("fresh", "false").lower()
    if fresh not in ("true", "false"):
        raise BadRequest(f"fresh must be true or false, got {fresh!r}",
                         [FieldViolation("fresh", "not true or false")])
    name, size, token = _path_name(call), _page_size(options), options.get("pageToken", "")
    evaluation = _domain(call).evaluation
    page = await call.run(
        lambda cancellation: evaluation.fresh(scope, name, size, token,
                                              on_cancel=cancellation.register)
        if fresh == "true" else evaluation.materialized(scope, name, size, token))
    call.log["rows"] = len(page.device_ids)
    return json_response({
        "items": [{"DeviceId": device} for device in page.device_ids],
        "count": len(page.device_ids), "nextPageToken": page.next_page_token,
        "DeviceCount": page.device_count,
        "ComputedAt": (None if page.computed_at is None
                       else format_datetime_ticks(page.computed_at))})


@route("IsInSegment")
async def device_segments(call: Call) -> Response:
    """With `name=` (repeated): whether the device is in each segment named (IsInSegment);
    without: the scope's segments that hold it (SegmentsOf). Answered from memory."""
    unknown = sorted(set(call.request.query_params) - {"scope", "name"})
    if unknown:
        raise BadRequest(f"unsupported query option {unknown[0]}; the options are scope, name",
                         [FieldViolation(unknown[0], "unsupported")])
    scope = call.scope(call.request.query_params.get("scope", ""))
    device, names = call.request.path_params["id"], call.request.query_params.getlist("name")
    segments = _domain(call)
    if names:
        found = zip(names, segments.is_in(scope, device, names))
    else:
        found = ((name, True) for name in segments.segments_of(scope, device))
    answer = [{"Name": name, "IsIn": is_in} for name, is_in in found]
    call.log["rows"] = len(answer)
    return json_response({"items": answer, "count": len(answer)})


ROUTES = [
    Route(DEFINITIONS, DEFINITION_ROUTES["Create"], methods=["POST"]),
    Route(DEFINITIONS, DEFINITION_ROUTES["List"], methods=["GET"]),
    Route(f"{DEFINITIONS}/preview", preview, methods=["POST"]),
    Route(DEFINITIONS + "/{name}", DEFINITION_ROUTES["Get"], methods=["GET"]),
    Route(DEFINITIONS + "/{name}", DEFINITION_ROUTES["Replace"], methods=["PUT"]),
    Route(DEFINITIONS + "/{name}", DEFINITION_ROUTES["Delete"], methods=["DELETE"]),
    Route(SEGMENTS, SEGMENT_ROUTES["Create"], methods=["POST"]),
    Route(SEGMENTS, SEGMENT_ROUTES["List"], methods=["GET"]),
    Route(SEGMENTS + "/{name}", SEGMENT_ROUTES["Get"], methods=["GET"]),
    Route(SEGMENTS + "/{name}", SEGMENT_ROUTES["Replace"], methods=["PUT"]),
    Route(SEGMENTS + "/{name}", SEGMENT_ROUTES["Delete"], methods=["DELETE"]),
    Route(SEGMENTS + "/{name}/refresh", refresh, methods=["POST"]),
    Route(SEGMENTS + "/{name}/devices", devices, methods=["GET"]),
    Route(DEVICES + "/{id}/Segments", device_segments, methods=["GET"]),
]
