"""Retries: only UNAVAILABLE and RESOURCE_EXHAUSTED, with backoff, RetryInfo honoured, within
the call's deadline, and only for calls a retry cannot apply twice."""
from __future__ import annotations

import asyncio
import time

import grpc
import pytest

import trackstore
import trackstore.aio
from trackstore.retry import RetryPolicy

FAST = RetryPolicy(initial_backoff=0.01, max_backoff=0.05)


def test_two_unavailable_then_an_answer_is_retried_with_the_same_track_ids(fake_server):
    fake_server.fail(grpc.StatusCode.UNAVAILABLE, times=2)
    with trackstore.Client(fake_server.target, retry=FAST) as client:
        ids = client.track([{"EventType": "a"}, {"EventType": "b"}])
    sent = fake_server.track_ids()
    assert len(sent) == 3
    assert sent[0] == sent[1] == sent[2] == ids  # assigned once, before the first try
    assert all(track_id for track_id in ids)


def test_retry_info_delay_is_honoured(fake_server):
    fake_server.fail(grpc.StatusCode.RESOURCE_EXHAUSTED, retry_delay=0.6)
    with trackstore.Client(fake_server.target, retry=FAST) as client:
        started = time.monotonic()
        client.preview("Events | count")
    (first, *_), (second, *_) = fake_server.calls
    assert second - first >= 0.6  # the server's delay, not the 10-50 ms backoff
    assert time.monotonic() - started >= 0.6


def test_invalid_argument_is_never_retried(fake_server):
    fake_server.fail(grpc.StatusCode.INVALID_ARGUMENT)
    with trackstore.Client(fake_server.target, retry=FAST) as client:
        with pytest.raises(trackstore.InvalidArgument):
            client.track([{"EventType": "a"}])
    assert len(fake_server.calls) == 1


@pytest.mark.parametrize("code", [grpc.StatusCode.INTERNAL, grpc.StatusCode.NOT_FOUND,
                                  grpc.StatusCode.PERMISSION_DENIED,
                                  grpc.StatusCode.FAILED_PRECONDITION])
def test_other_codes_are_not_retried(fake_server, code):
    fake_server.fail(code)
    with trackstore.Client(fake_server.target, retry=FAST) as client:
        with pytest.raises(trackstore.TrackstoreError) as error:
            client.preview("Events | count")
    assert error.value.code == code and len(fake_server.calls) == 1


def test_track_without_client_track_ids_is_not_retried(fake_server):
    # The server may have stored the batch before the connection failed: a retry of events
    # without TrackIds would store them twice.
    fake_server.fail(grpc.StatusCode.UNAVAILABLE)
    with trackstore.Client(fake_server.target, retry=FAST, client_track_ids=False) as client:
        with pytest.raises(trackstore.Unavailable):
            client.track([{"EventType": "a"}])
    assert len(fake_server.calls) == 1


def test_retries_stop_at_max_attempts(fake_server):
    fake_server.fail(grpc.StatusCode.UNAVAILABLE, times=10)
    with trackstore.Client(fake_server.target, retry=FAST) as client:
        with pytest.raises(trackstore.Unavailable):
            client.preview("Events | count")
    assert len(fake_server.calls) == FAST.max_attempts


def test_no_retry_starts_that_would_end_after_the_deadline(fake_server):
    fake_server.fail(grpc.StatusCode.RESOURCE_EXHAUSTED, retry_delay=30)
    with trackstore.Client(fake_server.target, retry=FAST, timeout=2) as client:
        started = time.monotonic()
        with pytest.raises(trackstore.ResourceExhausted) as error:
            client.preview("Events | count")
    assert time.monotonic() - started < 2 and len(fake_server.calls) == 1
    assert error.value.retry_delay == pytest.approx(30)


def test_the_asyncio_client_retries_the_same_way(fake_server):
    fake_server.fail(grpc.StatusCode.UNAVAILABLE, times=2)

    async def track():
        async with trackstore.aio.Client(fake_server.target, retry=FAST) as client:
            return await client.track([{"EventType": "a"}])

    ids = asyncio.run(track())
    assert fake_server.track_ids() == [ids, ids, ids]


def test_the_asyncio_client_does_not_retry_invalid_argument(fake_server):
    fake_server.fail(grpc.StatusCode.INVALID_ARGUMENT)

    async def preview():
        async with trackstore.aio.Client(fake_server.target, retry=FAST) as client:
            await client.preview("Events")

    with pytest.raises(trackstore.InvalidArgument):
        asyncio.run(preview())
    assert len(fake_server.calls) == 1
