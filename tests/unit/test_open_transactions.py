"""No cursor the server keeps may sit idle inside a transaction: while any transaction is open,
DuckDB keeps the undo data of every commit made after it began (lake.scalar).

Found in the benchmark's delete phase at 10M: the connection `open_store` returns kept the
result of its last `fetchone()` open, and the server's memory grew by 62 KB a Delete."""
from __future__ import annotations

import datetime as dt
import pathlib

import pytest

import trackstore_server
from trackstore.v1 import trackevents_pb2 as pb
from trackstore_server.config import Settings
from trackstore_server.engine import Engine
from trackstore_server.lake import EVENTS_TABLE, scalar, set_inline_row_limit
from trackstore_server.store import open_store

COMMITS = 200
# Below this the undo data was freed (about 1.5 MB stay in any case); a transaction held open
# across the commits keeps about 250 KB a commit on this small table (62 KB on the benchmark's).
FREED_BYTES = 4 * 1024 * 1024


@pytest.fixture
def settings(tmp_path) -> Settings:
    """A store made and closed: opening it again runs no format step, as a restart does."""
    made = Settings(data_dir=str(tmp_path / "data"))
    open_store(made).close()
    return made


@pytest.fixture
def lake(settings):
    conn = open_store(settings)
    yield conn
    conn.close()


def _held_bytes(cursor) -> int:
    return scalar(cursor, "SELECT coalesce(sum(memory_usage_bytes), 0)::BIGINT "
                          "FROM duckdb_memory() WHERE tag = 'TRANSACTION'")


def _store_rows(cursor, count: int) -> None:
    cursor.execute("BEGIN")
    set_inline_row_limit(cursor, 0)
    cursor.execute(f"""INSERT INTO {EVENTS_TABLE} ("TrackId", "Scope", "EventTime")
                       SELECT 'id' || range, 'a', TIMESTAMP '2024-01-01' + INTERVAL 1 SECOND * range
                       FROM range({count})""")
    cursor.execute("COMMIT")


def _delete_one_by_one(cursor, count: int) -> None:
    for i in range(count):
        cursor.execute("BEGIN")
        cursor.execute(f'DELETE FROM {EVENTS_TABLE} WHERE "TrackId" = ?', [f"id{i}"]).fetchall()
        cursor.execute("COMMIT")


def test_premise_a_result_left_open_keeps_the_undo_data_of_every_later_commit(lake):
    writer, idle = lake.cursor(), lake.cursor()
    _store_rows(writer, 10_000)
    idle.execute(f'SELECT max("EventTime") FROM {EVENTS_TABLE}').fetchone()
    _delete_one_by_one(writer, COMMITS)
    assert _held_bytes(writer) > 4 * FREED_BYTES
    idle.execute("SELECT 1").fetchall()  # the idle cursor's next statement ends it
    assert _held_bytes(writer) < FREED_BYTES


def test_scalar_ends_its_transaction(lake):
    writer, idle = lake.cursor(), lake.cursor()
    _store_rows(writer, 10_000)
    assert scalar(idle, f'SELECT count(*) FROM {EVENTS_TABLE}') == 10_000
    _delete_one_by_one(writer, COMMITS)
    assert _held_bytes(writer) < FREED_BYTES


def test_the_connection_open_store_returns_holds_no_transaction(lake):
    # `lake` is that connection, idle from here on, as the server leaves it.
    writer = lake.cursor()
    _store_rows(writer, 10_000)
    _delete_one_by_one(writer, COMMITS)
    assert _held_bytes(writer) < FREED_BYTES


def test_an_engine_holds_no_transaction_across_tracks_and_deletes(settings):
    engine = Engine(settings)
    try:
        start = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
        events = []
        for i in range(2000):
            event = pb.TrackEvent(track_id=f"id{i}", event_type="pageview")
            event.event_time.FromDatetime(start + dt.timedelta(seconds=i))
            events.append(event)
        engine.track("shop", events)
        engine.on_lake_thread(lambda cursor: None)  # flushed: each Delete looks in the lake
        for i in range(COMMITS):
            engine.delete("shop", f"id{i}")
            engine.on_lake_thread(lambda cursor: None)  # a flush applies it: one commit each
        cursor = engine._conn.cursor()
        try:
            assert scalar(cursor, f"SELECT count(*) FROM {EVENTS_TABLE}") == 2000 - COMMITS
            assert _held_bytes(cursor) < FREED_BYTES
        finally:
            cursor.close()
    finally:
        engine.close()


def test_the_server_reads_single_values_through_scalar_only():
    # A new fetchone() on a long-lived cursor would pin commits again; the behaviour tests
    # above cover only the paths they run.
    offenders = [
        f"{path.name}:{number}"
        for path in sorted(pathlib.Path(trackstore_server.__file__).parent.rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if ".fetchone()" in line and "`fetchone()`" not in line
    ]
    assert offenders == []
