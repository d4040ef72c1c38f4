"""A (Scope, TrackId) is stored once: retried batches, repeats inside a group, restarts, events
deleted and sent again, and two servers sharing a PostgreSQL catalog (server/stored_ids.py)."""
from __future__ import annotations

import random
import threading
import time

import pytest

from trackstore.v1 import trackevents_pb2 as pb
from trackstore_server.config import Settings
from trackstore_server.engine import Engine
from trackstore_server.lake import EVENTS_TABLE, scalar
from helpers import kill_in_process


def events(ids, value: str = "v") -> list[pb.TrackEvent]:
    return [pb.TrackEvent(track_id=i, event_type="view", value=value) for i in ids]


def stored(engine: Engine, scope: str) -> tuple[int, int]:
    """(distinct TrackIds, the most copies of one) in the lake and recent."""
    row, = _rows(engine, scope, "Events | summarize n = count() by TrackId "
                                "| summarize ids = count(), most = max(n)")
    return row["ids"], row["most"]


def _rows(engine, scope, query):
    columns, rows, _ = engine.preview(scope, query)
    names = [c for c, _ in columns]
    return [dict(zip(names, row)) for row in rows.rows]


@pytest.fixture
def settings(tmp_path):
    return Settings(data_dir=str(tmp_path / "data"), flush_seconds=0.2,
                    compaction_interval_seconds=0, merge_interval_seconds=0)


def test_retries_restarts_and_deletes_store_each_id_once(settings):
    rnd = random.Random(7)
    ids = [f"client-{i}" for i in range(3000)]
    engine = Engine(settings)
    try:
        engine.track("shop", events(ids[:1000]))
        engine.track("shop", events(ids[:1000]))  # a retry while the events are recent
        engine.compact()  # ... and once they are in the lake
        engine.track("shop", events(ids[500:1500]))
        engine.track("other", events(ids[:10]))  # another scope holds its own
        engine.track("shop", events(["dup", "dup", "x", "dup"]))
    finally:
        engine.close()
    engine = Engine(settings)  # the index is built again from the lake
    try:
        shuffled = ids[:2000]
        rnd.shuffle(shuffled)
        engine.track("shop", events(shuffled))
        engine.delete("shop", "client-3")
        engine.track("shop", events(["client-3", "client-4"]))  # deleted: stored again
        assert stored(engine, "shop") == (2000 + 2, 1)
        assert stored(engine, "other") == (10, 1)
    finally:
        engine.close()


def test_ids_acknowledged_before_a_kill_are_known_after_replay(settings, tmp_path):
    engine = Engine(Settings(**{**settings.__dict__, "flush_seconds": 600.0}))
    engine.track("shop", events(["a", "b", "c"]))
    kill_in_process(engine)  # the events are only in the log
    engine = Engine(settings)
    try:
        engine.track("shop", events(["a", "b", "d"]))
        assert stored(engine, "shop") == (4, 1)
    finally:
        engine.close()


def test_two_servers_store_a_retried_batch_once(postgres, tmp_path):
    shared = dict(catalog=postgres, data_path=str(tmp_path / "lake"), flush_seconds=0.1,
                  compaction_interval_seconds=0, merge_interval_seconds=0)
    first = Engine(Settings(data_dir=str(tmp_path / "a"), **shared))
    second = Engine(Settings(data_dir=str(tmp_path / "b"), **shared))
    try:
        ids = [f"id-{i}" for i in range(400)]
        first.track("shop", events(ids[:200]))
        first.compact()  # flushed: the second server's index does not hold them
        second.track("shop", events(ids[:300]))  # retried at the other server
        # both at once, many times: the flushes that store them cannot overlap
        for round_ in range(6):
            batch = [f"race-{round_}-{i}" for i in range(50)]
            threads = [threading.Thread(target=e.track, args=("shop", events(batch)))
                       for e in (first, second)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        second.compact()
        first.compact()
        deadline = time.monotonic() + 20
        while stored(first, "shop")[0] < 600 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert stored(first, "shop") == (600, 1)
        cursor = first._conn.cursor()
        assert scalar(cursor, f"SELECT count(*) FROM {EVENTS_TABLE}") == 600
    finally:
        first.close()
        second.close()
