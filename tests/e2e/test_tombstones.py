"""Delete as a tombstone (server/tombstones.py), through the real server: hidden from every
read at once, applied to the lake by the next flush, kept across a kill, and never hiding the
event tracked again under the same TrackId."""
from __future__ import annotations

import concurrent.futures
import threading

import grpc
import pytest

from trackstore_client import TrackstoreError
from helpers import count, event, stored_track_ids

# No flush runs on its own in these tests: each one is asked for.
NO_TIMED_FLUSH = ("--flush-seconds", "600")


def flush(client, scope: str = "default") -> None:
    """A BatchDelete runs after a flush (writer.Writer.run); of an id no scope holds, it deletes
    nothing."""
    client.batch_delete(scope, ["no-such-event-anywhere"], allow_missing=True)


def visible(client, track_id: str) -> list[dict]:
    return client.preview("default", f"Events | where TrackId == '{track_id}' "
                                     "| project TrackId, EventType")["items"]


def test_a_deleted_stored_event_leaves_every_read_at_once_and_the_lake_without_a_flush(
        start_server, tmp_path):
    server = start_server(*NO_TIMED_FLUSH)
    with server.client() as client:
        ids = client.track("default", [event(i) for i in range(10)])
        flush(client)
        files = client.stats()["data_files"]
        client.delete("default", ids[0])
        stats = client.stats()
        # No flush: the deletion is a record in the log and a tombstone in memory, and then a
        # DuckLake delete file, waiting for compaction.
        assert (stats["events"], stats["pending_deletions"], stats["data_files"]) == (9, 1, files)
        assert count(client, "default") == 9 and visible(client, ids[0]) == []
        listed = client.list("default", filter=f"TrackId eq '{ids[0]}'")["items"]
        assert listed == []
        assert len(client.list("default", top=100)["items"]) == 9
        with pytest.raises(TrackstoreError) as twice:
            client.delete("default", ids[0])
        assert twice.value.code == grpc.StatusCode.NOT_FOUND
        flush(client)  # forgets the tombstone
        stats = client.stats()
        assert (stats["events"], stats["pending_deletions"]) == (9, 1)
        with pytest.raises(TrackstoreError) as after_flush:
            client.delete("default", ids[0])
        assert after_flush.value.code == grpc.StatusCode.NOT_FOUND
        client.compact()
        assert client.stats()["pending_deletions"] == 0
    server.stop()
    assert stored_track_ids(tmp_path / "data") == set(ids[1:])


def test_a_tombstone_not_yet_flushed_survives_a_kill(start_server, tmp_path):
    server = start_server(*NO_TIMED_FLUSH)
    with server.client() as client:
        ids = client.track("default", [event(i) for i in range(10)])
        flush(client)
        client.delete("default", ids[3])
    server.kill()
    restarted = start_server(*NO_TIMED_FLUSH)
    with restarted.client() as client:
        assert count(client, "default") == 9 and visible(client, ids[3]) == []
        assert client.stats()["pending_deletions"] == 1
        with pytest.raises(TrackstoreError) as again:
            client.delete("default", ids[3])
        assert again.value.code == grpc.StatusCode.NOT_FOUND
        client.compact()
    restarted.stop()
    assert stored_track_ids(tmp_path / "data") == set(ids) - {ids[3]}


@pytest.mark.parametrize("flushed_first", [True, False], ids=["stored", "unflushed"])
def test_an_event_tracked_again_after_its_deletion_is_kept_once(start_server, flushed_first):
    server = start_server(*NO_TIMED_FLUSH)
    with server.client() as client:
        client.track("default", [event(i, TrackId=f"again-{i}") for i in range(5)])
        if flushed_first:
            flush(client)
        client.delete("default", "again-0")
        # The duplicate check does not count the deleted event as stored.
        assert client.track("default", [event(0, TrackId="again-0", EventType="second")]) \
            == ["again-0"]
        assert visible(client, "again-0") == [{"TrackId": "again-0", "EventType": "second"}]
        assert count(client, "default") == 5
    server.kill()  # the log replays the tombstone, then the event it must not hide
    restarted = start_server(*NO_TIMED_FLUSH)
    with restarted.client() as client:
        assert visible(client, "again-0") == [{"TrackId": "again-0", "EventType": "second"}]
        flush(client)  # deletes the first event in the lake, then inserts the second
        assert visible(client, "again-0") == [{"TrackId": "again-0", "EventType": "second"}]
        client.compact()
        assert visible(client, "again-0") == [{"TrackId": "again-0", "EventType": "second"}]
        assert client.stats()["events"] == 5
        client.delete("default", "again-0")
        assert count(client, "default") == 4


def test_deletes_from_many_threads_beside_tracks_and_flushes_each_count_once(start_server):
    server = start_server(*NO_TIMED_FLUSH)
    with server.client() as client:
        ids = client.track("default", [event(i) for i in range(400)])
        flush(client)
        stop = threading.Event()

        def track_and_flush():
            tracked = 0
            while not stop.is_set():
                client.track("default", [event(i, EventType="background") for i in range(20)])
                tracked += 20
                flush(client)
            return tracked

        def delete_each(chunk):
            for track_id in chunk:
                client.delete("default", track_id)

        with concurrent.futures.ThreadPoolExecutor(9) as pool:
            background = pool.submit(track_and_flush)
            list(pool.map(delete_each, [ids[i::8] for i in range(8)]))
            stop.set()
            tracked = background.result()
        assert count(client, "default", where="EventType != 'background'") == 0
        assert client.stats()["events"] == tracked
        client.compact()
        assert client.stats()["events"] == tracked
        assert client.stats()["pending_deletions"] == 0
