"""The refresh of one segment: its definition evaluated with its values, the distinct DeviceIds
written as a new generation of `segment_members`, the old ones deleted, in one transaction.

One server at a time refreshes a segment: the refresh holds the lease
`segment-refresh/<scope>/<segment>` (server/leases.py) and, once it holds it, reads the
segment's state again and skips the work when another server has done it meanwhile (the state
then shows an attempt at or after the time the refresh was asked for, and is not due). The
query reads what Preview reads (the scope's events, flushed or not), without the row limit, in
one of the engine's query slots, under its query time limit. A failed refresh keeps the
materialisation and records the error in the segment's state.
"""
from __future__ import annotations

import datetime as dt
import enum
import logging
import time
from dataclasses import dataclass

from .. import leases
from ..errors import NotFound, TrackstoreError
from . import catalog, membership
from .catalog import now
from .definitions import DEVICE_COLUMN, compile_segment
from .model import FilterDefinition, Materialization, SegmentView
from .values import fingerprint
from .membership import MembershipIndex
from .tables import MEMBERS_TABLE

log = logging.getLogger(__name__)

# A failed refresh is tried again after this long, or its refresh interval if shorter; sooner
# while the segment has never been computed: it answers "not in" for every device meanwhile.
FAILED_RETRY_SECONDS = 300.0
FIRST_FAILED_RETRY_SECONDS = 30.0


@dataclass(frozen=True)
class Job:
    scope: str
    segment: str
    # When RefreshSegment asked for it: the refresh must read the events as of then or later.
    # None for a scheduled refresh, which runs only while the segment is due.
    requested_at: dt.datetime | None = None


class Outcome(enum.Enum):
    DONE = "done"  # refreshed, or the refresh failed and its error is recorded
    SKIPPED = "skipped"  # not needed (any more): another server did it
    BUSY = "busy"  # another server holds the segment's lease
    GONE = "gone"  # the segment was deleted


def is_due(view: SegmentView, definition_etag: str | None, at: dt.datetime) -> bool:
    """True when the segment has never been attempted, changed (or its definition did) since
    its last attempt, or its last attempt is older than its interval."""
    state = view.state
    if state.attempted_at is None or state.attempted_for != fingerprint(view.segment,
                                                                         definition_etag):
        return True
    wait = view.segment.refresh_seconds
    if state.last_error:
        wait = min(wait, FAILED_RETRY_SECONDS if state.generation else FIRST_FAILED_RETRY_SECONDS)
    return at >= state.attempted_at + dt.timedelta(seconds=wait)


def _needed(job: Job, view: SegmentView, definition_etag: str | None, at: dt.datetime) -> bool:
    if job.requested_at is not None:
        attempted = view.state.attempted_at
        if attempted is None or attempted < job.requested_at:
            return True
    return is_due(view, definition_etag, at)


class Refresher:
    def __init__(self, engine, index: MembershipIndex, lease_seconds: float):
        self._engine = engine
        self._index = index
        self._lease_seconds = lease_seconds
        self.interrupt = None  # stops the running refresh's query (set while one runs)
        self.running: tuple[str, str] | None = None  # (scope, segment) of the running refresh

    def run(self, job: Job) -> Outcome:
        lease = f"segment-refresh/{job.scope}/{job.segment}"
        holder = self._engine.server_id
        with self._engine.lake_cursor() as cursor:
            if not leases.claim(cursor, lease, holder, self._lease_seconds):
                return Outcome.BUSY
            self.running = (job.scope, job.segment)
            try:
                return self._run_holding(cursor, job)
            finally:
                self.running = None
                leases.release(cursor, lease, holder)

    def _run_holding(self, cursor, job: Job) -> Outcome:
        mark = self._index.mark()
        view = catalog.segment(cursor, job.scope, job.segment)
        if view is None:
            return Outcome.GONE
        definition = catalog.definition(cursor, job.scope, view.segment.filter_definition)
        started = now()
        if not _needed(job, view, definition.etag if definition else None, started):
            return Outcome.SKIPPED
        clock = time.monotonic()
        try:
            if definition is None:
                raise NotFound(f"its filter definition '{view.segment.filter_definition}' is gone")
            members, count, load_seconds = self._engine.read_scope(
                job.scope, lambda query_cursor, source: self._materialize(
                    query_cursor, source, job.scope, view, definition, started),
                on_cancel=self._on_cancel)
        except Exception as error:  # noqa: BLE001 - recorded in the state, the server goes on
            self._record_failure(cursor, job, view, definition, started, error)
            return Outcome.DONE
        self._index.put(job.scope, job.segment, members, since=mark)
        log.info("segment %s/%s refreshed: generation %d, %d devices in %.3f s, loaded in "
                 "%.3f s", job.scope, job.segment, members.generation, count,
                 time.monotonic() - clock - load_seconds, load_seconds)
        return Outcome.DONE

    def _on_cancel(self, interrupt) -> bool:
        self.interrupt = interrupt
        return True

    def _materialize(self, cursor, source, scope: str, view: SegmentView,
                     definition: FilterDefinition, started: dt.datetime):
        """Within the query slot: the new generation written, the others deleted, the state
        recorded, in one transaction; (its Members, devices, seconds their load took). The
        Members are read within the transaction, so that they are in memory a moment after
        the commit rather than a load's time after it."""
        compiled = compile_segment(definition, view.segment.parameters, "segment",
                                   source.schema, source.sql)
        generation = max(view.state.generation + 1, time.time_ns() // 1000)
        done_for = fingerprint(view.segment, definition.etag)
        # Unsorted: an ORDER BY made the write single-threaded and took twice the query's time
        # (bench/NOTES.md#segments); a page of DeviceIds is a top-N over the generation instead.
        insert = (f"INSERT INTO {MEMBERS_TABLE} SELECT $seg_scope, $seg_name, $seg_generation, "
                  f'"{DEVICE_COLUMN}" FROM ({distinct_devices(compiled.sql)})')
        params = {**compiled.params, **source.params, "seg_scope": scope,
                  "seg_name": view.segment.name, "seg_generation": generation}

        def change(c):
            count = c.execute(insert, params).fetchall()[0][0]
            c.execute(f'DELETE FROM {MEMBERS_TABLE} WHERE "Scope" = ? AND "Segment" = ? '
                      f'AND "Generation" <> ?', [scope, view.segment.name, generation])
            catalog.write_state(c, scope, view.segment.name, Materialization(
                generation, started, count, done_for, started, done_for))
            loading = time.monotonic()
            members = membership.load(c, scope, view.segment.name, generation)
            return members, count, time.monotonic() - loading

        try:
            return catalog.in_transaction(cursor, change)
        finally:
            self.interrupt = None

    def _record_failure(self, cursor, job: Job, view: SegmentView,
                        definition: FilterDefinition | None, started: dt.datetime,
                        error: Exception) -> None:
        message = (error.message if isinstance(error, TrackstoreError)
                   else str(error).splitlines()[0] if str(error) else type(error).__name__)
        log.warning("segment %s/%s: refresh failed: %s", job.scope, job.segment, message,
                    exc_info=not isinstance(error, TrackstoreError))
        attempted_for = fingerprint(view.segment, definition.etag if definition else None)
        state = view.state
        failed = Materialization(state.generation, state.computed_at, state.device_count,
                                 state.computed_for, started, attempted_for, message, now())
        catalog.in_transaction(cursor, lambda c: catalog.write_state(
            c, job.scope, job.segment, failed))


def distinct_devices(query_sql: str) -> str:
    """The distinct DeviceIds of a query's rows; a row without one (null or empty) adds none."""
    return (f'SELECT DISTINCT "{DEVICE_COLUMN}" FROM ({query_sql}) AS _matching '
            f'WHERE "{DEVICE_COLUMN}" IS NOT NULL AND "{DEVICE_COLUMN}" <> \'\'')
