"""SIGKILL at random moments of real servers: during concurrent small Track calls, during a
burst of Deletes, and during compaction (with key promotion, and without it: partition by
partition). After each restart every acknowledged TrackId is stored exactly once, every
acknowledged delete is still deleted, the pending deletions are the deleted rows still in live
data files, and the next compaction succeeds.

Each scenario runs with a few seeds (TRACKSTORE_FAULT_SEEDS, default 2: a longer soak sets
more, see docs/reliability.md); the seed picks the moment of the kill and the calls, and for
compaction whether it promotes keys (odd seeds) or not (even ones).
"""
from __future__ import annotations

import collections
import os
import random
import threading
import time

import duckdb
import pytest

from helpers import event
from trackstore_client import TrackstoreError
from trackstore_server.config import Settings
from trackstore_server.lake import EVENTS_TABLE, LAKE, pending_deletions
from trackstore_server.store import open_store

SEEDS = range(int(os.environ.get("TRACKSTORE_FAULT_SEEDS", "2")))
SCOPE = "faults"


def _stored(data_dir) -> tuple[collections.Counter, int, int]:
    """(TrackId counts, pending deletions, deleted-but-not-rewritten rows): read from the store
    itself, the server stopped. The last figure is the rows of live data files that their
    live delete files hide, counted from the Parquet files."""
    conn = open_store(Settings(data_dir=str(data_dir)))
    try:
        ids = collections.Counter(row[0] for row in conn.execute(
            f'SELECT "TrackId" FROM {EVENTS_TABLE} WHERE "Scope" = ?', [SCOPE]).fetchall())
        pending = pending_deletions(conn)
        files = conn.execute("SELECT data_file, delete_file FROM ducklake_list_files(?, 'events') "
                             "WHERE delete_file IS NOT NULL", [LAKE]).fetchall()
    finally:
        conn.close()
    hidden = 0
    with duckdb.connect() as plain:
        for _, delete_file in files:
            hidden += plain.execute("SELECT count(*) FROM read_parquet(?)",
                                    [delete_file]).fetchall()[0][0]
    return ids, pending, hidden


def _check_after_restart(start_server, data_dir, acknowledged: set, deleted: set, *extra):
    restarted = start_server(*extra, data_dir=data_dir)
    restarted.stop()  # replays the log, flushes it
    ids, pending, hidden = _stored(data_dir)
    assert not [i for i, n in ids.items() if n > 1], "a TrackId stored twice"
    assert acknowledged - deleted <= set(ids), "an acknowledged event was lost"
    assert not deleted & set(ids), "an acknowledged delete came back"
    assert pending == hidden
    again = start_server(*extra, data_dir=data_dir)
    with again.client() as client:
        client.compact()
        assert client.stats()["pending_deletions"] == 0
    again.stop()


def _calls_until_killed(server, threads: int, call, seconds: float) -> None:
    """`threads` threads repeat `call(client, rng)` until the server is SIGKILLed after
    `seconds`; calls the kill interrupts fail, and their outcome is unknown."""
    stop = threading.Event()

    def worker(n):
        rng = random.Random(n)
        with server.client() as client:
            while not stop.is_set():
                try:
                    call(client, rng)
                except TrackstoreError:
                    return  # the server is gone

    workers = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    time.sleep(seconds)
    server.kill()
    stop.set()
    for w in workers:
        w.join()


@pytest.mark.parametrize("seed", SEEDS)
def test_kill_during_concurrent_small_track_calls(start_server, tmp_path, seed):
    rng, acknowledged, lock = random.Random(seed), set(), threading.Lock()
    server = start_server("--flush-seconds", "0.3", "--promote-keys", "false")

    def track(client, r):
        size = r.randint(1, 5)
        own = r.random() < 0.5  # client TrackIds (a retried batch) or the server's
        events = [event(r.randrange(10**6), **({"TrackId": f"c-{r.getrandbits(64):x}"}
                                                if own else {})) for _ in range(size)]
        ids = client.track(SCOPE, events)
        with lock:
            acknowledged.update(ids)

    _calls_until_killed(server, 8, track, rng.uniform(0.3, 2.0))
    assert acknowledged
    _check_after_restart(start_server, tmp_path / "data", acknowledged, set(),
                         "--promote-keys", "false")


@pytest.mark.parametrize("seed", SEEDS)
def test_kill_during_a_delete_burst(start_server, tmp_path, seed):
    rng = random.Random(seed)
    server = start_server("--flush-seconds", "0.5", "--promote-keys", "false")
    with server.client() as client:
        loaded = client.track(SCOPE, [event(i) for i in range(3000)])
        client.compact()  # in the lake: their deletions wait for compaction
    pool, acknowledged, asked, deleted = list(loaded), set(loaded), set(), set()
    rng.shuffle(pool)
    lock = threading.Lock()

    def delete(client, r):
        if r.random() < 0.3:  # one just tracked: deleted while still unflushed
            [track_id] = client.track(SCOPE, [event(r.randrange(10**6))])
            with lock:
                acknowledged.add(track_id)
        else:
            with lock:
                track_id = pool.pop()
        with lock:
            asked.add(track_id)  # the kill may leave its outcome unknown
        client.delete(SCOPE, track_id)
        with lock:
            deleted.add(track_id)

    _calls_until_killed(server, 8, delete, rng.uniform(0.3, 2.0))
    assert deleted
    _check_after_restart(start_server, tmp_path / "data", acknowledged - (asked - deleted),
                         deleted, "--promote-keys", "false")


@pytest.mark.parametrize("seed, promote", [(seed, ("false", "true")[seed % 2]) for seed in SEEDS])
def test_kill_during_compaction(start_server, tmp_path, seed, promote):
    # Twelve months: without promotion, the deletions are rewritten partition by partition,
    # one transaction each, so a kill can fall between them.
    rng = random.Random(seed)
    options = ("--promote-keys", promote, "--promote-min-share", "0.1")
    server = start_server(*options)
    with server.client() as client:
        acknowledged = client.track(SCOPE, [
            event(i, EventTime=f"2021-{1 + i % 12:02d}-15T10:00:00Z") for i in range(6000)])
        client.compact()
        deleted = set(rng.sample(acknowledged, 600))
        client.batch_delete(SCOPE, sorted(deleted))
        assert client.stats()["pending_deletions"] == 600

    def compact():
        try:
            client.compact()
        except TrackstoreError:
            pass  # killed

    client = server.client()
    compaction = threading.Thread(target=compact)
    compaction.start()
    time.sleep(rng.uniform(0.05, 1.5))
    server.kill()
    compaction.join()
    _check_after_restart(start_server, tmp_path / "data", set(acknowledged), deleted, *options)
