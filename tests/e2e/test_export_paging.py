"""The paged export (ExportService.Export) through the real server: each event once, in
(EventTime, TrackId) order, from the snapshot of the first page while Track and Delete go on;
its filters; cursors that are not this export's are INVALID_ARGUMENT, expired ones
FAILED_PRECONDITION; compaction keeps the snapshot a cursor reads, and only while it does."""
from __future__ import annotations

import threading
import time

import grpc
import pytest

from trackstore_client import TrackstoreError
from export_support import Calls
from helpers import error_reason, event, rows_in_data_files

EVENTS = 25_000


def _track_many(client, scope: str, count: int) -> list[str]:
    events = [event(i, EventTime=f"2021-03-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:00Z")
              for i in range(count)]
    return client.track_stream(scope, [events[i:i + 5000] for i in range(0, count, 5000)])


def test_an_export_in_pages_returns_each_event_once_while_track_and_delete_run(start_server):
    server = start_server("--flush-seconds", "0.2")
    calls = Calls(server)
    with server.client() as client:
        stored = _track_many(client, "default", EVENTS)
        items, cursor = calls.page(page_size=1000)
        stop = threading.Event()
        changes = {"tracked": [], "deleted": []}

        def change_the_scope():
            i = 0
            while not stop.is_set() and i < 200:
                changes["tracked"] += client.track("default", [event(10**6 + i)])
                client.delete("default", stored[i * 97])
                changes["deleted"].append(stored[i * 97])
                i += 1

        worker = threading.Thread(target=change_the_scope)
        worker.start()
        pages = 1
        try:
            while cursor:
                page, cursor = calls.page(page_size=1000, cursor=cursor)
                items += page
                pages += 1
        finally:
            stop.set()
            worker.join()
    ids = [item["TrackId"] for item in items]
    assert pages == EVENTS // 1000
    assert len(ids) == len(set(ids)) == EVENTS
    assert set(ids) == set(stored), "the deleted events are in the snapshot, the new ones not"
    assert changes["deleted"] and changes["tracked"]
    keys = [(item["EventTime"], item["TrackId"]) for item in items]
    assert keys == sorted(keys)


def test_filters_page_size_and_the_default_page(start_server):
    server = start_server()
    calls = Calls(server)
    with server.client() as client:
        client.track("default", [event(i, EventTime=f"2020-01-01T00:00:{i:02d}Z")
                                 for i in range(60)])
    items, cursor = calls.page()
    assert len(items) == 60 and cursor == ""  # the default page holds 100
    start, end = 1577836810000, 1577836820000  # 00:00:10 .. 00:00:20
    items, _ = calls.page(start=start, end=end, event_types=["purchase"])
    assert [item["Value"] for item in items] == [f"event {i}" for i in range(11, 20, 2)]
    first, cursor = calls.page(page_size=7)
    assert len(first) == 7 and cursor
    for size in (-1, 1001):
        with pytest.raises(TrackstoreError) as refused:
            calls.page(page_size=size)
        assert refused.value.code == grpc.StatusCode.INVALID_ARGUMENT
        assert "page_size must be 1 to 1000" in refused.value.message


def test_a_cursor_of_another_scope_other_filters_or_tampered_is_invalid(start_server):
    server = start_server()
    calls = Calls(server)
    with server.client() as client:
        client.track("default", [event(i) for i in range(10)])
        client.track("other", [event(i) for i in range(10)])
    _, cursor = calls.page(page_size=3, event_types=["pageview"])
    attempts = [
        dict(scope="other", page_size=3, event_types=["pageview"], cursor=cursor),
        dict(page_size=3, event_types=["purchase"], cursor=cursor),
        dict(page_size=3, event_types=["pageview"], start=0, cursor=cursor),
        dict(page_size=3, event_types=["pageview"], cursor=cursor[:-3] + "AAA"),
        dict(page_size=3, event_types=["pageview"], cursor="not a cursor"),
    ]
    for fields in attempts:
        with pytest.raises(TrackstoreError) as refused:
            calls.page(**fields)
        assert refused.value.code == grpc.StatusCode.INVALID_ARGUMENT, fields
        assert error_reason(refused.value) == "CURSOR_INVALID"
    items, _ = calls.page(page_size=3, event_types=["pageview"], cursor=cursor)
    assert len(items) == 2  # the same filters go on: 5 pageviews in pages of 3


def test_an_expired_cursor_is_failed_precondition(start_server):
    server = start_server("--export-cursor-seconds", "1")
    calls = Calls(server)
    with server.client() as client:
        client.track("default", [event(i) for i in range(5)])
    _, cursor = calls.page(page_size=2)
    time.sleep(1.5)
    with pytest.raises(TrackstoreError) as refused:
        calls.page(page_size=2, cursor=cursor)
    assert refused.value.code == grpc.StatusCode.FAILED_PRECONDITION
    assert error_reason(refused.value) == "CURSOR_EXPIRED"
    assert "start the export again" in refused.value.message


def test_compaction_keeps_the_snapshot_a_cursor_reads_and_only_while_it_may(start_server,
                                                                             tmp_path):
    # A replaced file also stays while a query may read it: the time limit plus 5 s (1 + 5 here).
    server = start_server("--export-cursor-seconds", "9", "--flush-seconds", "0.2",
                          "--preview-timeout-seconds", "1")
    calls = Calls(server)
    with server.client() as client:
        ids = client.track("default", [event(i, EventTime=f"2020-01-01T00:00:{i:02d}Z")
                                       for i in range(10)])
        first, cursor = calls.page(page_size=5)
        client.delete("default", ids[7])
        assert client.compact()["applied_deletions"] == 1
        rest, _ = calls.page(page_size=5, cursor=cursor)
        assert [item["TrackId"] for item in first + rest] == ids
        # The deleted event's bytes stay while the cursor may read them, and go after.
        assert rows_in_data_files(tmp_path / "data", "TrackId", ids[7]) == 1
        time.sleep(6.5)  # past the query window, not the cursor's hold
        client.compact()
        assert rows_in_data_files(tmp_path / "data", "TrackId", ids[7]) == 1
        time.sleep(3)
        client.compact()
        client.compact()
    assert rows_in_data_files(tmp_path / "data", "TrackId", ids[7]) == 0
