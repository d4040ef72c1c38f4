"""Stage one of deletion, for a group of requests in one DuckLake transaction.

Concurrent Delete calls queue on the lake writer thread, and the ones queued
together share one existence lookup, one DELETE and one commit, instead of a scan and a commit
each (measured before grouping: about 50 deletes/s at 1 million events from 8 clients).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb
import pyarrow as pa

from .errors import NotFound, ResourceExhausted
from .lake import EVENTS_TABLE, PENDING_DELETIONS_TABLE


@dataclass(frozen=True)
class DeleteRequest:
    scope: str
    track_id: str


def delete_group(cursor: duckdb.DuckDBPyConnection, requests: list[DeleteRequest], *,
                 max_pending: int, retry_seconds: float) -> list[Exception | None]:
    """Deletes what it can; returns, per request, None (deleted) or the error to answer.

    In request order: an unknown TrackId (or one an earlier request of the group deleted) is
    NOT_FOUND; a deletion that would take the pending deletions over `max_pending` is refused
    with RESOURCE_EXHAUSTED and a retry delay, and changes nothing.
    """
    by_scope: dict[str, list[str]] = {}
    for request in requests:
        by_scope.setdefault(request.scope, []).append(request.track_id)
    # On failure the writer rolls the transaction back (lake.rollback).
    cursor.execute("BEGIN")
    stored = {
        (scope, track_id)
        for scope, ids in by_scope.items()
        for track_id in _existing(cursor, scope, sorted(set(ids)))
    }
    pending = cursor.execute(f"SELECT count(*) FROM {PENDING_DELETIONS_TABLE}").fetchone()[0]
    outcomes: list[Exception | None] = []
    accepted: list[tuple[str, str]] = []
    seen: set[tuple[str, str]] = set()
    for request in requests:
        key = (request.scope, request.track_id)
        if key not in stored or key in seen:
            outcomes.append(NotFound(
                f"no event with TrackId {request.track_id!r} in scope {request.scope!r}"))
        elif pending + len(accepted) + 1 > max_pending:
            outcomes.append(ResourceExhausted(
                f"{pending + len(accepted)} deletions are waiting for compaction, the limit "
                f"is {max_pending}; retry after the next compaction",
                retry_after_seconds=retry_seconds,
                reason="TOO_MANY_PENDING_DELETES",
            ))
        else:
            seen.add(key)
            accepted.append(key)
            outcomes.append(None)
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    for scope in by_scope:
        ids = [track_id for s, track_id in accepted if s == scope]
        for chunk in _chunks(ids):
            cursor.execute(
                f'DELETE FROM {EVENTS_TABLE} WHERE "Scope" = ? AND "TrackId" IN '
                f"({', '.join('?' * len(chunk))})", [scope, *chunk],
            )
    if accepted:
        deleted = pa.table({
            "Scope": [scope for scope, _ in accepted],
            "TrackId": [track_id for _, track_id in accepted],
            "DeletedAt": pa.array([now] * len(accepted), pa.timestamp("us")),
        })
        cursor.register("deleted", deleted)
        cursor.execute(f"INSERT INTO {PENDING_DELETIONS_TABLE} SELECT * FROM deleted")
        cursor.unregister("deleted")
    cursor.execute("COMMIT")
    return outcomes


# Constant IN lists let DuckDB skip files and row groups by their TrackId min/max (UUIDv7 ids
# are time-ordered, so each file holds a narrow range); a join with a registered table scans
# every TrackId (measured: 134 ms a delete at a million events instead of 20 ms).
_CHUNK = 500


def _chunks(items: list[str]):
    for start in range(0, len(items), _CHUNK):
        yield items[start:start + _CHUNK]


def _existing(cursor: duckdb.DuckDBPyConnection, scope: str, ids: list[str]) -> list[str]:
    found = []
    for chunk in _chunks(ids):
        found += [row[0] for row in cursor.execute(
            f'SELECT DISTINCT "TrackId" FROM {EVENTS_TABLE} WHERE "Scope" = ? AND "TrackId" IN '
            f"({', '.join('?' * len(chunk))})", [scope, *chunk],
        ).fetchall()]
    return found
