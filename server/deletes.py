"""DuckLake DELETEs of events, within the limit of deletions waiting for compaction.

Used by BatchDelete (all or none, one transaction), by the lake thread for the rows tombstones
name (`delete_rows`, `delete_row_ids`; server/tombstones.py), and by Delete on a shared catalog,
where there are no tombstones: there concurrent Delete calls queue on the lake writer thread,
and the ones queued together share one lookup, one DELETE and one commit, instead of a scan and
a commit each, which capped the rate of concurrent Deletes (bench/NOTES.md#deletes); a lone
Delete is the DELETE alone.
"""
from __future__ import annotations

from dataclasses import dataclass

import duckdb

from .errors import DeleteBacklog, NotFound
from .lake import EVENTS_TABLE, pending_deletions, scalar


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
    keys = list(dict.fromkeys((request.scope, request.track_id) for request in requests))
    # On failure the writer rolls the transaction back (lake.rollback).
    cursor.execute("BEGIN")
    pending = pending_deletions(cursor)
    removed_already = len(keys) == 1 and pending < max_pending
    if removed_already:
        # One id (the common case of a single client): the DELETE alone says whether it was
        # stored. Each DuckLake statement costs catalog reads and planning however little it
        # reads, so a lookup first would double such a Delete's time. A group of several needs
        # the lookup: a count of removed rows cannot tell which were there.
        stored = dict.fromkeys(keys, ()) if delete_rows(cursor, keys) else {}
    else:
        stored = _existing(cursor, keys)
    outcomes: list[Exception | None] = []
    accepted: list[tuple[str, str]] = []
    seen: set[tuple[str, str]] = set()
    for request in requests:
        key = (request.scope, request.track_id)
        if key not in stored or key in seen:
            outcomes.append(not_found(request))
        elif pending + len(accepted) + 1 > max_pending:
            outcomes.append(over_pending_limit(pending + len(accepted), max_pending,
                                               retry_seconds))
        else:
            seen.add(key)
            accepted.append(key)
            outcomes.append(None)
    if not removed_already:
        delete_row_ids(cursor, [row for key in accepted for row in stored[key]])
    cursor.execute("COMMIT")
    return outcomes


def not_found(request: DeleteRequest) -> NotFound:
    return NotFound(f"no event with TrackId {request.track_id!r} in scope {request.scope!r}")


def delete_batch(cursor: duckdb.DuckDBPyConnection, scope: str, track_ids: list[str], *,
                 allow_missing: bool, max_pending: int, retry_seconds: float) -> list[str]:
    """Deletes the events of one BatchDelete in one transaction, all or none (AIP-235), and
    returns the TrackIds deleted, in request order. One lookup and one DELETE for the lot."""
    keys = [(scope, track_id) for track_id in dict.fromkeys(track_ids)]
    # On failure the writer rolls the transaction back (writer.Writer._run_task).
    cursor.execute("BEGIN")
    stored = _existing(cursor, keys)
    missing = [key[1] for key in keys if key not in stored]
    if missing and not allow_missing:
        shown = ", ".join(repr(track_id) for track_id in missing[:5])
        raise NotFound(
            f"{len(missing)} of the {len(keys)} TrackIds are not stored in scope {scope!r} "
            f"({shown}{', ...' if len(missing) > 5 else ''}); nothing was deleted")
    found = [key for key in keys if key in stored]
    pending = pending_deletions(cursor)
    if pending + len(found) > max_pending:
        raise over_pending_limit(pending, max_pending, retry_seconds,
                                 f": {len(found)} more do not fit; nothing was deleted")
    delete_row_ids(cursor, [row for key in found for row in stored[key]])
    cursor.execute("COMMIT")
    return [track_id for _, track_id in found]


def over_pending_limit(pending: int, max_pending: int, retry_seconds: float,
                       detail: str = "") -> DeleteBacklog:
    return DeleteBacklog(
        f"{pending} deletions are waiting for compaction, the limit is {max_pending}{detail}; "
        f"retry after the next compaction",
        retry_after_seconds=retry_seconds,
    )


def _by_scope(keys: list[tuple[str, str]]) -> dict[str, list[str]]:
    ids: dict[str, list[str]] = {}
    for scope, track_id in keys:
        ids.setdefault(scope, []).append(track_id)
    return ids


def delete_rows(cursor: duckdb.DuckDBPyConnection, keys: list[tuple[str, str]]) -> int:
    """Deletes the lake's rows of `keys`; returns how many."""
    removed = 0
    for scope, ids in _by_scope(keys).items():
        for chunk in _chunks(ids):
            removed += scalar(
                cursor, f'DELETE FROM {EVENTS_TABLE} WHERE "Scope" = ? AND "TrackId" IN '
                f"({', '.join('?' * len(chunk))})", [scope, *chunk])
    return removed


# Constant IN lists let DuckDB skip files and row groups by their TrackId min/max (server-made
# ids are UUIDv7s of the event's time, and files are laid out by EventTime, so each row group
# holds a narrow range; see event_batch.event_track_id); a join with a registered table scans
# every TrackId (bench/NOTES.md#deletes).
_CHUNK = 500


def _chunks(items: list[str]):
    for start in range(0, len(items), _CHUNK):
        yield items[start:start + _CHUNK]


def _existing(cursor: duckdb.DuckDBPyConnection,
              keys: list[tuple[str, str]]) -> dict[tuple[str, str], list[int]]:
    """The stored keys among `keys`, each with the row ids of its events (deleting by row id
    then reads no TrackId again: a third of a DELETE by TrackId, bench/NOTES.md#deletes)."""
    found: dict[tuple[str, str], list[int]] = {}
    for scope, ids in _by_scope(keys).items():
        for chunk in _chunks(ids):
            for track_id, row in cursor.execute(
                f'SELECT "TrackId", rowid FROM {EVENTS_TABLE} WHERE "Scope" = ? AND '
                f"\"TrackId\" IN ({', '.join('?' * len(chunk))})", [scope, *chunk],
            ).fetchall():
                found.setdefault((scope, track_id), []).append(row)
    return found


def delete_row_ids(cursor: duckdb.DuckDBPyConnection, rows: list[int]) -> int:
    """Deletes the lake's rows of these row ids; returns how many."""
    removed = 0
    for chunk in _chunks(rows):
        removed += scalar(cursor, f"DELETE FROM {EVENTS_TABLE} WHERE rowid IN "
                                  f"({', '.join('?' * len(chunk))})", chunk)
    return removed
