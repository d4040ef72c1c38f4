"""Stage one of deletion, for a group of requests in one DuckLake transaction.

Concurrent Delete calls queue on the writer thread like Track calls, and the ones queued
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
    wanted = pa.table({
        "i": pa.array(range(len(requests)), pa.int64()),
        "Scope": [r.scope for r in requests],
        "TrackId": [r.track_id for r in requests],
    })
    cursor.register("wanted", wanted)
    try:
        cursor.execute("BEGIN")
        found = {row[0] for row in cursor.execute(
            f"""SELECT w.i FROM wanted w WHERE EXISTS (
                    SELECT 1 FROM {EVENTS_TABLE} e
                    WHERE e."Scope" = w."Scope" AND e."TrackId" = w."TrackId")"""
        ).fetchall()}
        pending = cursor.execute(f"SELECT count(*) FROM {PENDING_DELETIONS_TABLE}").fetchone()[0]
        outcomes: list[Exception | None] = []
        accepted: list[int] = []
        seen: set[tuple[str, str]] = set()
        for index, request in enumerate(requests):
            key = (request.scope, request.track_id)
            if index not in found or key in seen:
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
                accepted.append(index)
                outcomes.append(None)
        if accepted:
            cursor.register("accepted", wanted.take(pa.array(accepted, pa.int64())))
            cursor.execute(
                f"""DELETE FROM {EVENTS_TABLE} WHERE EXISTS (
                        SELECT 1 FROM accepted a
                        WHERE a."Scope" = {EVENTS_TABLE}."Scope"
                          AND a."TrackId" = {EVENTS_TABLE}."TrackId")"""
            )
            cursor.execute(
                f'INSERT INTO {PENDING_DELETIONS_TABLE} SELECT "Scope", "TrackId", ? FROM accepted',
                [dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)],
            )
        cursor.execute("COMMIT")
        return outcomes
    finally:
        cursor.unregister("wanted")
        try:
            cursor.unregister("accepted")
        except duckdb.Error:
            pass
