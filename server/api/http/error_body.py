"""Every failed HTTP call as one response: the status google.rpc gives the error's code (the one
table, server/api/status.py) and the error shape of the Microsoft REST API Guidelines, which the
Profile Store follows:

    {"error": {"code": "INVALID_ARGUMENT",          the google.rpc code, as gRPC clients see it
               "message": "line 1, column 8: ...",  the same message as over gRPC
               "target": "Query",                   the request part at fault, if one is
               "details": [{"code": "QUERY_INVALID", "target": "Query", "message": "..."}],
               "innererror": {"code": "QUERY_INVALID", "line": 1, "column": 8}}}

`details` holds one entry per invalid request part; `innererror.code` is the stable reason
(google.rpc ErrorInfo), with the position of a query error and the retry delay of a refusal for
now, which the `Retry-After` header (whole seconds) carries too.
"""
from __future__ import annotations

import math
from typing import Mapping

import orjson
from google.rpc import code_pb2
from starlette.responses import Response

from ... import errors
from ..auth import SCHEME
from ..status import domain_error, http_status, status_code


def _target(field: str, names: Mapping[str, str]) -> str:
    """The request part a gRPC field name stands for on this route (`filter` -> `$filter`);
    an event's fields (`events[3].EventTime`) are named as they are."""
    head, dot, rest = field.partition(".")
    return names.get(head, head) + dot + rest if head else ""


def error_document(error: Exception, names: Mapping[str, str] = {}) -> tuple[int, dict]:
    """(the HTTP status, the JSON body) of an error; `names` maps gRPC request fields to the
    route's own names."""
    error = domain_error(error)
    code = status_code(error)
    inner: dict = {"code": error.reason}
    body: dict = {"code": code_pb2.Code.Name(code), "message": error.message}
    if isinstance(error, errors.BadRequest):
        details = [{"code": error.reason, "target": _target(v.field, names),
                    "message": v.description} for v in error.violations]
        if details[0]["target"]:
            body["target"] = details[0]["target"]
        body["details"] = details
    if isinstance(error, errors.BadQuery):
        inner.update(line=error.line, column=error.column)
    if isinstance(error, errors.Overloaded):
        inner["retryAfterSeconds"] = retry_after(error)
    body["innererror"] = inner
    return http_status(code), {"error": body}


def retry_after(error: errors.Overloaded) -> int:
    return max(1, math.ceil(error.retry_after_seconds))


def error_response(error: Exception, names: Mapping[str, str] = {}) -> Response:
    error = domain_error(error)  # once: an unexpected error is logged here
    status, document = error_document(error, names)
    headers = {}
    if isinstance(error, errors.Overloaded):
        headers["Retry-After"] = str(retry_after(error))
    if isinstance(error, errors.NotAuthenticated):
        headers["WWW-Authenticate"] = f'{SCHEME} realm="trackstore"'
    return json_response(document, status, headers)


def json_response(document, status: int = 200, headers: Mapping[str, str] | None = None
                  ) -> Response:
    return Response(orjson.dumps(document), status, headers, media_type="application/json")
