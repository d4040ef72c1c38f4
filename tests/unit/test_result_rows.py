"""Preview and List rows written as Struct bytes (server/wire/rows.c) are the same
items protobuf's Struct.update makes of server/rows.py's values."""
from __future__ import annotations

import datetime as dt
import decimal
import json
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trackstore.v1 import trackevents_pb2 as pb
from trackstore_server.rows import ResultRows
from trackstore_server.api.servicer import LIST_ITEMS_FIELD, PREVIEW_ITEMS_FIELD, _to_struct


def both_ways(names, json_columns, rows):
    result = ResultRows(names, json_columns, rows)
    encoded = result.encode(PREVIEW_ITEMS_FIELD)
    expected = pb.PreviewResponse(items=[_to_struct(item) for item in result.items()])
    return encoded, expected


def assert_same(names, json_columns, rows):
    encoded, expected = both_ways(names, json_columns, rows)
    assert encoded is not None
    assert pb.PreviewResponse.FromString(encoded) == expected
    return expected


def test_event_rows_with_json_columns():
    rows = [("id-1", '{"a": 1, "b": [1.5, null, true, "x\\u00e9\\ud83d\\ude00"], "c": {}}',
             '{"Email": "a@b.c"}', dt.datetime(2025, 1, 2, 3, 4, 5, 6), 12.5, None),
            ("id-2", None, "{not json", dt.datetime(2025, 1, 2), float("nan"), 7)]
    names = ["TrackId", "Payload", "User", "EventTime", "Value", "Count"]
    expected = assert_same(names, [False, True, True, False, False, False], rows)
    first = expected.items[0]
    assert first["Payload"]["b"][3] == "xé😀"
    assert first["EventTime"] == "2025-01-02T03:04:05.000006Z"
    assert expected.items[1]["User"] == "{not json"  # not JSON: the text as it is


@pytest.mark.parametrize("text", [
    '"just a string"', "12", "-0", "-0.0", "1e400", "123456789012345678901234567890", "[]",
    '{"a": "\\ud800"}', '{"a": 1, "a": 2}', " [1, {\"x\": null}] ", "nul", "", "true",
])
def test_json_texts_of_every_shape(text):
    assert_same(["v"], [True], [(text,)])


def test_datetimes_of_every_kind():
    utc_plus_2 = dt.timezone(dt.timedelta(hours=2))
    rows = [(dt.datetime(2025, 12, 31, 23, 59, 59, 999999),), (dt.datetime(1, 1, 1),),
            (dt.datetime(999, 5, 6, 7, 8, 9),), (dt.datetime(2025, 1, 1, 12, tzinfo=utc_plus_2),),
            (dt.datetime(9999, 12, 31),)]
    expected = assert_same(["t"], [False], rows)
    assert expected.items[3]["t"] == "2025-01-01T10:00:00.000000Z"


def test_other_types_are_converted_as_rows_py_converts_them():
    rows = [(dt.date(2025, 1, 2), dt.timedelta(days=1, seconds=5), decimal.Decimal("1.25"),
             uuid.UUID(int=5), [1, "a", None], {"k": dt.datetime(2025, 1, 1), "n": [1.5]},
             b"bytes", True, 2**70, float("-inf"))]
    assert_same([f"c{i}" for i in range(10)], [False] * 10, rows)


def test_a_value_beyond_a_double_is_left_to_protobuf():
    result = ResultRows(["big"], [False], [(10**400,)])
    assert result.encode(PREVIEW_ITEMS_FIELD) is None
    with pytest.raises(OverflowError):  # what the response does with it is protobuf's call
        _to_struct(result.items()[0])


def test_list_items_field_and_empty_rows():
    result = ResultRows(["a"], [False], [("x",), ("y",)])
    parsed = pb.ListResponse.FromString(result.encode(LIST_ITEMS_FIELD))
    assert [item["a"] for item in parsed.items] == ["x", "y"]
    assert ResultRows(["a"], [False], []).encode(LIST_ITEMS_FIELD) == b""


scalars = (st.none() | st.booleans() | st.integers(-(2**80), 2**80) | st.floats() |
           st.text() | st.datetimes() | st.dates())
json_shaped = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) |
    st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) |
    st.dictionaries(st.text(max_size=6), children, max_size=4), max_leaves=25)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(scalars, json_shaped, st.booleans()), min_size=1, max_size=5),
       st.sampled_from([{}, {"ensure_ascii": False}, {"indent": 1}]))
def test_generated_rows_match(rows, options):
    table = [(scalar, json.dumps(value, **options), value if keep else None)
             for scalar, value, keep in rows]
    names = ["scalar", "json", "nested"]
    json_columns = [False, True, False]
    encoded, expected = both_ways(names, json_columns, table)
    if encoded is None:  # only for numbers beyond a double, which Struct.update refuses too
        return
    assert pb.PreviewResponse.FromString(encoded) == expected
