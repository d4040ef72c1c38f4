"""The Profile Store's track-event routes (api/v2.0/TrackEvents): parse, one engine call, answer
as the Profile Store does (`items` and `count`, Profile Store field names and times)."""
from __future__ import annotations

from typing import Mapping

from starlette.responses import Response
from starlette.routing import Route

from ...errors import BadRequest, FieldViolation
from .calls import Call, endpoint
from .error_body import json_response
from .events import items, track_request

PATH = "/api/v2.0/TrackEvents"
# The OData options of a listing; any other `$` option is refused, not ignored.
LIST_OPTIONS = ("$filter", "$orderby", "$skip", "$top")
PREVIEW_FIELDS = ("Query", "Scope")


@endpoint("Track", {"scope": "Scope", "events": "body"})
async def track(call: Call) -> Response:
    scope, events, single = track_request(await call.json_body())
    scope = call.scope(scope)
    track_ids = await call.run(lambda _: call.engine.track(scope, events))
    call.log["rows"] = len(track_ids)
    if single:
        return json_response({"TrackId": track_ids[0]})
    return json_response({"items": [{"TrackId": i} for i in track_ids], "count": len(track_ids)})


@endpoint("List", {"filter": "$filter", "orderby": "$orderby", "skip": "$skip", "top": "$top"})
async def list_events(call: Call) -> Response:
    options = call.request.query_params
    unknown = sorted(k for k in options if k.startswith("$") and k not in LIST_OPTIONS)
    if unknown:
        raise BadRequest(f"unsupported query option {unknown[0]}; the options are "
                         f"{', '.join(LIST_OPTIONS)}", [FieldViolation(unknown[0], "unsupported")])
    scope = call.scope(options.get("scope", ""))
    skip, top = _whole_number(options, "$skip"), _whole_number(options, "$top")
    rows = await call.run(lambda cancellation: call.engine.list(
        scope, options.get("$filter", ""), options.get("$orderby", ""), skip, top,
        on_cancel=cancellation.register))
    call.log["rows"] = len(rows)
    return json_response({"items": items(rows), "count": len(rows)})


@endpoint("Preview", {"query": "Query", "scope": "Scope"})
async def preview(call: Call) -> Response:
    request = _fields(await call.json_body(), PREVIEW_FIELDS)
    query = request.get("Query")
    if not isinstance(query, str) or not query.strip():
        raise BadRequest("Query must be a KQL query, e.g. \"Events | take 10\"",
                         [FieldViolation("query", "required: a KQL query")])
    scope = call.scope(request.get("Scope") or "")
    columns, rows, truncated = await call.run(lambda cancellation: call.engine.preview(
        scope, query, on_cancel=cancellation.register))
    call.log["rows"] = len(rows)
    return json_response({
        "items": items(rows), "count": len(rows),
        # Beyond the Profile Store's answer: the column types (a chart needs them), and
        # whether the query had more rows than were returned.
        "columns": [{"name": name, "type": kind} for name, kind in columns],
        "truncated": truncated,
    })


@endpoint("Delete", {"track_id": "id"})
async def delete(call: Call) -> Response:
    scope = call.scope(call.request.path_params["scope"])
    track_id = call.request.path_params["id"]
    await call.run(lambda _: call.engine.delete(scope, track_id))
    call.log["rows"] = 1
    return json_response({"TrackId": track_id, "Scope": scope})


def _whole_number(options: Mapping[str, str], name: str) -> int | None:
    text = options.get(name)
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        raise BadRequest(f"{name} must be a whole number, got {text!r}",
                         [FieldViolation(name, "not a whole number")]) from None


def _fields(body, names: tuple[str, ...]) -> dict:
    """A JSON object request's fields by their documented names, matched without regard to
    case as the Profile Store matches them; an unknown field is refused."""
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object",
                         [FieldViolation("body", "not an object")])
    by_lower = {name.lower(): name for name in names}
    fields = {}
    for key, value in body.items():
        name = by_lower.get(key.lower())
        if name is None:
            raise BadRequest(f"unknown field {key!r}; the fields are {', '.join(names)}",
                             [FieldViolation(key, "unknown field")])
        fields[name] = value
    return fields


ROUTES = [
    Route(f"{PATH}/track", track, methods=["POST"]),
    Route(PATH, list_events, methods=["GET"]),
    Route(f"{PATH}/preview", preview, methods=["POST"]),
    Route(PATH + "/{scope}/{id}", delete, methods=["DELETE"]),
]
