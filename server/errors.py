"""Domain errors of the engine and service. The servicer maps each to one gRPC status."""
from __future__ import annotations

from dataclasses import dataclass


class TrackstoreError(Exception):
    """Base of errors a client can act on. `reason` is a stable UPPER_SNAKE code (ErrorInfo)."""

    reason = "ERROR"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass
class FieldViolation:
    field: str
    description: str


class InvalidArgument(TrackstoreError):
    reason = "INVALID_ARGUMENT"

    def __init__(self, message: str, violations: list[FieldViolation] | None = None,
                 reason: str | None = None):
        super().__init__(message)
        self.violations = violations or [FieldViolation("", message)]
        if reason:
            self.reason = reason


class NotFound(TrackstoreError):
    reason = "NOT_FOUND"


class ResourceExhausted(TrackstoreError):
    reason = "RESOURCE_EXHAUSTED"

    def __init__(self, message: str, retry_after_seconds: float, reason: str | None = None):
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds
        if reason:
            self.reason = reason


class DeadlineExceeded(TrackstoreError):
    reason = "QUERY_TIMEOUT"


class Cancelled(TrackstoreError):
    reason = "CANCELLED"


class Unavailable(TrackstoreError):
    reason = "UNAVAILABLE"


class FailedPrecondition(TrackstoreError):
    """The system is not in the state the call needs, and retrying will not change that."""
    reason = "FAILED_PRECONDITION"


class Unauthenticated(TrackstoreError):
    reason = "API_KEY_INVALID"


class PermissionDenied(TrackstoreError):
    reason = "SCOPE_NOT_ALLOWED"
