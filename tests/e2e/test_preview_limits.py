"""Preview's time limit, cancellation and admission control, with a query made to run long.

The store holds 60,000 events with 8 kB Payloads (about 480 MB of JSON): a `has` over a Payload
property parses all of it, which takes seconds on this machine. (Many rows rather than a few huge
ones: DuckDB checks for an interrupt between vectors of 2048 rows.) One query runs at a time
(--max-concurrent-queries 1), so a quick query answering promptly after a heavy one proves the
heavy one was stopped inside DuckDB and released its slot, not merely abandoned.
"""
from __future__ import annotations

import concurrent.futures
import time

import grpc
import pytest
from google.rpc import error_details_pb2

from trackstore.v1 import trackevents_pb2 as pb
from trackstore_client import TrackstoreError
from helpers import detail, error_reason, event
from trackstore_client.local import LocalServer

HEAVY = "Events | where Payload.blob has 'needle' | count"
QUICK = "Events | where EventType == 'light' | count"
ONE_AT_A_TIME = ("--max-concurrent-queries", "1", "--max-queued-queries", "0")


@pytest.fixture(scope="module")
def heavy_data_dir(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("heavy") / "data"
    # The blob stays JSON (no column shredded at write time): the query must stay heavy.
    server = LocalServer(data_dir, "--shred-min-events", "0").start()
    blob = ("lorem ipsum dolor sit amet " * 300)[:8_000]
    with server.client() as client:
        client.track_stream("heavy", (
            [pb.TrackEvent(event_type="heavy", payload_json='{"blob": "%s %d"}' % (blob, b * 1000 + i))
             for i in range(1000)]
            for b in range(60)
        ))
        client.track("heavy", [event(1, EventType="light")])
    server.stop()
    return data_dir


@pytest.fixture
def heavy_server(heavy_data_dir):
    started = []

    def start(*flags):
        server = LocalServer(heavy_data_dir, *ONE_AT_A_TIME, *flags).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def _quick_query_answers_promptly(server) -> float:
    started = time.monotonic()
    with server.client() as client:
        assert client.preview("heavy", QUICK)["items"] == [{"Count": 1}]
    return time.monotonic() - started


def test_server_time_limit_interrupts_the_query(heavy_server):
    server = heavy_server("--preview-timeout-seconds", "0.3")
    with server.client() as client:
        started = time.monotonic()
        with pytest.raises(TrackstoreError) as error:
            client.preview("heavy", HEAVY)
        elapsed = time.monotonic() - started
    assert error.value.code == grpc.StatusCode.DEADLINE_EXCEEDED
    assert "limit of 0.3 s" in error.value.message
    assert error_reason(error.value) == "QUERY_TIMEOUT"
    assert elapsed < 1.5, f"interrupted after {elapsed:.2f} s"
    assert _quick_query_answers_promptly(server) < 1.0


def test_client_deadline_is_honoured_inside_the_engine(heavy_server):
    server = heavy_server()
    with server.client(timeout=0.3) as client:
        with pytest.raises(TrackstoreError) as error:
            client.preview("heavy", HEAVY)
    assert error.value.code == grpc.StatusCode.DEADLINE_EXCEEDED
    # The slot is free again within moments: the engine stopped the query too.
    time.sleep(0.3)
    assert _quick_query_answers_promptly(server) < 1.0


def test_cancelled_call_stops_the_query(heavy_server):
    server = heavy_server()
    with server.client() as client:
        call = client.stub.Preview.future(pb.PreviewRequest(scope="heavy", query=HEAVY))
        time.sleep(0.3)
        assert call.cancel()
        time.sleep(0.3)
        assert _quick_query_answers_promptly(server) < 1.0


def test_full_queue_is_resource_exhausted_and_ingest_keeps_flowing(heavy_server):
    server = heavy_server()
    with server.client() as client, concurrent.futures.ThreadPoolExecutor(1) as pool:
        running = pool.submit(client.preview, "heavy", HEAVY)
        # Until the heavy query holds the one slot, a quick one may still take it and answer.
        deadline = time.monotonic() + 10
        while True:
            time.sleep(0.1)
            try:
                client.preview("heavy", QUICK)
            except TrackstoreError as error:
                refused = error
                break
            assert not running.done() and time.monotonic() < deadline, "never refused"
        assert refused.code == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert detail(refused, error_details_pb2.RetryInfo) is not None
        # Writes do not queue behind queries.
        started = time.monotonic()
        client.track("heavy", [event(2, EventType="during")])
        assert time.monotonic() - started < 1.0
        assert not running.done(), "the heavy query should still be running"
        assert running.result()["items"] == [{"Count": 0}]
