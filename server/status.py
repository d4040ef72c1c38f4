"""Maps every error to one gRPC status shape: a code, a clear message, and google.rpc details
(ErrorInfo with a reason always; BadRequest for invalid fields; RetryInfo for retryable refusals).
No traceback ever reaches a client."""
from __future__ import annotations

import datetime
import logging

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

import querylang

from . import errors

log = logging.getLogger(__name__)

DOMAIN = "trackstore.dev"

_CODES = {
    errors.InvalidArgument: code_pb2.INVALID_ARGUMENT,
    errors.NotFound: code_pb2.NOT_FOUND,
    errors.ResourceExhausted: code_pb2.RESOURCE_EXHAUSTED,
    errors.DeadlineExceeded: code_pb2.DEADLINE_EXCEEDED,
    errors.Cancelled: code_pb2.CANCELLED,
    errors.Unavailable: code_pb2.UNAVAILABLE,
    errors.FailedPrecondition: code_pb2.FAILED_PRECONDITION,
    errors.Unauthenticated: code_pb2.UNAUTHENTICATED,
    errors.PermissionDenied: code_pb2.PERMISSION_DENIED,
}


def _pack(message) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


def to_status(error: Exception, query_field: str = "query") -> status_pb2.Status:
    if isinstance(error, querylang.QueryError):
        error = errors.InvalidArgument(
            str(error),
            [errors.FieldViolation(query_field, str(error))],
            reason="QUERY_INVALID",
        )
    if not isinstance(error, errors.TrackstoreError):
        log.error("internal error", exc_info=error)
        error = errors.TrackstoreError("internal error; the operation can be retried")
    # The nearest class with a code: a more specific error keeps its kind's code.
    code = next((_CODES[kind] for kind in type(error).__mro__ if kind in _CODES), code_pb2.INTERNAL)
    details = [_pack(error_details_pb2.ErrorInfo(reason=error.reason, domain=DOMAIN))]
    if isinstance(error, errors.InvalidArgument):
        details.append(_pack(error_details_pb2.BadRequest(field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.description)
            for v in error.violations
        ])))
    if isinstance(error, errors.ResourceExhausted):
        delay = duration_pb2.Duration()
        delay.FromTimedelta(datetime.timedelta(seconds=error.retry_after_seconds))
        details.append(_pack(error_details_pb2.RetryInfo(retry_delay=delay)))
    return status_pb2.Status(code=code, message=error.message, details=details)


def abort(context: grpc.ServicerContext, error: Exception, query_field: str = "query"):
    context.abort_with_status(rpc_status.to_status(to_status(error, query_field)))


_GRPC_CODES = {code.value[0]: code for code in grpc.StatusCode}


def grpc_code(status: status_pb2.Status) -> grpc.StatusCode:
    return _GRPC_CODES[status.code]
