"""A full disk under a real server: the data directory is a small tmpfs of its own.

Track answers UNAVAILABLE (reason DISK_FULL) with a clear message and leaves no trace in the
write-ahead log; reads go on; once space returns, Track, flushes and compaction work again
without a restart, and after a SIGKILL every acknowledged event is there exactly once.
"""
from __future__ import annotations

import contextlib
import pathlib
import subprocess
import time

import grpc
import pytest

from helpers import error_reason, event, faults_missing
from trackstore_client import TrackstoreError

DISK_BYTES = 48 * 1024 * 1024


@pytest.fixture
def small_disk(tmp_path):
    """A tmpfs of DISK_BYTES mounted at tmp_path/data (the server's log stays outside it)."""
    mount = tmp_path / "data"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={DISK_BYTES}", "tmpfs",
                           str(mount)], capture_output=True, text=True)
    if done.returncode != 0:
        faults_missing(f"cannot mount a small tmpfs for the data directory (needs root): "
                       f"{done.stderr.strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], capture_output=True)


@contextlib.contextmanager
def disk_filled(mount: pathlib.Path):
    """Fills the disk to the last byte while the block runs; frees it afterwards."""
    filler = mount / "filler"
    with open(filler, "wb", buffering=0) as handle:
        for size in (1 << 20, 4096, 1):
            try:
                while True:
                    handle.write(b"\0" * size)
            except OSError:
                pass
    try:
        yield
    finally:
        filler.unlink()


def _track_until_ok(client, events, seconds: float = 30.0) -> list[str]:
    deadline = time.monotonic() + seconds
    while True:
        try:
            return client.track("default", events)
        except TrackstoreError as error:
            if error.code != grpc.StatusCode.UNAVAILABLE or time.monotonic() > deadline:
                raise


def test_a_full_disk_refuses_track_clearly_and_loses_nothing_acknowledged(start_server,
                                                                        small_disk):
    server = start_server("--flush-seconds", "1", "--promote-keys", "false")
    client = server.client()
    acknowledged = client.track("default", [event(i) for i in range(200)])
    time.sleep(1.5)  # flushed: the lake holds them
    acknowledged += client.track("default", [event(i) for i in range(200, 300)])  # recent
    with disk_filled(small_disk):
        refused = 0
        for i in range(20):  # big enough that some writes stop half-way
            try:
                acknowledged += client.track("default", [event(1000 + i, Payload={
                    "blob": "x" * (3000 * i)})])
            except TrackstoreError as error:
                refused += 1
                assert error.code == grpc.StatusCode.UNAVAILABLE
                assert error_reason(error) == "DISK_FULL"
                assert error.message.startswith("the data directory's disk is full: ")
        assert refused >= 15  # the smallest may fit in the last free bytes
        # Reads go on, over the lake and the unflushed events alike.
        listed = client.list("default", top=5000)["items"]
        assert {row["TrackId"] for row in listed} == set(acknowledged)
        # A compaction (it flushes first) cannot write either: refused the same way, or done.
        try:
            client.compact()
        except TrackstoreError as error:
            assert error.code == grpc.StatusCode.UNAVAILABLE and error_reason(error) == "DISK_FULL"
    # Space is back: no restart needed.
    acknowledged += _track_until_ok(client, [event(i) for i in range(2000, 2050)])
    client.compact()
    assert client.stats()["events"] == len(acknowledged)
    server.kill()
    restarted = start_server("--promote-keys", "false", data_dir=small_disk)
    with restarted.client() as after:
        ids = [row["TrackId"] for row in after.list("default", top=5000)["items"]]
        assert sorted(ids) == sorted(acknowledged)  # each exactly once
        after.compact()
    assert "damaged" not in restarted.log()


def test_a_flush_on_a_full_disk_is_retried_until_space_returns(start_server, small_disk):
    server = start_server("--flush-seconds", "2", "--promote-keys", "false")
    client = server.client()
    acknowledged = client.track("default", [event(i) for i in range(500)])
    with disk_filled(small_disk):  # before the flush is due
        time.sleep(6)  # the flush (the lake thread looks every 5 s when idle) and retries fail
        assert client.stats()["events"] == 500
        assert client.preview("default", "Events | count")["items"] == [{"Count": 500}]
    deadline = time.monotonic() + 30
    while client.stats()["data_files"] == 0 and time.monotonic() < deadline:
        time.sleep(0.2)  # a retried flush gets the events into the lake
    assert client.stats()["data_files"] > 0
    assert "flushing recent events to the lake failed" in server.log()
    server.kill()
    with start_server("--promote-keys", "false", data_dir=small_disk).client() as after:
        ids = [row["TrackId"] for row in after.list("default", top=1000)["items"]]
        assert sorted(ids) == sorted(acknowledged)
