"""The OpenAPI 3.1 document of the HTTP API, served at /openapi.json and shown by /swagger.

Written by hand from the routes of trackevents.py (and, in segment_openapi.py, of
segments.py), with the limits of server/limits.py;
tests/http/test_openapi.py checks that every route served is documented here and every path
here is served, and validates the answers of the real server against these schemas.
"""
from __future__ import annotations

import functools

from ...event_schema import COLUMN_NAMES
from ...limits import (
    DEFAULT_LIST_TOP, MAX_EVENTS_PER_BATCH, MAX_LIST_WINDOW, MAX_SCOPE_LENGTH, PREVIEW_MAX_ROWS,
    QUERY_TIME_LIMIT_SECONDS,
)
from ..auth import SCHEME
from .trackevents import PATH

DESCRIPTION = f"""\
The Optimizely Profile Store's track-event API, served by trackstore beside its gRPC API.

Every call needs the header `Authorization: {SCHEME} <API key>` when the server has keys.
Field names are the Profile Store's, times RFC 3339 in UTC with seven fractional digits
(`2020-01-23T21:27:49.3361000Z`; the store keeps microseconds).

Errors follow the Microsoft REST API Guidelines: `{{"error": {{"code", "message", "target",
"details", "innererror"}}}}`. `code` is the google.rpc code (as over gRPC), `innererror.code`
the stable reason, with `line` and `column` for a query error and `retryAfterSeconds` (also
the `Retry-After` header) for a refusal for now."""

_NULLABLE_STRING = {"type": ["string", "null"]}
_NULLABLE_OBJECT = {"type": ["object", "null"]}
_TIME = {"type": ["string", "null"], "format": "date-time",
         "examples": ["2020-01-23T21:27:49.3361008Z"]}
_EVENT_FIELD_SCHEMAS = {"User": _NULLABLE_OBJECT, "Payload": _NULLABLE_OBJECT, "EventTime": _TIME}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict) -> dict:
    return {"application/json": {"schema": schema}}


def _schemas() -> dict:
    event = {"type": "object", "additionalProperties": False, "properties": {
        name: _EVENT_FIELD_SCHEMAS.get(name, _NULLABLE_STRING) for name in COLUMN_NAMES}}
    track_id = {"type": "object", "required": ["TrackId"],
                "properties": {"TrackId": {"type": "string"}}}
    return {
        "TrackEvent": event,
        "TrackId": track_id,
        "TrackIds": _page(_ref("TrackId")),
        "Events": _page(_ref("TrackEvent")),
        "PreviewRequest": {
            "type": "object", "required": ["Query"], "additionalProperties": False,
            "properties": {"Query": {"type": "string", "examples": [
                "Events | where EventType == 'pageview' | take 2"]},
                "Scope": {"type": ["string", "null"], "default": "default"}}},
        "PreviewResponse": _preview_response(),
        "Deleted": {"type": "object", "required": ["TrackId", "Scope"], "properties": {
            "TrackId": {"type": "string"}, "Scope": {"type": "string"}}},
        "Error": _error_schema(),
    }


def _page(item: dict) -> dict:
    return {"type": "object", "required": ["items", "count"], "properties": {
        "items": {"type": "array", "items": item}, "count": {"type": "integer"}}}


def _preview_response() -> dict:
    """A page of rows, with what Preview adds: the columns and their KQL types, and whether
    the query had more rows than it returned."""
    answer = _page({"type": "object"})
    answer["required"] += ["columns", "truncated"]
    answer["properties"] |= {
        "columns": {"type": "array", "items": {
            "type": "object", "required": ["name", "type"],
            "properties": {"name": {"type": "string"}, "type": {"type": "string"}}}},
        "truncated": {"type": "boolean"}}
    return answer


def _error_schema() -> dict:
    detail = {"type": "object", "required": ["code", "message"], "properties": {
        "code": {"type": "string"}, "target": {"type": "string"}, "message": {"type": "string"}}}
    inner = {"type": "object", "required": ["code"], "properties": {
        "code": {"type": "string"}, "line": {"type": "integer"}, "column": {"type": "integer"},
        "retryAfterSeconds": {"type": "integer"}}}
    error = {"type": "object", "required": ["code", "message"], "properties": {
        "code": {"type": "string"}, "message": {"type": "string"},
        "target": {"type": "string"}, "details": {"type": "array", "items": detail},
        "innererror": inner}}
    return {"type": "object", "required": ["error"], "properties": {"error": error}}


_ERRORS = {
    400: "The request is invalid: `error.target` names the part at fault; a query error gives "
         "its `line` and `column`.",
    401: "No API key, or one the server does not know.",
    403: "The API key may not use this scope.",
    404: "No event has this TrackId in the scope.",
    429: "Refused for now: retry after the `Retry-After` header's seconds.",
    499: "The client went away while its query ran.",
    500: "An internal error; the call can be retried.",
    503: "The store is unavailable (starting, stopping, or unable to write); retry shortly.",
    504: f"The query ran past its time limit ({QUERY_TIME_LIMIT_SECONDS / 60:g} minutes by "
         f"default) and was stopped.",
}


def _responses(ok: str, schema: dict, *errors: int) -> dict:
    answers = {"200": {"description": ok, "content": _json(schema)}}
    for status in (400, 401, 403, *errors, 500, 503):
        answers[str(status)] = {"description": _ERRORS[status], "content": _json(_ref("Error"))}
    if 429 in errors:
        answers["429"]["headers"] = {"Retry-After": {
            "description": "seconds to wait", "schema": {"type": "integer"}}}
    return answers


def _body(schema: dict, example=None) -> dict:
    media = {"schema": schema} | ({"example": example} if example is not None else {})
    # The Profile Store documents its preview request as application/json-patch+json.
    return {"required": True, "content": {"application/json": media,
                                          "application/json-patch+json": media}}


def _query(name: str, description: str, schema: dict) -> dict:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema}


def _operation(operation_id: str, summary: str, description: str, **fields) -> dict:
    return {"operationId": operation_id, "tags": ["TrackEvents"], "summary": summary,
            "description": description, **fields}


def _list_operation() -> dict:
    return _operation(
        "ListTrackEvents", "Gets events by an OData query",
        f"`$skip` + `$top` must be under {MAX_LIST_WINDOW:,}; `$top` is {DEFAULT_LIST_TOP} by "
        f"default. Pages are stable: TrackId breaks ties.",
        parameters=[
            _query("$filter", "e.g. `EventType eq 'pageview' and User/Email ne null`",
                   {"type": "string"}),
            _query("$orderby", "e.g. `EventTime desc, DeviceId`; `EventTime desc` by default",
                   {"type": "string"}),
            _query("$skip", "events to skip", {"type": "integer", "minimum": 0, "default": 0}),
            _query("$top", "events to return", {"type": "integer", "minimum": 0,
                                                "default": DEFAULT_LIST_TOP}),
            _query("scope", f"the scope (at most {MAX_SCOPE_LENGTH} characters)",
                   {"type": "string", "default": "default"}),
        ],
        responses=_responses("The page of events.", _ref("Events"), 429, 499, 504),
    )


def _track_operation() -> dict:
    example = {"DeviceId": "91687965-bc76-49a2-862c-e014441b8f6b", "EventType": "home",
               "Value": "Visited the start page.", "PageUri": "https://example.com/en/",
               "Payload": {"name": "Home page"}, "EventTime": "2017-09-15T07:16:34.7957819Z"}
    return _operation(
        "TrackEvents", "Stores one event, or an array of events",
        f"At most {MAX_EVENTS_PER_BATCH:,} events, all of one `Scope` (default `default`), "
        f"stored all or none. A missing TrackId is assigned, a missing EventTime is the time "
        f"received. One event is answered with its TrackId, an array with `items` of TrackIds "
        f"in order.",
        requestBody=_body({"oneOf": [_ref("TrackEvent"), {
            "type": "array", "items": _ref("TrackEvent")}]}, example),
        responses=_responses("Stored.", {"oneOf": [_ref("TrackId"), _ref("TrackIds")]}),
    )


def _preview_operation() -> dict:
    return _operation(
        "PreviewTrackEvents", "Gets events that match a KQL query",
        f"At most {PREVIEW_MAX_ROWS:,} rows (`truncated` says when there were more); stopped "
        f"after {QUERY_TIME_LIMIT_SECONDS / 60:g} minutes.",
        requestBody=_body(_ref("PreviewRequest"), {
            "Query": "Events | where EventType == 'pageview' | take 2", "Scope": "default"}),
        responses=_responses("The rows of the query.", _ref("PreviewResponse"), 429, 499, 504),
    )


def _delete_operation() -> dict:
    return _operation(
        "DeleteTrackEvent", "Deletes one event",
        "Gone from every read at once; its bytes leave the disk at the next compaction. "
        "Refused with 429 while too many deletions wait for it.",
        parameters=[{"name": name, "in": "path", "required": True, "schema": {
            "type": "string"}} for name in ("scope", "id")],
        responses=_responses("Deleted.", _ref("Deleted"), 404, 429),
    )


@functools.cache
def document() -> dict:
    from . import segment_openapi  # it builds on this module's helpers

    answer = _track_events_document()
    answer["tags"] += segment_openapi.TAGS
    answer["paths"] |= segment_openapi.paths()
    answer["components"]["schemas"] |= segment_openapi.schemas()
    return answer


def _track_events_document() -> dict:
    return {
        "openapi": "3.1.0",
        "info": {"title": "trackstore: the Profile Store track events API", "version": "2.0",
                 "description": DESCRIPTION},
        "servers": [{"url": "/"}],
        "security": [{"ProfileStoreKey": []}],
        "tags": [{"name": "TrackEvents", "description": "Tracked events"}],
        "paths": {
            PATH: {"get": _list_operation()},
            f"{PATH}/track": {"post": _track_operation()},
            f"{PATH}/preview": {"post": _preview_operation()},
            PATH + "/{scope}/{id}": {"delete": _delete_operation()},
            "/openapi.json": {"get": {
                "operationId": "OpenApiDocument", "summary": "This document",
                "security": [], "responses": {"200": {
                    "description": "The OpenAPI document", "content": _json({"type": "object"})}}}},
        },
        "components": {
            "schemas": _schemas(),
            "securitySchemes": {"ProfileStoreKey": {
                "type": "apiKey", "in": "header", "name": "Authorization",
                "description": f"`{SCHEME} <API key>`"}},
        },
    }
