"""The OpenAPI paths and schemas of the filter-definition and segment routes (segments.py),
merged into the document of openapi.py; written by hand, with the limits of server/limits.py.
"""
from __future__ import annotations

from querylang.templates import PARAMETER_TYPES

from ...limits import (DEFAULT_EVALUATE_PAGE_SIZE, DEFAULT_PAGE_SIZE, MAX_CATEGORY_LENGTH,
                       MAX_DESCRIPTION_LENGTH, MAX_EVALUATE_PAGE_SIZE, MAX_PAGE_SIZE,
                       MAX_RESOURCE_NAME_LENGTH, MAX_SEGMENTS_PER_CALL,
                       MIN_REFRESH_INTERVAL_SECONDS, PREVIEW_MAX_ROWS)
from .openapi import _ERRORS, _body, _json, _query, _ref
from .segments import DEFINITIONS, DEVICES, SEGMENTS

TAGS = [{"name": "FilterDefinitions", "description": "KQL templates with typed parameters"},
        {"name": "Segments", "description": "Definitions bound to values, and their devices"}]
_ERROR_TEXTS = {
    **_ERRORS,
    400: "The request is invalid (`error.target` names the field, e.g. `Parameters[window]`; a "
         "query error gives its `line` and `column` in the template), or the store's state "
         "does not allow it (`FAILED_PRECONDITION`: a definition segments use, a page token of "
         "a replaced materialisation).",
    404: "No filter definition or segment of this name in the scope.",
    409: "`ALREADY_EXISTS`: the name is taken in the scope; `ABORTED`: the ETag given is no "
         "longer current (read it again).",
}
_NAME = {"type": "string", "pattern": "^[A-Za-z0-9._-]+$", "maxLength": MAX_RESOURCE_NAME_LENGTH}
_TEXT = {"type": ["string", "null"]}
_TIME = {"type": ["string", "null"], "format": "date-time"}
_VALUE = {"type": ["boolean", "number", "string"]}


def _answers(status: int, ok: str, schema: dict, *errors: int) -> dict:
    answers = {str(status): {"description": ok, "content": _json(schema)}}
    for code in (400, 401, 403, *errors, 500, 503):
        answers[str(code)] = {"description": _ERROR_TEXTS[code], "content": _json(_ref("Error"))}
    return answers


def _operation(tag: str, operation_id: str, summary: str, **fields) -> dict:
    return {"operationId": operation_id, "tags": [tag], "summary": summary, **fields}


def _scope(where: str = "query") -> dict:
    return {"name": "scope", "in": where, "required": False, "description": "the scope",
            "schema": {"type": "string", "default": "default"}}


def _path(name: str, description: str) -> dict:
    return {"name": name, "in": "path", "required": True, "description": description,
            "schema": {"type": "string"}}


def _if_match() -> dict:
    return {"name": "If-Match", "in": "header", "required": False, "schema": {"type": "string"},
            "description": "refuse (409 ABORTED) if the resource changed since this ETag"}


def _page_options(default: int, most: int) -> list[dict]:
    return [_scope(),
            _query("$top", f"items a page holds ({default} when 0 or absent, at most {most})",
                   {"type": "integer", "minimum": 0}),
            _query("pageToken", "the nextPageToken of the page before", {"type": "string"})]


def schemas() -> dict:
    definition = {"type": "object", "additionalProperties": False, "properties": {
        "Name": _NAME, "Description": {**_TEXT, "maxLength": MAX_DESCRIPTION_LENGTH},
        "Category": {**_TEXT, "maxLength": MAX_CATEGORY_LENGTH},
        "Query": {"type": "string", "examples": [
            "Events | where EventType == {{eventType}} and EventTime > ago({{window}})"]},
        "Parameters": {"type": ["array", "null"], "items": {
            "type": "object", "required": ["Name", "Type"], "properties": {
                "Name": {"type": "string", "pattern": "^[A-Za-z]+$"},
                "Type": {"type": "string", "enum": list(PARAMETER_TYPES)}}}},
        "Type": {"type": ["string", "null"], "enum": ["Events", None]},
        "Scope": _TEXT, "ETag": _TEXT, "CreateTime": _TIME, "UpdateTime": _TIME}}
    segment = {"type": "object", "additionalProperties": False, "properties": {
        "Name": _NAME, "Description": {**_TEXT, "maxLength": MAX_DESCRIPTION_LENGTH},
        "FilterDefinition": _NAME,
        "Parameters": {"type": ["object", "null"], "additionalProperties": _VALUE},
        "RefreshInterval": {"type": ["string", "number", "null"], "examples": ["01:00:00"],
                            "description": f"a timespan (or seconds), at least "
                                           f"{MIN_REFRESH_INTERVAL_SECONDS} s; 1.00:00:00 "
                                           f"when absent"},
        "Scope": _TEXT, "ETag": _TEXT, "CreateTime": _TIME, "UpdateTime": _TIME,
        "ComputedAt": _TIME, "DeviceCount": {"type": "integer"}, "LastError": _TEXT,
        "LastErrorTime": _TIME, "Generation": {"type": "integer"}}}
    return {
        "FilterDefinition": definition,
        "FilterDefinitions": _page(_ref("FilterDefinition")),
        "Segment": segment,
        "Segments": _page(_ref("Segment")),
        "DefinitionPreviewRequest": {
            "type": "object", "additionalProperties": False, "properties": {
                "Scope": _TEXT, "Name": _NAME, "Definition": _ref("FilterDefinition"),
                "Parameters": {"type": ["object", "null"], "additionalProperties": _VALUE}}},
        "Removed": {"type": "object", "required": ["Name", "Scope"], "properties": {
            "Name": {"type": "string"}, "Scope": {"type": "string"}}},
        "RefreshStarted": {"type": "object", "required": ["Name", "Scope", "RequestTime"],
                           "properties": {"Name": {"type": "string"},
                                          "Scope": {"type": "string"},
                                          "RequestTime": {"type": "string",
                                                          "format": "date-time"}}},
        "SegmentDevices": _devices(),
        "DeviceSegments": {"type": "object", "required": ["items", "count"], "properties": {
            "items": {"type": "array", "items": {
                "type": "object", "required": ["Name", "IsIn"], "properties": {
                    "Name": {"type": "string"}, "IsIn": {"type": "boolean"}}}},
            "count": {"type": "integer"}}},
    }


def _page(item: dict) -> dict:
    return {"type": "object", "required": ["items", "count", "nextPageToken"], "properties": {
        "items": {"type": "array", "items": item}, "count": {"type": "integer"},
        "nextPageToken": {"type": "string", "description": "empty on the last page"}}}


def _devices() -> dict:
    answer = _page({"type": "object", "required": ["DeviceId"],
                    "properties": {"DeviceId": {"type": "string"}}})
    answer["required"] += ["DeviceCount", "ComputedAt"]
    answer["properties"] |= {"DeviceCount": {"type": "integer"}, "ComputedAt": _TIME}
    return answer


def _standard(tag: str, resource: str, plural: str, what: str) -> tuple[dict, dict]:
    """The operations of the collection path and of the item path of one resource."""
    item = _ref(resource)
    name = _path("name", f"the {what}'s name")
    collection = {
        "post": _operation(tag, f"Create{resource}", f"Creates a {what}",
                           requestBody=_body(item),
                           responses=_answers(201, "Created.", item, 409)),
        "get": _operation(tag, f"List{resource}s", f"Lists the scope's {what}s by name",
                          parameters=[*_page_options(DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE),
                                      _query("namePrefix", "only names starting with it",
                                             {"type": "string"})],
                          responses=_answers(200, "A page.", _ref(plural))),
    }
    single = {
        "get": _operation(tag, f"Get{resource}", f"Gets a {what}", parameters=[name, _scope()],
                          responses=_answers(200, f"The {what}.", item, 404)),
        "put": _operation(tag, f"Replace{resource}", f"Replaces every field of a {what}",
                          parameters=[name, _if_match()], requestBody=_body(item),
                          responses=_answers(200, "Replaced.", item, 404, 409)),
        "delete": _operation(tag, f"Delete{resource}", f"Deletes a {what}",
                             parameters=[name, _scope(), _if_match()],
                             responses=_answers(200, "Deleted.", _ref("Removed"), 404, 409)),
    }
    return collection, single


def paths() -> dict:
    definitions, definition = _standard("FilterDefinitions", "FilterDefinition",
                                        "FilterDefinitions", "filter definition")
    segments, segment = _standard("Segments", "Segment", "Segments", "segment")
    name = _path("name", "the segment's name")
    return {
        DEFINITIONS: definitions,
        f"{DEFINITIONS}/preview": {"post": _operation(
            "FilterDefinitions", "PreviewFilterDefinition",
            "Runs a stored (Name) or an unsaved (Definition) filter definition",
            description=f"Preview's limits and answer: at most {PREVIEW_MAX_ROWS:,} rows.",
            requestBody=_body(_ref("DefinitionPreviewRequest")),
            responses=_answers(200, "The rows.", _ref("PreviewResponse"), 404, 429, 499,
                               504))},
        DEFINITIONS + "/{name}": definition,
        SEGMENTS: segments,
        SEGMENTS + "/{name}": segment,
        SEGMENTS + "/{name}/refresh": {"post": _operation(
            "Segments", "RefreshSegment", "Starts a refresh now and answers at once",
            parameters=[name, _scope()],
            responses=_answers(202, "Started: the segment holds the events as of RequestTime "
                                    "once its ComputedAt is at or after it.",
                               _ref("RefreshStarted"), 404))},
        SEGMENTS + "/{name}/devices": {"get": _operation(
            "Segments", "EvaluateSegment", "A page of the segment's DeviceIds, in order",
            parameters=[name, *_page_options(DEFAULT_EVALUATE_PAGE_SIZE, MAX_EVALUATE_PAGE_SIZE),
                        _query("fresh", "true: evaluate the definition now, not the last "
                                        "refresh's devices", {"type": "boolean"})],
            responses=_answers(200, "The page.", _ref("SegmentDevices"), 404, 429, 499, 504))},
        DEVICES + "/{id}/Segments": {"get": _operation(
            "Segments", "DeviceSegments",
            "Whether a device is in segments (name=, repeated), or every segment holding it",
            parameters=[_path("id", "the DeviceId"), _scope(),
                        {"name": "name", "in": "query", "required": False,
                         "style": "form", "explode": True,
                         "description": f"a segment (1 to {MAX_SEGMENTS_PER_CALL})",
                         "schema": {"type": "array", "items": {"type": "string"}}}],
            responses=_answers(200, "One item per segment.", _ref("DeviceSegments"), 404))},
    }
