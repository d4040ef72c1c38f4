"""Stage one of deletion (server/deletes.py) on a real lake: outcomes per request of a group,
what the group removed, and the pending count read from DuckLake's delete files."""
from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from trackstore_server import lake as lake_module
from trackstore_server.config import Settings
from trackstore_server.deletes import DeleteRequest, delete_group
from trackstore_server.errors import DeleteBacklog, NotFound
from trackstore_server.lake import EVENTS_TABLE, WAL_STATE_TABLE, pending_deletions
from trackstore_server.store import open_store

START = dt.datetime(2024, 5, 30)


@pytest.fixture
def lake(tmp_path):
    conn = open_store(Settings(data_dir=str(tmp_path / "data")))
    cursor = conn.cursor()
    rows = [(f"{scope}{i}", scope, START + dt.timedelta(hours=i))
            for scope in ("a", "b") for i in range(20)]
    rows += [("twice", "a", START), ("twice", "a", START + dt.timedelta(hours=5))]
    track_ids, scopes, times = zip(*rows)
    cursor.register("new_rows", pa.table({"TrackId": track_ids, "Scope": scopes,
                                          "EventTime": times}))
    cursor.execute("BEGIN")
    lake_module.set_inline_row_limit(cursor, 0)
    # One INSERT: a file per scope, so a deletion leaves rows beside it (a file whose every
    # row is deleted leaves the snapshot instead, and waits for nothing).
    cursor.execute(f'INSERT INTO {EVENTS_TABLE} ("TrackId", "Scope", "EventTime") '
                   "SELECT * FROM new_rows")
    cursor.execute("COMMIT")
    cursor.unregister("new_rows")
    yield cursor
    conn.close()


def _ids(cursor) -> set[tuple[str, str]]:
    return set(cursor.execute(f'SELECT "Scope", "TrackId" FROM {EVENTS_TABLE}').fetchall())


def _run(cursor, *keys, max_pending=1_000_000):
    return delete_group(cursor, [DeleteRequest(scope, track_id) for scope, track_id in keys],
                        max_pending=max_pending, retry_seconds=30)


def _kinds(outcomes):
    return [None if outcome is None else type(outcome) for outcome in outcomes]


def test_a_group_of_stored_ids_is_deleted_and_counted_pending(lake):
    before = _ids(lake)
    assert _kinds(_run(lake, ("a", "a1"), ("b", "b2"), ("a", "a3"))) == [None] * 3
    assert before - _ids(lake) == {("a", "a1"), ("b", "b2"), ("a", "a3")}
    assert pending_deletions(lake) == 3


def test_unknown_ids_and_repeats_are_not_found_and_the_rest_deleted(lake):
    outcomes = _run(lake, ("a", "a1"), ("a", "nope"), ("b", "a2"), ("a", "a1"), ("b", "b5"))
    assert _kinds(outcomes) == [None, NotFound, NotFound, NotFound, None]
    assert "'nope'" in outcomes[1].message and "'a'" in outcomes[1].message
    assert ("a", "a1") not in _ids(lake) and ("b", "b5") not in _ids(lake)
    assert ("a", "a2") in _ids(lake)
    assert pending_deletions(lake) == 2


def test_a_single_unknown_id_is_not_found(lake):
    outcomes = _run(lake, ("b", "a1"))
    assert _kinds(outcomes) == [NotFound] and pending_deletions(lake) == 0
    assert _kinds(_run(lake, ("a", "a1"), max_pending=0)) == [DeleteBacklog]
    assert ("a", "a1") in _ids(lake)


def test_a_group_of_unknown_ids_changes_nothing(lake):
    before = _ids(lake)
    assert _kinds(_run(lake, ("a", "x"), ("b", "y"))) == [NotFound, NotFound]
    assert _ids(lake) == before and pending_deletions(lake) == 0


@pytest.mark.parametrize("others", [[], [("a", "missing")]])
def test_an_id_stored_twice_is_deleted_whole(lake, others):
    # Ingest never stores a (Scope, TrackId) twice; should it happen, both rows go, once, and
    # the two rows removed do not pass for two ids found.
    outcomes = _run(lake, ("a", "twice"), *others)
    assert _kinds(outcomes) == [None] + [NotFound] * len(others)
    assert ("a", "twice") not in _ids(lake)
    assert pending_deletions(lake) == 2


def test_the_pending_limit_accepts_in_request_order_and_refuses_the_rest(lake):
    _run(lake, ("a", "a0"), ("a", "a1"))
    outcomes = _run(lake, ("a", "nope"), ("a", "a2"), ("a", "a3"), ("b", "b1"), max_pending=4)
    assert _kinds(outcomes) == [NotFound, None, None, DeleteBacklog]
    assert outcomes[3].retry_after_seconds == 30
    assert ("b", "b1") in _ids(lake) and ("a", "a3") not in _ids(lake)
    assert pending_deletions(lake) == 4


def test_pending_counts_only_deleted_events_not_other_tables(lake):
    lake.execute(f"INSERT INTO {WAL_STATE_TABLE} VALUES ('s', 1), ('t', 2)")
    lake.execute(f"DELETE FROM {WAL_STATE_TABLE} WHERE \"ServerId\" = 's'")
    assert pending_deletions(lake) == 0
    _run(lake, ("b", "b7"))
    assert pending_deletions(lake) == 1


def test_pending_deletions_leave_the_count_when_compaction_rewrites_them(lake):
    from trackstore_server.compaction import compact

    _run(lake, ("a", "a4"), ("b", "b4"), ("a", "twice"))
    assert compact(lake, inline_row_limit=0).applied_deletions == 4
    assert pending_deletions(lake) == 0
    assert len(_ids(lake)) == 41 - 3
