"""The values of the tracked columns: noted before events can be read, stored with the flush
that stores the events, read back by readers, and filled in for stores that predate the table
(server/column_values.py)."""
from __future__ import annotations

import pyarrow as pa
import pytest

from trackstore.v1 import trackevents_pb2 as pb
from trackstore_server import column_values
from trackstore_server.column_values import COLUMN_VALUES_TABLE, GivenValues, LakeValues
from trackstore_server.event_batch import build_batch
from trackstore_server.lake import EVENTS_TABLE
from trackstore_server.wal import WriteAheadLog
from trackstore_server.writer import Writer


@pytest.fixture
def writer(lake, tmp_path):
    writer = Writer(lake, WriteAheadLog(tmp_path / "wal"), "test-server", commit_max_rows=100,
                    inline_row_limit=0, flush_seconds=60.0)
    yield writer
    writer.close()


def events(scope: str, *types: str, country: str = "SE", count: int = 1):
    return build_batch(scope, [pb.TrackEvent(event_type=t, country_code=country, value=str(i))
                               for t in types for i in range(count)])


def stored(lake) -> set[tuple]:
    return set(lake.cursor().execute(
        f'SELECT "Scope", "Column", "Value" FROM {COLUMN_VALUES_TABLE}').fetchall())


def test_noted_values_per_scope_count_a_missing_string_as_empty():
    given = GivenValues()
    given.note("shop", events("shop", "view", "buy").data)  # Python columns
    given.note("shop", build_batch("shop", [pb.TrackEvent(event_type="view")] * 300).data)
    given.note("blog", pa.table({"EventType": ["read", None], "CountryCode": ["DE", "DE"],
                                 "City": [None, None]}))
    _, shop = given.of_scope("shop")
    assert shop["EventType"] == {"view", "buy"}
    assert shop["CountryCode"] == {"SE", ""}  # the 300 events without a country
    assert given.of_scope("blog")[1] == {"EventType": {"read", ""}, "CountryCode": {"DE"},
                                         "City": {""}}
    assert given.of_scope("nowhere")[1] == {c: frozenset() for c in column_values.TRACKED_COLUMNS}


def test_the_generation_grows_only_with_a_value_not_given_before():
    given = GivenValues()
    given.note("shop", events("shop", "view").data)
    first = given.generation
    given.note("shop", events("shop", "view", count=5).data)
    assert given.generation == first
    given.note("shop", events("shop", "buy").data)
    assert given.generation > first


def test_a_column_with_too_many_values_stops_being_tracked(monkeypatch):
    monkeypatch.setattr(column_values, "MAX_VALUES", 3)
    given = GivenValues()
    given.note("shop", events("shop", "a", "b", "c").data)
    assert given.of_scope("shop")[1]["EventType"] == {"a", "b", "c"}
    given.note("shop", events("shop", "d").data)
    assert given.of_scope("shop")[1]["EventType"] is None
    assert ("shop", "EventType", None) in given.unstored()[1]
    lake_side = {"EventType": frozenset({"a"}), "CountryCode": frozenset(), "City": frozenset()}
    assert "EventType" not in column_values.combined(lake_side, given.of_scope("shop")[1])


def test_a_flush_stores_new_values_with_its_events_and_readers_see_the_change(writer, lake):
    readers = LakeValues()
    cursor = lake.cursor()
    readers.refresh(cursor)
    empty = readers.version
    writer.insert(events("shop", "view", "buy", country="DE")).result()
    writer.run(lambda c: None).result()  # a task runs after a flush
    assert {("shop", "EventType", "view"), ("shop", "EventType", "buy"),
            ("shop", "CountryCode", "DE"), ("shop", "City", "")} <= stored(lake)
    assert readers.refresh(cursor) != empty
    assert readers.of_scope("shop")[1]["EventType"] == {"view", "buy"}
    # Known values add nothing: no insert, no new file, so readers need not read again.
    version = readers.version
    writer.insert(events("shop", "view", count=3, country="DE")).result()
    writer.run(lambda c: None).result()
    assert column_values.lake_version(cursor) == version
    assert cursor.execute(f"SELECT count(*) FROM {EVENTS_TABLE}").fetchone()[0] == 5
    rows = len(stored(lake))
    writer.insert(events("shop", "refund", country="DE")).result()
    writer.run(lambda c: None).result()
    assert len(stored(lake)) == rows + 1
    assert readers.refresh(cursor) != version
    assert "refund" in readers.of_scope("shop")[1]["EventType"]


def test_a_store_without_the_table_gets_the_values_of_its_events(lake, monkeypatch):
    cursor = lake.cursor()  # a store as an older server left it: events, no column_values
    cursor.execute(f"DROP TABLE {column_values.COLUMN_VALUES_TABLE}")
    cursor.execute(f'INSERT INTO {EVENTS_TABLE} ("Scope", "EventType", "CountryCode", "City", '
                   '"EventTime") SELECT *, TIMESTAMP \'2024-01-01\' FROM (VALUES '
                   "('shop', 'view', 'DE', NULL), ('shop', 'buy', 'DE', 'Oslo'), "
                   "('blog', 'read', NULL, 'a'), ('blog', 'read', 'NO', 'b'), "
                   "('blog', 'read', 'NO', 'c'))")
    monkeypatch.setattr(column_values, "MAX_VALUES", 2)
    column_values.ensure_table(cursor, 0)
    assert stored(lake) == {
        ("shop", "EventType", "view"), ("shop", "EventType", "buy"),
        ("shop", "CountryCode", "DE"), ("shop", "City", ""), ("shop", "City", "Oslo"),
        ("blog", "EventType", "read"), ("blog", "CountryCode", ""), ("blog", "CountryCode", "NO"),
        ("blog", "City", None),  # three cities: more than MAX_VALUES, so not tracked
    }
    column_values.ensure_table(cursor, 0)  # once only
    assert len(stored(lake)) == 9


def test_replayed_events_have_their_values_noted_and_stored(lake, replaying):
    writer = replaying(
        pa.concat_tables([events("shop", "view").table, events("blog", "read").table]),
        events("shop", "buy").data)
    assert writer.values.of_scope("shop")[1]["EventType"] == {"view", "buy"}
    assert writer.values.of_scope("blog")[1]["EventType"] == {"read"}
    assert {("shop", "EventType", "view"), ("shop", "EventType", "buy"),
            ("blog", "EventType", "read")} <= stored(lake)
