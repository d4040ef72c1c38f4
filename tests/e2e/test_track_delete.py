"""Track, Delete and compaction through the real server process."""
from __future__ import annotations

import concurrent.futures
import datetime as dt
import signal
import threading
import time

import grpc
import pytest
from google.rpc import error_details_pb2

from trackstore.v1 import trackevents_pb2 as pb
from trackstore_client import TrackstoreError
from helpers import (
    SHORT_QUERY_LIMIT, compact_until_replaced_files_leave, detail, error_reason, event,
    parquet_files, rows_in_data_files, stored_track_ids,
)


def test_track_assigns_time_ordered_ids_and_keeps_client_ids(start_server):
    server = start_server()
    with server.client() as client:
        ids = client.track("default", [event(1), event(2, TrackId="client-id-2"), event(3)])
    assert ids[1] == "client-id-2"
    assert len(set(ids)) == 3
    # UUIDv7: version nibble 7, the time field the EventTime's ms, so later events sort after
    # earlier ones.
    assert ids[0][14] == "7" and ids[2][14] == "7"
    assert ids[0] < ids[2]
    event_time = dt.datetime.fromisoformat(event(1)["EventTime"].replace("Z", "+00:00"))
    assert int(ids[0].replace("-", "")[:12], 16) == int(event_time.timestamp() * 1000)


def test_events_survive_restart(start_server, tmp_path):
    server = start_server()
    with server.client() as client:
        ids = client.track("shop", [event(i) for i in range(50)])
    assert server.stop() == 0
    assert stored_track_ids(tmp_path / "data", "shop") == set(ids)
    restarted = start_server()
    with restarted.client() as client:
        assert client.stats()["events"] == 50


def test_retried_batch_is_not_stored_twice(start_server, tmp_path):
    server = start_server()
    batch = [event(i, TrackId=f"retry-{i}") for i in range(20)]
    with server.client() as client:
        first = client.track("default", batch)
        second = client.track("default", batch + [event(99, TrackId="retry-new")])
        # The same id twice inside one batch is stored once too.
        client.track("default", [event(1, TrackId="dup"), event(2, TrackId="dup")])
        assert client.stats()["events"] == 22
    assert second[:20] == first
    server.stop()
    assert len(stored_track_ids(tmp_path / "data")) == 22


def test_same_track_id_in_two_scopes_is_two_events(start_server):
    server = start_server()
    with server.client() as client:
        client.track("a", [event(1, TrackId="shared")])
        client.track("b", [event(1, TrackId="shared")])
        assert client.stats()["events"] == 2
        client.delete("a", "shared")
        with pytest.raises(TrackstoreError) as missing:
            client.delete("a", "shared")
        assert missing.value.code == grpc.StatusCode.NOT_FOUND
        assert client.delete("b", "shared") == "shared"


def test_delete_unknown_id_is_not_found(start_server):
    server = start_server()
    with server.client() as client:
        with pytest.raises(TrackstoreError) as error:
            client.delete("default", "no-such-id")
    assert error.value.code == grpc.StatusCode.NOT_FOUND
    assert "no-such-id" in error.value.message
    assert error_reason(error.value) == "NOT_FOUND"


def test_delete_in_another_scope_does_not_touch_the_event(start_server):
    server = start_server()
    with server.client() as client:
        [track_id] = client.track("mine", [event(1)])
        with pytest.raises(TrackstoreError) as error:
            client.delete("theirs", track_id)
        assert error.value.code == grpc.StatusCode.NOT_FOUND
        assert client.stats()["events"] == 1


def test_pending_deletion_limit_answers_resource_exhausted_with_retry_info(start_server):
    server = start_server("--max-pending-deletes", "3", "--delete-retry-seconds", "120")
    with server.client() as client:
        ids = client.track("default", [event(i) for i in range(5)])
        client.compact()  # flushes: deletions of events in the lake wait for compaction
        for track_id in ids[:3]:
            client.delete("default", track_id)
        with pytest.raises(TrackstoreError) as refused:
            client.delete("default", ids[3])
        assert refused.value.code == grpc.StatusCode.RESOURCE_EXHAUSTED
        retry = detail(refused.value, error_details_pb2.RetryInfo)
        assert retry is not None and retry.retry_delay.seconds == 120
        assert error_reason(refused.value) == "TOO_MANY_PENDING_DELETES"
        # The refused event is untouched; compaction frees the budget and the retry succeeds.
        assert client.stats()["events"] == 2
        assert client.compact()["applied_deletions"] == 3
        assert client.delete("default", ids[3]) == ids[3]
        assert client.stats()["pending_deletions"] == 1


def test_compaction_removes_deleted_bytes_from_every_parquet_file(start_server, tmp_path):
    data_dir = tmp_path / "data"
    server = start_server("--inline-row-limit", "0", "--promote-keys", "false",
                          *SHORT_QUERY_LIMIT)
    with server.client() as client:
        ids = client.track("default", [event(i, DeviceId=f"dev-{i}") for i in range(2000)])
        client.track("default", [event(5000, DeviceId="dev-secret")])
        [secret_id] = client.track("default", [event(5001, DeviceId="dev-secret-2")])
        client.compact()  # flushes: the events are in data files
        client.delete("default", secret_id)
        client.delete("default", ids[7])
        stats = client.stats()
        assert stats["pending_deletions"] == 2 and stats["events"] == 2000
        # Stage one: gone from reads, still on disk.
        assert rows_in_data_files(data_dir, "DeviceId", "dev-secret-2") >= 1  # compaction's merge may have copied it
        report = compact_until_replaced_files_leave(client)
        assert report["applied_deletions"] == 2
        assert client.stats()["pending_deletions"] == 0
    # Stage two: no data file holds the deleted rows any more; the others are intact.
    assert rows_in_data_files(data_dir, "DeviceId", "dev-secret-2") == 0
    assert rows_in_data_files(data_dir, "DeviceId", "dev-7") == 0
    assert rows_in_data_files(data_dir, "DeviceId", "dev-8") == 1
    assert rows_in_data_files(data_dir, "DeviceId", "dev-secret") == 1
    assert not [p for p in parquet_files(data_dir) if p.endswith("-delete.parquet")]


def test_scheduled_compaction_runs_by_itself(start_server):
    server = start_server("--compaction-interval-seconds", "1")
    with server.client() as client:
        [track_id] = client.track("default", [event(1)])
        client.delete("default", track_id)
        deadline = time.monotonic() + 30
        while client.stats()["pending_deletions"] and time.monotonic() < deadline:
            time.sleep(0.2)
        assert client.stats()["pending_deletions"] == 0


def test_concurrent_track_calls_are_grouped_into_few_commits(start_server, tmp_path):
    # Without inlining every DuckLake commit writes at least one Parquet file: files count
    # commits. Flushing every 0.2 s makes several flushes happen during the calls.
    server = start_server("--inline-row-limit", "0", "--flush-seconds", "0.2")
    calls = 400

    def one_call(i):
        with server.client() as client:
            return client.track("default", [event(i)])

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        ids = [i for result in pool.map(one_call, range(calls)) for i in result]
    assert len(set(ids)) == calls
    server.stop()  # flushes what is still in the write-ahead log
    assert stored_track_ids(tmp_path / "data") == set(ids)
    files = [p for p in parquet_files(tmp_path / "data") if "/events/" in p]
    assert 0 < len(files) < calls / 4, f"{len(files)} files for {calls} calls"


def _ingest_then_kill(server, acknowledged: list[str], batch: int, until: int,
                      seconds: float) -> None:
    """Four clients track batches until `until` TrackIds are acknowledged (or `seconds` pass);
    then SIGKILL. Only acknowledged TrackIds are appended to `acknowledged`."""
    lock = threading.Lock()
    stop = threading.Event()

    def ingest(worker):
        with server.client() as client:
            n = 0
            while not stop.is_set():
                try:
                    ids = client.track("default", [event(worker * 100000 + n + k)
                                                   for k in range(batch)])
                except TrackstoreError:
                    return  # the server died mid-call: that batch was never acknowledged
                n += batch
                with lock:
                    acknowledged.extend(ids)

    threads = [threading.Thread(target=ingest, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + seconds
    while len(acknowledged) < until and time.monotonic() < deadline:
        time.sleep(0.01)
    server.stop(signal.SIGKILL)
    stop.set()
    for thread in threads:
        thread.join()


def test_acknowledged_events_survive_sigkill(start_server, tmp_path):
    acknowledged: list[str] = []
    _ingest_then_kill(start_server(), acknowledged, batch=25, until=2000, seconds=30)
    assert len(acknowledged) >= 2000
    # The restart replays the write-ahead log into the lake.
    restarted = start_server()
    with restarted.client() as client:
        total = client.stats()["events"]
        found = client.preview("default", "Events | summarize dcount(TrackId)")["items"][0]
    assert restarted.stop() == 0
    stored = stored_track_ids(tmp_path / "data")
    missing = set(acknowledged) - stored
    assert not missing, f"{len(missing)} acknowledged events lost"
    # Nothing was stored twice by the replay.
    assert total == len(stored) == list(found.values())[0]


def test_acknowledged_events_survive_sigkill_during_a_background_flush(start_server, tmp_path):
    # Small, frequent flushes keep the lake thread busy while Track calls are acknowledged. A
    # flush starts a new log segment when it takes its snapshot and deletes the older ones
    # after its commit, so two or more segments after the kill mean it died inside a flush.
    data_dir = tmp_path / "data"
    acknowledged: list[str] = []
    killed_in_flush = 0
    for _attempt in range(8):
        server = start_server("--commit-max-rows", "1000", "--flush-seconds", "0.02",
                              data_dir=data_dir)
        _ingest_then_kill(server, acknowledged, batch=100, until=len(acknowledged) + 3000,
                          seconds=20)
        if len(list((data_dir / "wal").glob("*.wal"))) >= 2:
            killed_in_flush += 1
            if killed_in_flush >= 2:
                break
    assert killed_in_flush, "no kill landed inside a flush"
    restarted = start_server(data_dir=data_dir)
    with restarted.client() as client:
        total = client.stats()["events"]
    assert restarted.stop() == 0
    stored = stored_track_ids(data_dir)
    missing = set(acknowledged) - stored
    assert not missing, f"{len(missing)} acknowledged events lost"
    assert total == len(stored)  # each stored once: replay skipped what the lake held


def test_stream_ingest_acknowledges_all_batches(start_server):
    server = start_server()
    with server.client() as client:
        ids = client.track_stream("bulk", ([event(b * 100 + i) for i in range(100)] for b in range(30)))
        assert len(set(ids)) == 3000
        assert client.stats()["events"] == 3000


def _track(server, request):
    with server.client() as client:
        try:
            return client.stub.Track(request)
        except grpc.RpcError as error:
            raise TrackstoreError.from_rpc_error(error) from None


def test_invalid_event_rejects_the_whole_batch_naming_its_index(start_server):
    server = start_server()
    good = pb.TrackEvent(event_type="ok")
    bad = pb.TrackEvent(event_type="bad", payload_json="{not json")
    with pytest.raises(TrackstoreError) as error:
        _track(server, pb.TrackRequest(scope="default", events=[good, good, bad]))
    assert error.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "events[2]" in error.value.message
    violations = detail(error.value, error_details_pb2.BadRequest).field_violations
    assert violations[0].field == "events[2]"
    with server.client() as client:
        assert client.stats()["events"] == 0


def test_payload_must_be_an_object(start_server):
    server = start_server()
    with pytest.raises(TrackstoreError) as error:
        _track(server, pb.TrackRequest(events=[pb.TrackEvent(payload_json="[1, 2]")]))
    assert error.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "Payload must be a JSON object" in error.value.message


def test_oversized_event_and_batch_are_rejected(start_server):
    server = start_server()
    huge = pb.TrackEvent(payload_json='{"blob": "' + "x" * (1 << 20) + '"}')
    with pytest.raises(TrackstoreError) as too_big:
        _track(server, pb.TrackRequest(events=[pb.TrackEvent(), huge]))
    assert too_big.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "events[1]" in too_big.value.message and "1048576" in too_big.value.message
    with pytest.raises(TrackstoreError) as too_many:
        _track(server, pb.TrackRequest(events=[pb.TrackEvent()] * 10_001))
    assert too_many.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "10000" in too_many.value.message
    with server.client() as client:
        assert client.stats()["events"] == 0


def test_struct_and_json_payloads_store_the_same_document(start_server):
    from google.protobuf import struct_pb2

    server = start_server()
    payload = struct_pb2.Struct()
    payload.update({"price": 12, "tags": ["a", "b"], "nested": {"ok": True}})
    events = [
        pb.TrackEvent(track_id="s", payload_struct=payload),
        pb.TrackEvent(track_id="j", payload_json='{"price": 12, "tags": ["a", "b"], "nested": {"ok": true}}'),
    ]
    _track(server, pb.TrackRequest(events=events))
    server.stop()
    from trackstore_server.config import Settings
    from trackstore_server.lake import EVENTS_TABLE
    from trackstore_server.store import open_store

    conn = open_store(Settings(data_dir=str(server.data_dir)))
    rows = dict(conn.execute(f'SELECT "TrackId", "Payload"::VARCHAR FROM {EVENTS_TABLE}').fetchall())
    conn.close()
    import json

    assert json.loads(rows["s"]) == json.loads(rows["j"]) == {
        "price": 12, "tags": ["a", "b"], "nested": {"ok": True}}


def test_concurrent_deletes_respect_the_pending_limit_exactly(start_server):
    server = start_server("--max-pending-deletes", "50")
    with server.client() as client:
        ids = client.track("default", [event(i) for i in range(100)])
        client.compact()  # flushes: deletions of events in the lake wait for compaction

    def delete(track_id):
        with server.client() as client:
            try:
                return client.delete("default", track_id)
            except TrackstoreError as error:
                return error.code

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(delete, ids + ids[:10]))
    deleted = [o for o in outcomes if isinstance(o, str)]
    assert len(deleted) == 50 and len(set(deleted)) == 50
    refused = [o for o in outcomes if o == grpc.StatusCode.RESOURCE_EXHAUSTED]
    not_found = [o for o in outcomes if o == grpc.StatusCode.NOT_FOUND]
    assert len(refused) + len(not_found) == 60
    with server.client() as client:
        stats = client.stats()
    assert stats["pending_deletions"] == 50 and stats["events"] == 50


def test_compaction_applies_deletions_spread_over_several_partitions(start_server, tmp_path):
    # DuckLake 1.4.4's own rewrite fails when files of several partitions have deletions; the
    # server then rewrites those partitions itself. (Without key promotion, and on rows a first
    # compaction already wrote in time order: either rewrites the rows anyway.)
    data_dir = tmp_path / "data"
    server = start_server("--promote-keys", "false", *SHORT_QUERY_LIMIT)
    months = ("2020-01-15T10:00:00Z", "2020-02-15T10:00:00Z", "2020-03-15T10:00:00Z")
    with server.client() as client:
        ids = client.track("default", [
            event(i, DeviceId=f"dev-{i}", EventTime=months[i % 3]) for i in range(300)])
        assert client.compact()["applied_deletions"] == 0  # flushes: the events are in files
        for track_id in ids[:3]:  # one in each month
            client.delete("default", track_id)
        assert compact_until_replaced_files_leave(client)["applied_deletions"] == 3
        assert client.stats()["events"] == 297
        assert client.preview("default", "Events | where DeviceId == 'dev-1' | count")["items"] == [
            {"Count": 0}]
    for gone in ("dev-0", "dev-1", "dev-2"):
        assert rows_in_data_files(data_dir, "DeviceId", gone) == 0
    assert rows_in_data_files(data_dir, "DeviceId", "dev-3") == 1
    assert "rewriting partitions" in server.log()


def test_batch_delete_removes_every_listed_event_in_one_call(start_server):
    server = start_server()
    with server.client() as client:
        ids = client.track("shop", [event(i) for i in range(10)])
        # Request order, and a repeated id counts once.
        assert client.batch_delete("shop", [ids[7], ids[2], ids[7], ids[4]]) == [
            ids[7], ids[2], ids[4]]
        stats = client.stats()
        assert stats["events"] == 7 and stats["pending_deletions"] == 3
        rows = client.list("shop", "", "", 0, 100)["items"]
        assert {row["TrackId"] for row in rows} == set(ids) - {ids[2], ids[4], ids[7]}
        assert client.compact()["applied_deletions"] == 3


def test_batch_delete_with_an_unknown_id_deletes_nothing_unless_missing_is_allowed(start_server):
    server = start_server()
    with server.client() as client:
        ids = client.track("shop", [event(i) for i in range(4)])
        other = client.track("other", [event(9)])
        with pytest.raises(TrackstoreError) as error:
            client.batch_delete("shop", [ids[0], "no-such-id", other[0], ids[1]])
        assert error.value.code == grpc.StatusCode.NOT_FOUND
        assert "2 of the 4" in error.value.message and "'no-such-id'" in error.value.message
        assert "nothing was deleted" in error.value.message
        assert client.stats()["events"] == 5
        assert client.batch_delete("shop", [ids[0], "no-such-id", other[0], ids[1]],
                                   allow_missing=True) == [ids[0], ids[1]]
        assert client.stats()["events"] == 3
        assert client.batch_delete("shop", ["gone"], allow_missing=True) == []


def test_batch_delete_over_the_pending_limit_is_refused_whole(start_server):
    server = start_server("--max-pending-deletes", "3", "--delete-retry-seconds", "90")
    with server.client() as client:
        ids = client.track("default", [event(i) for i in range(6)])
        client.compact()  # flushes: deletions of events in the lake wait for compaction
        client.delete("default", ids[0])
        with pytest.raises(TrackstoreError) as refused:
            client.batch_delete("default", ids[1:4])
        assert refused.value.code == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert detail(refused.value, error_details_pb2.RetryInfo).retry_delay.seconds == 90
        assert error_reason(refused.value) == "TOO_MANY_PENDING_DELETES"
        assert client.stats()["events"] == 5
        assert client.batch_delete("default", ids[1:3]) == ids[1:3]
        assert client.stats()["pending_deletions"] == 3


@pytest.mark.parametrize("track_ids, field", [
    ([], "track_ids"), (["x"] * 1001, "track_ids"), (["ok", ""], "track_ids[1]"),
    (["ok", "x" * 201], "track_ids[1]"),
])
def test_batch_delete_rejects_bad_id_lists(start_server, track_ids, field):
    server = start_server()
    with server.client() as client:
        with pytest.raises(TrackstoreError) as error:
            client.batch_delete("default", track_ids)
    assert error.value.code == grpc.StatusCode.INVALID_ARGUMENT
    violations = detail(error.value, error_details_pb2.BadRequest).field_violations
    assert [v.field for v in violations] == [field]


def test_deleting_an_unflushed_event_needs_no_flush_and_survives_a_kill(start_server, tmp_path):
    # A tombstone in memory and in the write-ahead log, which the reads apply at once: no flush
    # runs for it, the event never reaches the lake (nothing waits for compaction), and the
    # tombstone is replayed after a kill.
    unflushed = ("--flush-seconds", "600")
    server = start_server(*unflushed)
    with server.client() as client:
        ids = client.track("default", [event(i) for i in range(10)])
        client.delete("default", ids[0])
        with pytest.raises(TrackstoreError) as twice:
            client.delete("default", ids[0])
        assert twice.value.code == grpc.StatusCode.NOT_FOUND
        stats = client.stats()
        assert stats["events"] == 9 and stats["pending_deletions"] == 0
        assert stats["data_files"] == 0  # no flush ran
    server.kill()
    restarted = start_server(*unflushed)
    with restarted.client() as client:
        listed = {row["TrackId"] for row in client.list("default", top=100)["items"]}
        assert listed == set(ids[1:])
        client.compact()
        stats = client.stats()
        assert stats["events"] == 9 and stats["pending_deletions"] == 0
    restarted.stop()
    assert stored_track_ids(tmp_path / "data") == set(ids[1:])


def test_a_cancelled_track_leaves_its_group_acknowledged(start_server, tmp_path):
    """Calls cancelled while they wait for the group commit, beside calls that do not: every
    call not cancelled is acknowledged and stored (a cancelled call must not cancel the batch
    future its group's writer settles), and a cancelled call's events are stored at most once."""
    server = start_server()
    track = server.channel().unary_unary(
        "/trackstore.v1.TrackEventsService/Track",
        request_serializer=pb.TrackRequest.SerializeToString,
        response_deserializer=pb.TrackResponse.FromString)
    stop = threading.Event()

    def cancelling(worker: int) -> int:
        sent = 0
        while not stop.is_set():
            call = track.future(pb.TrackRequest(scope="default", events=[pb.TrackEvent(
                track_id=f"cancelled-{worker}-{sent}", event_type="view")]), timeout=30)
            time.sleep(0.0002 * (sent % 5))  # cancelled before, during and after the commit
            call.cancel()
            sent += 1
            # Unpaced, four threads cancelled up to 4,000 calls/s, most before the server saw
            # them; grpc's core then ended some other clients' calls CANCELLED before any
            # handler ran (a flood of resets, not the group commit this test is about).
            time.sleep(0.002)
        return sent

    def steady(worker: int) -> list[str]:
        return [track(pb.TrackRequest(scope="default", events=[pb.TrackEvent(
            track_id=f"steady-{worker}-{i}", event_type="view")]), timeout=10).track_ids[0]
                for i in range(150)]

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        cancellers = [pool.submit(cancelling, w) for w in range(4)]
        try:
            acknowledged = [pool.submit(steady, w) for w in range(4)]
            steady_ids = {i for done in acknowledged for i in done.result()}
        finally:
            stop.set()
        cancelled_sent = sum(done.result() for done in cancellers)
    assert len(steady_ids) == 600 and cancelled_sent > 100
    assert "acknowledging" not in server.log()  # no group failed
    assert server.stop() == 0
    stored = stored_track_ids(tmp_path / "data")
    assert steady_ids <= stored
    assert {i for i in stored if not i.startswith("steady-")} <= {
        f"cancelled-{w}-{s}" for w in range(4) for s in range(cancelled_sent)}
