"""How a tombstone names the lake rows it deletes (server/tombstones.py): by row id when the
Delete's lookup ran undisturbed (reads then read no TrackId), by key when a flush or a rewrite
of stored rows overlapped it; reads and the next flush answer the same either way."""
from __future__ import annotations

import threading
import time

import pytest

from trackstore.v1 import trackevents_pb2 as pb
from trackstore_server.engine import Engine
from trackstore_server.tombstones import Tombstones


def track(engine: Engine, prefix: str, n: int = 5) -> list[str]:
    return engine.track("shop", [pb.TrackEvent(track_id=f"{prefix}-{i}", event_type="view",
                                               device_id=f"d{i}") for i in range(n)])


def flush(engine: Engine) -> None:
    engine.on_lake_thread(lambda cursor: None, rewrites=False)


def count(engine: Engine) -> int:
    _, rows, _ = engine.preview("shop", "Events | count")
    return rows.items()[0]["Count"]


def tombstone_of(engine: Engine, track_id: str):
    return engine._writer.tombstones.latest(("shop", track_id))


def hold_lake_thread(engine: Engine) -> threading.Event:
    """Keeps the lake thread busy until the returned event is set (a Delete needs it not)."""
    gate = threading.Event()
    engine._writer.run(lambda cursor: gate.wait(30), rewrites=False)
    return gate


def wait_until(condition, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert condition()


def test_a_stored_event_is_named_by_row_id_and_an_unflushed_one_names_no_lake_row(engine):
    track(engine, "stored")
    flush(engine)
    # The task needs only what was acknowledged before it (all flushed): no flush runs before
    # it, so none takes the events tracked next.
    gate = hold_lake_thread(engine)
    track(engine, "recent")
    engine.delete("shop", "stored-0")
    engine.delete("shop", "recent-0")
    assert tombstone_of(engine, "stored-0")[1] and tombstone_of(engine, "recent-0")[1] == ()
    assert not engine._writer.tombstones.by_key()
    assert count(engine) == 8
    gate.set()
    # The lake rows are deleted by a commit of their own, without waiting for a flush; the
    # tombstone then names none.
    wait_until(lambda: not engine._writer.tombstones.in_lake())
    assert tombstone_of(engine, "stored-0")[1] == () == tombstone_of(engine, "recent-0")[1]
    assert count(engine) == 8
    flush(engine)
    assert len(engine._writer.tombstones) == 0 and count(engine) == 8
    assert engine.stats()["pending_deletions"] == 1  # the stored event's row, in a delete file


@pytest.mark.parametrize("disturbed", ["_layout", "_flush_phase"])
def test_a_lookup_overlapping_a_rewrite_or_a_flush_names_the_key(engine, disturbed):
    track(engine, "stored")
    flush(engine)
    gate = hold_lake_thread(engine)
    track(engine, "recent")
    # As if a rewrite of stored rows (or a flush) were running while the Deletes look up.
    setattr(engine._writer, disturbed, getattr(engine._writer, disturbed) + 1)
    engine.delete("shop", "stored-1")
    engine.delete("shop", "recent-1")
    setattr(engine._writer, disturbed, getattr(engine._writer, disturbed) + 1)
    named = {"_layout": "stored-1", "_flush_phase": "recent-1"}[disturbed]
    assert tombstone_of(engine, named)[1] is None and engine._writer.tombstones.by_key()
    assert count(engine) == 8
    gate.set()  # the lake thread deletes the key's rows in the lake, in a commit of its own
    wait_until(lambda: not engine._writer.tombstones.by_key())
    assert count(engine) == 8
    flush(engine)
    assert count(engine) == 8 and len(engine._writer.tombstones) == 0
    assert engine.stats()["events"] == 8


def test_a_compaction_applies_the_tombstones_by_row_id_before_it_rewrites(engine, monkeypatch):
    monkeypatch.setattr(engine._writer, "_apply_in_lake", lambda: None)  # no early commit
    track(engine, "stored", 20)
    flush(engine)
    engine.delete("shop", "stored-3")
    assert tombstone_of(engine, "stored-3")[1]
    engine.compact()  # rewrites the rows: new row ids
    assert len(engine._writer.tombstones) == 0
    assert count(engine) == 19
    _, rows, _ = engine.preview("shop", "Events | where TrackId == 'stored-3'")
    assert len(rows) == 0


def test_a_tombstone_keeps_the_lake_rows_of_the_one_it_replaces_until_they_are_deleted():
    pending = Tombstones()
    key = ("shop", "x")
    assert pending.add(key, 5, (11, 12)) == (11, 12)
    assert pending.add(key, 9, ()) == (11, 12)  # tracked again and deleted again, from recent
    assert pending.add(key, 12, (40,)) == (11, 12, 40)
    assert pending.add(key, 15, None) is None  # the key names every lake row anyway
    pending.settle(pending.in_lake_list())
    assert pending.latest(key) == (15, ()) and pending.add(key, 20, ()) == ()
    assert pending.in_lake_count() == 0 and len(pending) == 1


def test_deleting_an_event_tracked_again_before_its_first_deletion_reached_the_lake(engine):
    engine.track("shop", [pb.TrackEvent(track_id="x", event_type="first")])
    flush(engine)
    gate = hold_lake_thread(engine)  # the first deletion's rows stay in the lake meanwhile
    engine.delete("shop", "x")
    assert engine.track("shop", [pb.TrackEvent(track_id="x", event_type="second")]) == ["x"]
    engine.delete("shop", "x")  # the event in recent: its tombstone still names the lake row
    assert tombstone_of(engine, "x")[1] and count(engine) == 0
    gate.set()
    wait_until(lambda: not engine._writer.tombstones.in_lake())
    assert count(engine) == 0
    flush(engine)
    assert count(engine) == 0 and engine.stats()["events"] == 0


def test_the_pending_count_never_counts_a_deletion_twice_or_not_at_all(engine):
    """While deletions move from the tombstones to the lake's delete files (a commit of the lake
    thread, then the tombstones' update), GetStoreStats counts each once: between the Deletes
    acknowledged before it began and those acknowledged by its end."""
    ids = track(engine, "stored", 400)[:300]  # not all: a file with no row left leaves the lake
    flush(engine)
    acknowledged = 0

    def delete_all() -> None:
        nonlocal acknowledged
        for track_id in ids:
            engine.delete("shop", track_id)
            acknowledged += 1

    deleting = threading.Thread(target=delete_all)
    deleting.start()
    seen = []
    while deleting.is_alive():
        before = acknowledged
        pending = engine.stats()["pending_deletions"]
        seen.append((before, pending, acknowledged))
    deleting.join()
    assert engine.stats()["pending_deletions"] == len(ids)
    assert len(seen) >= 10  # the count was read while the Deletes ran (about 95 times here)
    assert [s for s in seen if not s[0] <= s[1] <= s[2]] == []
