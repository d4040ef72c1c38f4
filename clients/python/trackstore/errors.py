"""The client's exceptions: one class per gRPC status code a caller may want to catch.

Every failed call raises a `TrackstoreError` subclass carrying the status `code`, the server's
`message`, the packed `details` (google.rpc Any messages) and what those say, parsed: the
ErrorInfo `reason`, BadRequest `field_violations` and the RetryInfo `retry_delay` in seconds.
"""
from __future__ import annotations

from dataclasses import dataclass

import grpc
from google.rpc import error_details_pb2, status_pb2


@dataclass(frozen=True)
class FieldViolation:
    """One BadRequest entry: which request field was wrong, and why."""

    field: str
    description: str


class TrackstoreError(Exception):
    """A failed call: the gRPC status code, its message, and the google.rpc details."""

    def __init__(self, code: grpc.StatusCode | None, message: str, details: list | None = None):
        name = code.name if code is not None else "ERROR"
        super().__init__(f"{name}: {message}")
        self.code = code
        self.message = message
        self.details = list(details or [])
        self.reason: str | None = None
        self.domain: str | None = None
        self.metadata: dict[str, str] = {}
        self.field_violations: list[FieldViolation] = []
        self.retry_delay: float | None = None
        for packed in self.details:
            self._read_detail(packed)

    @staticmethod
    def from_rpc_error(error) -> "TrackstoreError":
        """The exception (of the code's class) for a failed grpc or grpc.aio call."""
        return from_rpc_error(error)

    def _read_detail(self, packed) -> None:
        if packed.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            packed.Unpack(info)
            self.reason, self.domain, self.metadata = info.reason, info.domain, dict(info.metadata)
        elif packed.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            packed.Unpack(bad)
            self.field_violations.extend(
                FieldViolation(v.field, v.description) for v in bad.field_violations)
        elif packed.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            retry = error_details_pb2.RetryInfo()
            packed.Unpack(retry)
            self.retry_delay = retry.retry_delay.ToTimedelta().total_seconds()


class Cancelled(TrackstoreError):
    """CANCELLED"""


class Unknown(TrackstoreError):
    """UNKNOWN"""


class InvalidArgument(TrackstoreError):
    """INVALID_ARGUMENT: the request is wrong (see `field_violations`); never retried."""


class DeadlineExceeded(TrackstoreError):
    """DEADLINE_EXCEEDED: the call's deadline passed (the client's, or a query's time limit)."""


class NotFound(TrackstoreError):
    """NOT_FOUND"""


class AlreadyExists(TrackstoreError):
    """ALREADY_EXISTS"""


class PermissionDenied(TrackstoreError):
    """PERMISSION_DENIED: the API key does not grant this scope."""


class ResourceExhausted(TrackstoreError):
    """RESOURCE_EXHAUSTED: refused for now; `retry_delay` says when to try again."""


class FailedPrecondition(TrackstoreError):
    """FAILED_PRECONDITION"""


class Aborted(TrackstoreError):
    """ABORTED"""


class OutOfRange(TrackstoreError):
    """OUT_OF_RANGE"""


class Unimplemented(TrackstoreError):
    """UNIMPLEMENTED"""


class Internal(TrackstoreError):
    """INTERNAL"""


class Unavailable(TrackstoreError):
    """UNAVAILABLE: the server cannot be reached or cannot take the call now; retried."""


class DataLoss(TrackstoreError):
    """DATA_LOSS"""


class Unauthenticated(TrackstoreError):
    """UNAUTHENTICATED: the API key is missing or wrong."""


_BY_CODE: dict[grpc.StatusCode, type[TrackstoreError]] = {
    grpc.StatusCode.CANCELLED: Cancelled,
    grpc.StatusCode.UNKNOWN: Unknown,
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgument,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceeded,
    grpc.StatusCode.NOT_FOUND: NotFound,
    grpc.StatusCode.ALREADY_EXISTS: AlreadyExists,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDenied,
    grpc.StatusCode.RESOURCE_EXHAUSTED: ResourceExhausted,
    grpc.StatusCode.FAILED_PRECONDITION: FailedPrecondition,
    grpc.StatusCode.ABORTED: Aborted,
    grpc.StatusCode.OUT_OF_RANGE: OutOfRange,
    grpc.StatusCode.UNIMPLEMENTED: Unimplemented,
    grpc.StatusCode.INTERNAL: Internal,
    grpc.StatusCode.UNAVAILABLE: Unavailable,
    grpc.StatusCode.DATA_LOSS: DataLoss,
    grpc.StatusCode.UNAUTHENTICATED: Unauthenticated,
}


def error_for(code: grpc.StatusCode, message: str, details: list | None = None) -> TrackstoreError:
    """The exception of `code`'s class (the base class for a code without one)."""
    return _BY_CODE.get(code, TrackstoreError)(code, message, details)


def from_rpc_error(error) -> TrackstoreError:
    """The exception for a failed call of grpc or grpc.aio, its google.rpc details unpacked."""
    if not hasattr(error, "code"):  # an RpcError that is no call (a closed channel)
        return error_for(grpc.StatusCode.UNKNOWN, str(error))
    details = []
    for key, value in error.trailing_metadata() or ():
        if key == _DETAILS_KEY:
            details = list(status_pb2.Status.FromString(value).details)
    message = error.details() or ""
    if message == _UNDECODABLE:
        message += _UNDECODABLE_WHY
    return error_for(error.code(), message, details)


# gRPC's own INTERNAL status when this process could not decode an answer. The cause met in
# practice: protobuf's Python decoder reads at most 100 nested messages, and each level of a
# User or Payload object is three of them in a Struct row.
_UNDECODABLE = "Exception deserializing response!"
_UNDECODABLE_WHY = (" (this client could not decode the answer; a User or Payload value nested "
                    "deeper than about 32 levels is more than protobuf's Python decoder reads)")


_DETAILS_KEY = "grpc-status-details-bin"  # where google.rpc.Status travels (grpcio-status)
