"""Row rewrites (key promotion, the partition rewrite of compaction) copy the events one time
slice at a time, in time order, and never delete an original that was not copied."""
from __future__ import annotations

import datetime as dt
import random

import pytest

from trackstore_server import lake as lake_module
from trackstore_server.config import Settings
from trackstore_server.lake import EVENTS_TABLE, rewrite_rows, time_slices
from trackstore_server.store import open_store

START = dt.datetime(2024, 5, 30)


@pytest.fixture
def lake(tmp_path):
    conn = open_store(Settings(data_dir=str(tmp_path / "data")))
    cursor = conn.cursor()
    rng = random.Random(3)
    rows = [(f"t{i}", scope, START + dt.timedelta(seconds=rng.randrange(4 * 86400)))
            for i, scope in enumerate(["a"] * 900 + ["b"] * 300)]
    rng.shuffle(rows)
    cursor.execute("BEGIN")
    lake_module.set_inline_row_limit(cursor, 0)
    cursor.executemany(
        f'INSERT INTO {EVENTS_TABLE} ("TrackId", "Scope", "EventTime") VALUES (?, ?, ?)', rows)
    cursor.execute("COMMIT")
    yield cursor
    conn.close()


def _copy(condition: str) -> str:
    return f"INSERT INTO {EVENTS_TABLE} SELECT * FROM {EVENTS_TABLE} WHERE {condition}"


def _stored(cursor) -> list[tuple]:
    return cursor.execute(
        f'SELECT "TrackId", "Scope", "EventTime" FROM {EVENTS_TABLE} ORDER BY 1').fetchall()


def test_slices_hold_whole_hours_of_one_scope_and_cover_every_event(lake):
    slices, total = time_slices(lake, "TRUE", {}, max_rows=100)
    assert total == 1200
    covered = 0
    for condition, bounds in slices:
        count = lake.execute(
            f"SELECT count(*) FROM {EVENTS_TABLE} WHERE {condition}", bounds).fetchone()[0]
        # An hour here holds about 9 events of scope a: only a run of hours reaches the cap.
        assert 0 < count <= 100
        assert bounds["slice_end"] > bounds["slice_start"]
        covered += count
    assert covered == 1200
    assert {bounds["slice_scope"] for _, bounds in slices} == {"a", "b"}
    assert len(slices) >= 12  # 1200 events at most 100 a slice


def test_a_sliced_rewrite_keeps_every_event_and_writes_them_in_time_order(lake, monkeypatch):
    monkeypatch.setattr(lake_module, "REWRITE_SLICE_ROWS", 150)
    before = _stored(lake)
    lake.execute("BEGIN")
    rewrite_rows(lake, _copy, '"Scope" = $scope', {"scope": "a"}, 0)
    lake.execute("COMMIT")
    assert _stored(lake) == before
    times = [row[0] for row in lake.execute(
        f'SELECT "EventTime" FROM {EVENTS_TABLE} WHERE "Scope" = \'a\' ORDER BY rowid'
    ).fetchall()]
    assert times == sorted(times)


def test_a_copy_that_misses_events_deletes_nothing(lake):
    before = _stored(lake)

    def lossy_copy(condition: str) -> str:
        return f"{_copy(condition)} AND \"TrackId\" <> 't5'"

    lake.execute("BEGIN")
    with pytest.raises(RuntimeError, match="copied 1199 of 1200"):
        rewrite_rows(lake, lossy_copy, "TRUE", {}, 0)
    lake.execute("ROLLBACK")
    assert _stored(lake) == before
