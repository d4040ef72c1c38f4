"""Every error as one status shape: a code, a clear message, and google.rpc details (ErrorInfo
with a reason always; BadRequest for invalid fields; RetryInfo for retryable refusals). No
traceback ever reaches a client.

STATUS_CODES is the one table from what happened (server/errors.py) to a google.rpc code. gRPC
sends the code itself; an HTTP front end answers `http_status(code)`, google.rpc's own mapping
of each code to an HTTP status (google/rpc/code.proto), with the same Status as the body.
"""
from __future__ import annotations

import datetime
import logging

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2

import querylang

from .. import errors

log = logging.getLogger(__name__)

DOMAIN = "trackstore.dev"

# An error takes the row of its nearest class (a subclass not listed takes its base's code).
STATUS_CODES: tuple[tuple[type[errors.TrackstoreError], int], ...] = (
    (errors.BadRequest, code_pb2.INVALID_ARGUMENT),
    (errors.NotFound, code_pb2.NOT_FOUND),
    (errors.AlreadyExists, code_pb2.ALREADY_EXISTS),
    (errors.StaleEtag, code_pb2.ABORTED),
    (errors.PreconditionFailed, code_pb2.FAILED_PRECONDITION),
    (errors.NotAuthenticated, code_pb2.UNAUTHENTICATED),
    (errors.NotAllowed, code_pb2.PERMISSION_DENIED),
    (errors.Overloaded, code_pb2.RESOURCE_EXHAUSTED),
    (errors.QueryTimeout, code_pb2.DEADLINE_EXCEEDED),
    (errors.QueryCancelled, code_pb2.CANCELLED),
    (errors.Unavailable, code_pb2.UNAVAILABLE),
    (errors.StoreFormatNewer, code_pb2.FAILED_PRECONDITION),
    (errors.TrackstoreError, code_pb2.INTERNAL),
)
_CODES = dict(STATUS_CODES)

# google/rpc/code.proto's "HTTP Mapping" of each code.
HTTP_STATUSES = {
    code_pb2.OK: 200,
    code_pb2.CANCELLED: 499,
    code_pb2.UNKNOWN: 500,
    code_pb2.INVALID_ARGUMENT: 400,
    code_pb2.DEADLINE_EXCEEDED: 504,
    code_pb2.NOT_FOUND: 404,
    code_pb2.ALREADY_EXISTS: 409,
    code_pb2.PERMISSION_DENIED: 403,
    code_pb2.UNAUTHENTICATED: 401,
    code_pb2.RESOURCE_EXHAUSTED: 429,
    code_pb2.FAILED_PRECONDITION: 400,
    code_pb2.ABORTED: 409,
    code_pb2.OUT_OF_RANGE: 400,
    code_pb2.UNIMPLEMENTED: 501,
    code_pb2.INTERNAL: 500,
    code_pb2.UNAVAILABLE: 503,
    code_pb2.DATA_LOSS: 500,
}


def status_code(error: errors.TrackstoreError) -> int:
    """The google.rpc code of an error, from STATUS_CODES."""
    return next(_CODES[kind] for kind in type(error).__mro__ if kind in _CODES)


def http_status(code: int) -> int:
    """The HTTP status google.rpc gives a code."""
    return HTTP_STATUSES[code]


def domain_error(error: Exception) -> errors.TrackstoreError:
    """The error as one of ours: a query the compiler refused blames the request field it read
    (`QueryError.input`: query, filter, orderby, ...); anything unexpected is logged and becomes
    an internal error."""
    if isinstance(error, errors.TrackstoreError):
        return error
    if isinstance(error, querylang.QueryError):
        return errors.BadQuery(str(error), error.input, error.line, error.column)
    log.error("internal error", exc_info=error)
    return errors.TrackstoreError("internal error; the operation can be retried")


def _pack(message) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


# A status travels in trailers, which gRPC limits to 16 KiB in all: the message (percent-
# encoded, so up to 3 bytes a byte) and the details (base64, the message again among them).
# Beyond, the client sees RESOURCE_EXHAUSTED "received metadata size exceeds hard limit"
# instead. An error that quotes what the client sent (a 70,000-character TrackId, a 1 MB
# query) is cut to these many bytes of UTF-8, its end marked: 9 KiB at most in all.
MAX_MESSAGE_BYTES = 1000
MAX_VIOLATIONS = 5
MAX_VIOLATION_BYTES = 200


def bounded(text: str, limit: int) -> str:
    """`text`, or as much of it as `limit` bytes of UTF-8 hold and how long it was."""
    encoded = text.encode("utf-8", "surrogatepass")
    if len(encoded) <= limit:
        return text
    cut = encoded[:limit].decode("utf-8", "ignore")
    return f"{cut}... ({len(text):,} characters in all)"


def to_status(error: Exception) -> status_pb2.Status:
    error = domain_error(error)
    details = [_pack(error_details_pb2.ErrorInfo(reason=error.reason, domain=DOMAIN))]
    if isinstance(error, errors.BadRequest):
        details.append(_pack(error_details_pb2.BadRequest(field_violations=[
            error_details_pb2.BadRequest.FieldViolation(
                field=bounded(v.field, MAX_VIOLATION_BYTES),
                description=bounded(v.description, MAX_VIOLATION_BYTES))
            for v in error.violations[:MAX_VIOLATIONS]
        ])))
    if isinstance(error, errors.Overloaded):
        delay = duration_pb2.Duration()
        delay.FromTimedelta(datetime.timedelta(seconds=error.retry_after_seconds))
        details.append(_pack(error_details_pb2.RetryInfo(retry_delay=delay)))
    return status_pb2.Status(code=status_code(error),
                             message=bounded(error.message, MAX_MESSAGE_BYTES), details=details)


_GRPC_CODES = {code.value[0]: code for code in grpc.StatusCode}


def grpc_code(status: status_pb2.Status) -> grpc.StatusCode:
    return _GRPC_CODES[status.code]
