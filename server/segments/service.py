"""The facade the engine owns (`engine.segments`): filter definitions, segments, their
evaluation, and membership from memory, for the gRPC servicers and any other edge."""
from __future__ import annotations

import datetime as dt

from ..errors import BadRequest, FieldViolation
from ..limits import MAX_SEGMENTS_PER_CALL
from .catalog import CatalogWrites
from .definitions import Definitions
from .evaluation import Evaluation
from .membership import NOT_COMPUTED, MembershipIndex
from .paging import PageTokens
from .refresh import Refresher
from .scheduler import Scheduler
from .stored_segments import StoredSegments

# A refresh holds its segment's lease this long beyond the query time limit (slot wait and
# query, then the write), so that no other server starts one beside it.
LEASE_MARGIN_SECONDS = 120.0


class Segments:
    def __init__(self, engine, poll_seconds: float, query_limit_seconds: float):
        self.index = MembershipIndex()
        writes = CatalogWrites(engine.lake_cursor, engine.server_id)
        tokens = PageTokens(engine.cursor_signer)
        refresher = Refresher(engine, self.index, query_limit_seconds + LEASE_MARGIN_SECONDS)
        self._scheduler = Scheduler(engine, self.index, refresher, poll_seconds)
        self.definitions = Definitions(engine, writes, tokens,
                                       on_change=lambda scope: self._scheduler.wake())
        self.segments = StoredSegments(engine, writes, tokens, on_change=self._refresh_new,
                                       on_delete=self.index.drop)
        self.evaluation = Evaluation(engine, tokens)
        self._scheduler.start()

    def refresh(self, scope: str, name: str) -> dt.datetime:
        """Starts a refresh now; the segment holds the events as of the returned time once its
        computed_at is at or after it."""
        self.segments.get(scope, name)  # NotFound
        return self._scheduler.request(scope, name).requested_at

    def is_in(self, scope: str, device_id: str, names: list[str]) -> list[bool]:
        _check_device(device_id)
        if not 1 <= len(names) <= MAX_SEGMENTS_PER_CALL:
            raise BadRequest(
                f"segments must name 1 to {MAX_SEGMENTS_PER_CALL} segments, got {len(names)}",
                [FieldViolation("segments", f"1 to {MAX_SEGMENTS_PER_CALL} names")])
        return self.index.is_in(scope, device_id, names)

    def segments_of(self, scope: str, device_id: str) -> list[str]:
        _check_device(device_id)
        return self.index.segments_of(scope, device_id)

    def close(self) -> None:
        self._scheduler.close()

    def _refresh_new(self, scope: str, name: str) -> None:
        """A segment created or changed here: known at once (IsInSegment answers false, not
        NOT_FOUND, until its first refresh), and refreshed now."""
        self.index.put(scope, name, NOT_COMPUTED)
        self._scheduler.check(scope, name)


def _check_device(device_id: str) -> None:
    if not device_id:
        raise BadRequest("device_id is required", [FieldViolation("device_id", "must not be empty")])
