"""The writer flushes on its own thread: acknowledgements go on during a flush, a flush drops
only what it flushed, tasks wait for it, and back-pressure bounds memory when flushing fails."""
from __future__ import annotations

import threading
import time

import pytest

from trackstore.v1 import trackevents_pb2 as pb
from trackstore_server import promoted
from trackstore_server.errors import Unavailable
from trackstore_server.event_batch import build_batch
from trackstore_server.lake import EVENTS_TABLE
from trackstore_server.wal import WriteAheadLog
from trackstore_server.writer import Writer

WAIT = 10.0


@pytest.fixture
def make_writer(lake, tmp_path):
    writers = []

    def make(**options):
        options = {"commit_max_rows": 100, "inline_row_limit": 0, "flush_seconds": 60.0} | options
        writer = Writer(lake, WriteAheadLog(tmp_path / "wal"), "test-server", **options)
        writers.append(writer)
        return writer

    yield make
    for writer in writers:
        writer.close()


class FlushGate:
    """Holds every flush inside its DuckLake transaction (promoted.load runs there) until
    released; with `fail`, the flush raises instead."""

    def __init__(self, monkeypatch, fail: bool = False):
        self.entered = threading.Event()
        self.released = threading.Event()
        self.fail = fail
        real = promoted.load

        def load(cursor):
            self.entered.set()
            if self.fail:
                raise RuntimeError("the lake is unreachable")
            assert self.released.wait(WAIT)
            return real(cursor)

        monkeypatch.setattr(promoted, "load", load)

    def release(self) -> None:
        self.fail = False
        self.released.set()


def batch(count: int, start: int = 0):
    events = [pb.TrackEvent(event_type="view", value=str(start + i)) for i in range(count)]
    return build_batch("default", events)


def lake_rows(lake) -> int:
    return lake.cursor().execute(f"SELECT count(*) FROM {EVENTS_TABLE}").fetchone()[0]


def visible_rows(lake, writer) -> int:
    """What a read sees: the lake plus recent events above the watermark (as Engine.stats)."""
    cursor = lake.cursor()
    writer.register_recent(cursor)
    return cursor.execute(
        f"SELECT (SELECT count(*) FROM {EVENTS_TABLE}) + "
        f"(SELECT count(*) FROM ({writer.recent_source_sql(())}))",
        {"srv_scope": None, "srv_server": writer.server_id},
    ).fetchone()[0]


def wait_until(condition) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_acknowledgements_go_on_while_a_flush_commits(make_writer, lake, monkeypatch):
    gate = FlushGate(monkeypatch)
    writer = make_writer()
    writer.insert(batch(100)).result(WAIT)  # reaches commit_max_rows: the lake thread flushes
    assert gate.entered.wait(WAIT)
    during = writer.insert(batch(50, start=100)).result(WAIT)  # while that flush is held
    assert len(during) == 50 and not gate.released.is_set()
    assert visible_rows(lake, writer) == 150
    gate.release()
    wait_until(lambda: writer.flushes == 1)
    # The flush removed only what it held: the batch acknowledged meanwhile is still recent,
    # readable, and in the log; the flushed one's log segment is gone.
    assert lake_rows(lake) == 100
    assert writer.recent_snapshot().num_rows == 50
    assert visible_rows(lake, writer) == 150
    assert [(seq, len(columns[0])) for seq, columns in writer._wal.replay()] == [(2, 50)]
    writer.close()
    assert lake.cursor().execute(
        f'SELECT count(*), count(DISTINCT "TrackId") FROM {EVENTS_TABLE}').fetchone() == (150, 150)


def test_a_task_waits_for_a_running_flush_and_sees_every_acknowledged_event(
        make_writer, lake, monkeypatch):
    gate = FlushGate(monkeypatch)
    writer = make_writer()
    writer.insert(batch(100)).result(WAIT)
    assert gate.entered.wait(WAIT)
    writer.insert(batch(30, start=100)).result(WAIT)
    counted = writer.run(
        lambda cursor: cursor.execute(f"SELECT count(*) FROM {EVENTS_TABLE}").fetchone()[0])
    time.sleep(0.3)
    assert not counted.done()  # no task runs beside a flush
    gate.release()
    assert counted.result(WAIT) == 130  # the task's own flush moved the later batch too


def test_inserts_wait_for_a_slow_flush_when_recent_is_full(make_writer, lake, monkeypatch):
    gate = FlushGate(monkeypatch)
    writer = make_writer(max_recent_rows=150)
    writer.insert(batch(100)).result(WAIT)
    assert gate.entered.wait(WAIT)
    writer.insert(batch(100, start=100)).result(WAIT)  # 100 held: still room
    waiting = writer.insert(batch(100, start=200))     # 200 held: over the bound
    time.sleep(0.3)
    assert not waiting.done()
    gate.release()
    assert len(waiting.result(WAIT)) == 100
    writer.close()
    assert lake_rows(lake) == 300


def test_failing_flushes_refuse_inserts_once_recent_is_full_then_recover(
        make_writer, lake, monkeypatch):
    gate = FlushGate(monkeypatch, fail=True)
    writer = make_writer(max_recent_rows=250, stall_seconds=0.5)
    acknowledged = 0
    for start in (0, 100, 200):
        acknowledged += len(writer.insert(batch(100, start)).result(WAIT))
    assert gate.entered.wait(WAIT)
    began = time.monotonic()
    with pytest.raises(Unavailable):
        writer.insert(batch(100, 300)).result(WAIT)
    assert 0.4 < time.monotonic() - began < 5
    began = time.monotonic()
    with pytest.raises(Unavailable):  # still stalled: refused at once
        writer.insert(batch(100, 400)).result(WAIT)
    assert time.monotonic() - began < 0.4
    assert writer.flushes == 0 and visible_rows(lake, writer) == 300
    gate.release()  # the lake is back: the retry flushes, inserts are accepted again
    wait_until(lambda: writer.flushes >= 1)
    acknowledged += len(writer.insert(batch(100, 500)).result(WAIT))
    writer.close()
    assert lake_rows(lake) == acknowledged == 400


def test_a_flush_whose_log_rotation_fails_waits_before_it_tries_again(
        make_writer, lake, monkeypatch):
    writer = make_writer(flush_seconds=0.01)
    real_rotate, rotations = writer._wal.rotate, []

    def failing_rotate():
        rotations.append(time.monotonic())
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(writer._wal, "rotate", failing_rotate)
    writer.insert(batch(3)).result(WAIT)
    wait_until(lambda: rotations)
    time.sleep(0.5)
    assert len(rotations) == 1  # not a retry every few microseconds
    monkeypatch.setattr(writer._wal, "rotate", real_rotate)
    wait_until(lambda: writer.flushes >= 1)  # the retry, a second after the failure
    assert lake_rows(lake) == 3


def test_a_group_of_small_and_large_batches_keeps_every_event_in_order():
    from trackstore_server import event_batch

    small = [batch(1, start=0), batch(3, start=1)]                   # columns kept as lists
    large = batch(event_batch.DEFER_BUILD_MAX_EVENTS + 1, start=4)    # built at once
    assert not isinstance(small[0].data, type(large.data))
    group = [small[0], small[1], large, batch(2, start=1000)]
    table = event_batch.concat(group)
    assert table.schema == event_batch.ARROW_SCHEMA
    assert table.column("Value").to_pylist() == [
        v for b in group for v in b.table.column("Value").to_pylist()]
    assert table.column("TrackId").to_pylist() == [t for b in group for t in b.track_ids]
    assert small[0].data[event_batch.COLUMN_NAMES.index("Value")] == ["0"]  # not changed


def test_small_calls_are_logged_as_columns_and_built_once_for_reads(make_writer, lake, tmp_path):
    writer = make_writer(commit_max_rows=10_000)
    sent = [writer.insert(batch(2, start=10 * i)) for i in range(30)]
    ids = [track_id for future in sent for track_id in future.result(WAIT)]
    records = list(writer._wal.replay())
    # Groups of small calls are logged as their Python columns (JSON), not Arrow.
    assert records and all(isinstance(data, list) for _, data in records)
    assert sum(len(data[0]) for _, data in records) == 60
    snapshot = writer.recent_snapshot()
    assert sorted(snapshot.column("TrackId").to_pylist()) == sorted(ids)
    assert sorted(set(snapshot.column("__seq").to_pylist())) == [seq for seq, _ in records]
    assert sorted(snapshot.column("Value").to_pylist(), key=int) == [
        str(10 * i + k) for i in range(30) for k in range(2)]
    assert visible_rows(lake, writer) == 60

