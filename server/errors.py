"""What went wrong, in the engine's own terms: each error is named after what happened.

The edge maps each kind to a status once (server/api/status.py: the gRPC code, and the HTTP
status derived from it). `reason` is the stable UPPER_SNAKE code clients see (google.rpc
ErrorInfo); `message` the text they read.
"""
from __future__ import annotations

import errno
from dataclasses import dataclass


class TrackstoreError(Exception):
    """Base of the errors a client can act on; anything else is an internal error.

    A kind declares its reason, and the message it has when none is given, in its class line:
    `class NotFound(TrackstoreError, reason="NOT_FOUND")`.
    """

    reason = "ERROR"
    default_message = ""

    def __init_subclass__(cls, reason: str | None = None, message: str | None = None, **kwargs):
        super().__init_subclass__(**kwargs)
        if reason is not None:
            cls.reason = reason
        if message is not None:
            cls.default_message = message

    def __init__(self, message: str | None = None):
        message = self.default_message if message is None else message
        super().__init__(message)
        self.message = message


@dataclass
class FieldViolation:
    field: str
    description: str


# -- the request is wrong --------------------------------------------------------------------

class BadRequest(TrackstoreError, reason="INVALID_ARGUMENT"):
    """A request field is invalid; `violations` name the fields and what is wrong with each."""

    def __init__(self, message: str, violations: list[FieldViolation] | None = None,
                 reason: str | None = None):
        super().__init__(message)
        self.violations = violations or [FieldViolation("", message)]
        if reason:
            self.reason = reason


class BadEvent(BadRequest, reason="INVALID_EVENT"):
    """An event of a Track batch cannot be stored as it is."""


class BatchTooLarge(BadRequest, reason="BATCH_TOO_LARGE"):
    """A Track batch holds more events than one may (limits.py)."""


class StreamTooLong(BadRequest, reason="STREAM_TOO_LONG"):
    """A TrackStream's acknowledgement would no longer fit one message (limits.py)."""


class BadQuery(BadRequest, reason="QUERY_INVALID"):
    """The compiler refused a query (querylang.QueryError, `message` its text) given in the
    request field `field`, at `line` and `column` (1-based) of that text."""

    def __init__(self, message: str, field: str, line: int = 1, column: int = 1):
        super().__init__(message, [FieldViolation(field, message)])
        self.line = line
        self.column = column


class NotFound(TrackstoreError, reason="NOT_FOUND"):
    """What the request names is not stored: an event's TrackId, a filter definition, a
    segment."""


class AlreadyExists(TrackstoreError, reason="ALREADY_EXISTS"):
    """A create names something its scope already has (an export configuration, a filter
    definition, a segment)."""


class StaleEtag(TrackstoreError, reason="ETAG_MISMATCH"):
    """A conditional write's etag is no longer current: another write came first. Read again,
    then write again."""


class NotAuthenticated(TrackstoreError, reason="API_KEY_INVALID"):
    """No API key, or one the server does not know."""


class NotAllowed(TrackstoreError, reason="SCOPE_NOT_ALLOWED"):
    """The API key may not use the scope (or administer the store)."""


class PreconditionFailed(TrackstoreError, reason="FAILED_PRECONDITION"):
    """The request is well formed but the state of things does not allow it; `reason` says
    which state (an expired export cursor, a destination that refuses the probe, a filter
    definition that segments use)."""

    def __init__(self, message: str, reason: str | None = None):
        super().__init__(message)
        if reason:
            self.reason = reason


class CursorExpired(PreconditionFailed, reason="CURSOR_EXPIRED"):
    """An export cursor outlived the snapshot it reads (--export-cursor-seconds)."""


class ExportBusy(PreconditionFailed, reason="EXPORT_RUNNING"):
    """Another run of the same export configuration holds its lease."""


class DefinitionInUse(PreconditionFailed, reason="FILTER_DEFINITION_IN_USE"):
    """A filter definition that segments use cannot be deleted."""


class StaleCursor(PreconditionFailed, reason="CURSOR_STALE"):
    """A page token continues a segment's materialisation that a refresh has replaced since."""


# -- the server cannot do it now --------------------------------------------------------------

class Overloaded(TrackstoreError, reason="OVERLOADED"):
    """Refused for now: retrying after `retry_after_seconds` may succeed."""

    def __init__(self, message: str, retry_after_seconds: float):
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class DeleteBacklog(Overloaded, reason="TOO_MANY_PENDING_DELETES"):
    """More deletions would wait for compaction than the store allows."""


class QueryQueueFull(Overloaded, reason="QUERY_QUEUE_FULL"):
    """Every query slot is taken and as many queries wait as may."""


class QueryBudgetExceeded(Overloaded, reason="QUERY_BUDGET_EXCEEDED"):
    """The API key has as many queries running or waiting as its `max_queries` allows."""


class RateLimited(Overloaded, reason="RATE_LIMITED"):
    """The API key made more calls than its `requests_per_second` allows."""


class QueryTimeout(TrackstoreError, reason="QUERY_TIMEOUT"):
    """A query ran past its time limit (the server's, or the client's deadline) and was stopped
    inside DuckDB."""

    def __init__(self, limit_seconds: float):
        super().__init__(
            f"the query ran longer than its limit of {limit_seconds:g} s and was stopped; "
            f"narrow the time range or filter more selectively"
        )
        self.limit_seconds = limit_seconds


class QueryCancelled(TrackstoreError, reason="CANCELLED",
                     message="the client cancelled the query"):
    """The client went away, or cancelled the call, while its query ran."""


class StoreFormatNewer(TrackstoreError, reason="STORE_FORMAT_NEWER"):
    """A newer release has upgraded the store; this server must not write to it (store.py).
    Retrying does not help until the server is upgraded."""


class Unavailable(TrackstoreError, reason="UNAVAILABLE"):
    """The server cannot serve the call at the moment; the same call can succeed shortly."""


class Starting(Unavailable, message="the server is starting; retry shortly"):
    """The store is not open yet."""


class ShuttingDown(Unavailable, message="the server is shutting down"):
    """The server takes no more work: it is closing."""


class IngestStalled(Unavailable, message="the store cannot write to the lake at the moment and "
                                         "holds as many unflushed events as it may; retry later"):
    """The lake has taken no flush for too long, and memory holds as many events as it may."""


class StorageFailed(Unavailable, message="the storage engine failed and the server is "
                                         "restarting; retry shortly"):
    """DuckDB failed fatally: it invalidates the database, so every later call would fail too.
    The engine reports it to its owner (server/api/app.py), which restarts the server."""


class DiskFull(Unavailable, reason="DISK_FULL"):
    """The data directory's disk has no room for the write-ahead log: nothing of the call was
    stored, and the same call succeeds once space is freed (no restart needed)."""


class StorageWriteFailed(Unavailable, reason="STORAGE_WRITE_FAILED"):
    """The data directory could not be written (an I/O error): nothing of the call was stored."""


def write_failure(error: OSError, what: str,
                  outcome: str = "nothing of this call was stored") -> Unavailable:
    """The error to answer when writing `what` (to the data directory) failed with `error`."""
    reason = error.strerror or str(error)
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        return DiskFull(f"the data directory's disk is full: {what} failed ({reason}); "
                        f"{outcome}; retry once space is freed")
    return StorageWriteFailed(f"the data directory could not be written: {what} failed "
                              f"({reason}); {outcome}; retry shortly")
