"""When a segment's refresh is due again after a failure (server/segments/refresh.is_due): a
segment that holds a materialisation keeps it and waits FAILED_RETRY_SECONDS; one never
computed answers "not in" for every device, so it is tried again sooner."""
from __future__ import annotations

import datetime as dt

import pytest

from trackstore_server.segments.model import Materialization, Segment, SegmentView
from trackstore_server.segments.refresh import (FAILED_RETRY_SECONDS,
                                                FIRST_FAILED_RETRY_SECONDS, is_due)
from trackstore_server.segments.values import fingerprint

ETAG = "etag-1"
SEGMENT = Segment(name="shoes", filter_definition="viewed", refresh_seconds=86_400.0)
FAILED_AT = dt.datetime(2026, 12, 7, 3, 0, 0)


def failed(generation: int) -> SegmentView:
    return SegmentView(SEGMENT, Materialization(
        generation=generation, attempted_at=FAILED_AT, attempted_for=fingerprint(SEGMENT, ETAG),
        last_error="Binder Error", failed_at=FAILED_AT))


@pytest.mark.parametrize("generation, retry", [(0, FIRST_FAILED_RETRY_SECONDS),
                                               (1796609864587515, FAILED_RETRY_SECONDS)])
def test_a_failed_refresh_is_due_again_after_its_retry_delay(generation, retry):
    view = failed(generation)
    assert not is_due(view, ETAG, FAILED_AT + dt.timedelta(seconds=retry - 1))
    assert is_due(view, ETAG, FAILED_AT + dt.timedelta(seconds=retry))


def test_a_segment_never_computed_is_retried_well_before_one_that_holds_devices():
    assert FIRST_FAILED_RETRY_SECONDS * 5 <= FAILED_RETRY_SECONDS
    after = FAILED_AT + dt.timedelta(seconds=FIRST_FAILED_RETRY_SECONDS)
    assert is_due(failed(0), ETAG, after) and not is_due(failed(7), ETAG, after)
