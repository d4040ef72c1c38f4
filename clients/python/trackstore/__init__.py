"""trackstore: the Python client of the trackstore event store.

    import trackstore

    client = trackstore.Client("localhost:50051", api_key=None, tls=False, scope="default")
    client.track([{"EventType": "pageview", "Payload": {"sku": "a-1"}}])
    rows = client.preview("Events | summarize count() by EventType")
    print(rows.to_arrow())

`trackstore.aio.Client` is the same over asyncio; `client.tracker()` batches many small
`track(event)` calls; failed calls raise `trackstore.TrackstoreError` subclasses. The generated
message and service stubs are `trackstore.v1`. Nothing here imports the server.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

# Loaded on first use: the server imports the stubs (`trackstore.v1`), hence this package, and
# needs none of the client.
_HOMES = {
    "aio": None,
    "Client": "client",
    "ListWindowWarning": "calls",
    "Column": "results", "ListResult": "results", "PreviewResult": "results",
    "NO_RETRY": "retry", "RetryPolicy": "retry",
    "Tracker": "tracker", "TrackerFull": "tracker",
    "event_from_json": "events", "event_to_json": "events",
    **{name: "errors" for name in (
        "Aborted", "AlreadyExists", "Cancelled", "DataLoss", "DeadlineExceeded",
        "FailedPrecondition", "FieldViolation", "Internal", "InvalidArgument", "NotFound",
        "OutOfRange", "PermissionDenied", "ResourceExhausted", "TrackstoreError",
        "Unauthenticated", "Unavailable", "Unimplemented", "Unknown")},
}
__all__ = sorted(_HOMES)


def __getattr__(name: str):
    if name not in _HOMES:
        raise AttributeError(f"module 'trackstore' has no attribute {name!r}")
    home = _HOMES[name]
    value = importlib.import_module(f".{home or name}", __name__)
    value = value if home is None else getattr(value, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOMES))


if TYPE_CHECKING:
    from . import aio  # noqa: F401
    from .calls import ListWindowWarning  # noqa: F401
    from .client import Client  # noqa: F401
    from .errors import *  # noqa: F401,F403
    from .events import event_from_json, event_to_json  # noqa: F401
    from .results import Column, ListResult, PreviewResult  # noqa: F401
    from .retry import NO_RETRY, RetryPolicy  # noqa: F401
    from .tracker import Tracker, TrackerFull  # noqa: F401
