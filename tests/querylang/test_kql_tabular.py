"""KQL tabular operators, run in DuckDB; rows and output columns checked."""
from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from querylang import OutputColumn, compile
from querylang.schema import EVENTS_SCHEMA

BY_TIME_DESC = ["t08", "t07", "t06", "t05", "t03", "t02", "t01", "t04"]


def cols(query):
    return [(c.name, c.type) for c in compile(query).columns]


# ---------------------------------------------------------------- sort / top / take
@pytest.mark.parametrize("query, expected", [
    ("Events | sort by EventTime", BY_TIME_DESC),
    ("Events | order by EventTime desc", BY_TIME_DESC),
    ("Events | orderby EventTime asc", BY_TIME_DESC[::-1]),
    ("Events | sort by City asc, TrackId asc",
     ["t03", "t06", "t01", "t07", "t02", "t08", "t05", "t04"]),
    # a missing City is '', not null: the smallest string, whatever 'nulls' says
    ("Events | sort by City desc, TrackId asc",
     ["t04", "t05", "t02", "t08", "t01", "t07", "t03", "t06"]),
    ("Events | sort by City asc nulls last, TrackId asc",
     ["t03", "t06", "t01", "t07", "t02", "t08", "t05", "t04"]),
    ("Events | sort by Payload.price asc nulls last, TrackId",
     ["t08", "t02", "t06", "t01", "t03", "t07", "t05", "t04"]),
    ("Events | sort by toint(Value) desc nulls first, TrackId asc",
     ["t03", "t04", "t07", "t02", "t05", "t01", "t06", "t08"]),
    ("Events | top 3 by EventTime", ["t08", "t07", "t06"]),
    ("Events | top 2 by EventTime asc", ["t04", "t01"]),
    ("Events | top 3 by Payload.price desc | where City != 'Oslo'", ["t07", "t03", "t01"]),
    ("Events | top 4 by EventTime | where EventType != 'click'", ["t07", "t06", "t05"]),
    ("Events | sort by EventTime asc | take 3", ["t04", "t01", "t02"]),
    ("Events | sort by EventTime asc | where EventType == 'pageview'",
     ["t04", "t01", "t02", "t06"]),
    ("Events | sort by EventTime asc | project TrackId | take 2", ["t04", "t01"]),
    ("Events | sort by EventTime asc | extend x = 1 | where x == 1 | take 2", ["t04", "t01"]),
    ("Events | top 5 by EventTime | top 2 by EventTime asc", ["t03", "t05"]),
    ("Events | where EventType == 'click' | sort by EventTime asc", ["t03", "t08"]),
])
def test_ordered_rows(db, query, expected):
    assert db.ids(query) == expected


def test_take_then_sort_sorts_the_taken_rows(db):
    rows = db.rows("Events | take 3 | sort by EventTime asc")
    times = [r["EventTime"] for r in rows]
    assert len(rows) == 3 and times == sorted(times)


def test_take_twice_takes_the_smaller(db):
    assert len(db.rows("Events | take 5 | take 2")) == 2
    assert len(db.rows("Events | take 2 | take 5")) == 2


# ---------------------------------------------------------------- project family
def test_project_names_and_types(db):
    q = "Events | where TrackId == 't01' | project TrackId, City, Email = User.Email, User.Name, " \
        "Year = getyear(EventTime), tostring(User.Email), Price = todouble(Payload.price)"
    assert cols(q) == [("TrackId", "string"), ("City", "string"), ("Email", "dynamic"),
                       ("User_Name", "dynamic"), ("Year", "int"), ("User_Email", "string"),
                       ("Price", "real")]
    [row] = db.rows(q)
    assert json.loads(row["Email"]) == "ann@example.com"
    assert json.loads(row["User_Name"]) == "Ann"
    assert row["Year"] == 2019 and row["User_Email"] == "ann@example.com"
    assert row["Price"] == 150.0


def test_project_dynamic_values_come_back_as_json(db):
    [row] = db.rows("Events | where TrackId == 't01' | project Payload.tags, Payload.a, "
                    "Payload.price, Payload.nothing, d = dynamic({'k': [1, 'x']})")
    assert json.loads(row["Payload_tags"]) == ["a", "b"]
    assert json.loads(row["Payload_a"]) == {"b": [10, 20]}
    assert json.loads(row["Payload_price"]) == 150
    assert row["Payload_nothing"] is None
    assert json.loads(row["d"]) == {"k": [1, "x"]}


def test_extend_adds_and_replaces_columns(db):
    q = "Events | extend City = toupper(City), n = toint(Value) | where City == 'BERLIN'"
    names = [c for c, _ in cols(q)]
    assert names == list(EVENTS_SCHEMA.names) + ["n"]
    rows = db.rows(q)
    assert sorted(r["TrackId"] for r in rows) == ["t01", "t04", "t07"]
    assert sorted(r["n"] for r in rows if r["n"] is not None) == [5, 250]


def test_extend_can_use_earlier_items_and_later_operators_see_them(db):
    rows = db.rows("Events | extend a = toint(Value), b = a * 2 | where b > 20 "
                   "| project TrackId, b | sort by b asc")
    assert [(r["TrackId"], r["b"]) for r in rows] == [("t02", 24), ("t07", 500)]


def test_extend_timespan_and_datetime_values(db):
    rows = db.rows("Events | where TrackId == 't08' | extend age = now() - EventTime, "
                   "d = bin(EventTime, 1d), w = dayofweek(EventTime) | project age, d, w")
    assert rows == [{"age": timedelta(hours=13), "d": datetime(2023, 12, 31),
                     "w": timedelta(0)}]
    assert cols("Events | extend age = now() - EventTime | project age") == \
        [("age", "timespan")]


def test_project_away_rename_reorder(db):
    assert cols("Events | project-away User, Payload, Scope") == [
        (c.name, c.type) for c in EVENTS_SCHEMA.columns
        if c.name not in ("User", "Payload", "Scope")]
    q = "Events | project TrackId, City | project-rename Town = City, Id = TrackId"
    assert cols(q) == [("Id", "string"), ("Town", "string")]
    assert sorted(r["Id"] for r in db.rows(q + " | where Town == 'Oslo'")) == ["t02", "t08"]
    q = "Events | project TrackId, City, EventType | project-reorder EventType, City"
    assert [c for c, _ in cols(q)] == ["EventType", "City", "TrackId"]
    assert db.rows(q + " | where TrackId == 't05'") == [
        {"EventType": "purchase", "City": "Paris", "TrackId": "t05"}]


# ---------------------------------------------------------------- summarize / count / distinct
def test_summarize_count_by(db):
    q = "Events | summarize count() by EventType | sort by EventType asc"
    assert cols(q) == [("EventType", "string"), ("count_", "long")]
    assert db.rows(q) == [{"EventType": "click", "count_": 2},
                          {"EventType": "pageview", "count_": 4},
                          {"EventType": "purchase", "count_": 2}]


def test_summarize_many_aggregates_without_by(db):
    q = ("Events | summarize n = count(), countif(EventType == 'pageview'), "
         "dcount(SessionId), dcountif(SessionId, EventType == 'click'), sum(Payload.price), "
         "avg(Payload.price), min(EventTime), max(EventTime), sumif(toint(Value), City == "
         "'Berlin'), avgif(toint(Value), City == 'Berlin'), percentile(Payload.price, 50), "
         "p90 = percentile(Payload.price, 90)")
    assert cols(q) == [
        ("n", "long"), ("countif_", "long"), ("dcount_SessionId", "long"), ("dcountif_SessionId",
                                                                           "long"),
        ("sum_Payload_price", "real"), ("avg_Payload_price", "real"), ("min_EventTime",
                                                                       "datetime"),
        ("max_EventTime", "datetime"), ("sumif_Value", "long"), ("avgif_Value", "real"),
        ("percentile_Payload_price_50", "real"), ("p90", "real")]
    [row] = db.rows(q)
    assert row["n"] == 8 and row["countif_"] == 4
    assert row["dcount_SessionId"] == 4 and row["dcountif_SessionId"] == 2
    assert row["sum_Payload_price"] == pytest.approx(804.75)
    assert row["avg_Payload_price"] == pytest.approx(134.125)
    assert row["min_EventTime"] == datetime(2018, 12, 31, 23, 59, 59)
    assert row["max_EventTime"] == datetime(2023, 12, 31, 23, 0)
    assert row["sumif_Value"] == 255 and row["avgif_Value"] == 127.5
    # nearest-rank percentile over 5, 99.5, 100, 150, 200, 250.25
    assert row["percentile_Payload_price_50"] == 100 and row["p90"] == 250.25


def test_summarize_on_empty_input_without_by_gives_one_row(db):
    assert db.rows("Events | where City == 'nowhere' | summarize count(), sum(toint(Value))") \
        == [{"count_": 0, "sum_Value": 0}]  # Kusto's sum of no values is 0


def test_summarize_by_bin(db):
    q = "Events | summarize c = count() by bin(EventTime, 1d) | where c > 1"
    assert cols(q) == [("EventTime", "datetime"), ("c", "long")]
    assert db.rows(q) == [{"EventTime": datetime(2023, 12, 31), "c": 2}]
    rows = db.rows("Events | summarize c = count() by y = bin(EventTime, 30d) | sort by y asc")
    assert sum(r["c"] for r in rows) == 8 and len(rows) == 7
    assert rows[-1] == {"y": datetime(2023, 12, 17), "c": 2}  # bins count from 0001-01-01


def test_summarize_several_keys_and_expressions(db):
    rows = db.rows("Events | summarize n = count(), last = max(EventTime) by CountryCode, "
                   "pv = EventType == 'pageview' | where n > 1 | sort by CountryCode asc")
    assert rows == [{"CountryCode": "DE", "pv": True, "n": 2,
                     "last": datetime(2019, 6, 1, 10)}]


def test_summarize_lists_and_sets(db):
    rows = db.rows("Events | summarize ids = make_list(TrackId), types = make_set(EventType), "
                   "prices = make_list(Payload.price) by SessionId | sort by SessionId asc")
    got = {r["SessionId"]: (sorted(json.loads(r["ids"])), sorted(json.loads(r["types"])),
                            json.loads(r["prices"])) for r in rows}
    assert got["s1"] == (["t01", "t02", "t07"], ["pageview", "purchase"], got["s1"][2])
    assert sorted(got["s1"][2]) == [99.5, 150, 250.25]
    assert got["s3"][1] == ["pageview", "purchase"]
    assert got["s4"] == (["t08"], ["click"], [5])


def test_arg_max_star_returns_whole_rows(db):
    q = "Events | summarize arg_max(EventTime, *) by SessionId | sort by SessionId asc"
    names = [c for c, _ in cols(q)]
    assert names[:2] == ["SessionId", "EventTime"]
    assert sorted(names) == sorted(EVENTS_SCHEMA.names)
    rows = db.rows(q)
    assert [r["TrackId"] for r in rows] == ["t07", "t03", "t06", "t08"]
    assert rows[0]["City"] == "Berlin" and json.loads(rows[0]["Payload"])["name"] == "Boots"


def test_arg_min_named_columns(db):
    q = "Events | summarize arg_min(EventTime, TrackId, City) by SessionId | sort by SessionId"
    assert cols(q) == [("SessionId", "string"), ("EventTime", "datetime"),
                       ("TrackId", "string"), ("City", "string")]
    assert [r["TrackId"] for r in db.rows(q)] == ["t08", "t05", "t04", "t01"]


def test_take_any(db):
    rows = db.rows("Events | summarize take_any(City) by CountryCode | where CountryCode == 'DE'")
    assert rows[0]["City"] in ("Berlin", "berlin")  # take_any keeps its argument's name


def test_summarize_by_only_and_converted_dynamic_key(db):
    assert sorted(r["EventType"] for r in db.rows("Events | summarize by EventType")) == \
        ["click", "pageview", "purchase"]
    q = "Events | summarize count() by tostring(Payload.name)"
    rows = db.rows(q)
    assert cols(q)[0] == ("Payload_name", "string")  # a conversion keeps the value's name
    assert sorted(r["Payload_name"] for r in rows) == ["", "Boots", "Hat", "Shoes", "hat"]


def test_after_summarize_operators_see_the_new_columns(db):
    rows = db.rows("Events | summarize c = count() by SessionId | where c > 1 "
                   "| extend double = c * 2 | sort by SessionId asc")
    assert [(r["SessionId"], r["c"], r["double"]) for r in rows] == \
        [("s1", 3, 6), ("s2", 2, 4), ("s3", 2, 4)]
    assert db.rows("Events | summarize count() by EventType | sort by count_ desc | take 1") \
        == [{"EventType": "pageview", "count_": 4}]


def test_count(db):
    assert cols("Events | count") == [("Count", "long")]
    assert db.rows("Events | count") == [{"Count": 8}]
    assert db.rows("Events | where City == 'Oslo' | count") == [{"Count": 2}]
    assert db.rows("Events | take 3 | count") == [{"Count": 3}]
    # a missing City and an empty City are the same group, as in Kusto
    assert db.rows("Events | summarize count() by City | count") == [{"Count": 5}]
    assert db.rows("Events | summarize n = count() by City | where City == ''") == \
        [{"City": "", "n": 2}]
    assert len(db.rows("Events | distinct City")) == 5


def test_distinct(db):
    assert sorted(r["EventType"] for r in db.rows("Events | distinct EventType")) == \
        ["click", "pageview", "purchase"]
    rows = db.rows("Events | distinct CountryCode, EventType | where CountryCode == 'DE'")
    assert sorted((r["CountryCode"], r["EventType"]) for r in rows) == \
        [("DE", "pageview"), ("DE", "purchase")]
    assert len(db.rows("Events | project-away User, Payload | distinct *")) == 8
    assert db.rows("Events | distinct SessionId | sort by SessionId asc | take 2") == \
        [{"SessionId": "s1"}, {"SessionId": "s2"}]


# ---------------------------------------------------------------- let, comments, whitespace
def test_let_statements(db):
    assert sorted(db.ids("let since = datetime(2023-01-01); Events | where EventTime > since")) \
        == ["t06", "t07", "t08"]
    assert sorted(db.ids("let since = ago(7d);\nEvents | where EventTime > since")) == \
        ["t07", "t08"]
    assert len(db.rows("let n = 2; let t = 'pageview';\nEvents\n| where EventType == t\n"
                       "| take n")) == 2
    assert sorted(db.ids("let cities = dynamic(['Oslo', 'Paris']);\nEvents | where City !in "
                         "(cities)")) == ["t01", "t03", "t04", "t06", "t07"]
    assert db.ids("let a = 1d; let b = a * 2; Events | where EventTime > now() - b "
                  "| sort by EventTime asc;") == ["t07", "t08"]


def test_comments_and_whitespace(db):
    q = "// all Oslo events\nEvents // the table\n\t|   where City == 'Oslo' // only oslo\n\n" \
        "| sort by TrackId asc  // stable\n"
    assert db.ids(q) == ["t02", "t08"]
    assert db.ids("Events|where City=='Oslo'|sort by TrackId asc") == ["t02", "t08"]
    assert db.ids("Events\r\n| where City == 'Oslo'\r\n| sort by TrackId asc") == ["t02", "t08"]


def test_filter_and_limit_are_aliases(db):
    assert sorted(db.ids("Events | filter City == 'Oslo' | limit 5")) == ["t02", "t08"]


def test_output_columns_are_output_column_objects():
    q = compile("Events | project TrackId, n = 1, r = 1.5, b = true, s = 'x', t = 1h, "
                "d = datetime(2020-01-01), i = toint(1), y = dynamic([1])")
    assert q.columns == (OutputColumn("TrackId", "string"), OutputColumn("n", "long"),
                         OutputColumn("r", "real"), OutputColumn("b", "bool"),
                         OutputColumn("s", "string"), OutputColumn("t", "timespan"),
                         OutputColumn("d", "datetime"), OutputColumn("i", "int"),
                         OutputColumn("y", "dynamic"))


def test_every_output_type_matches_duckdb(db):
    # conftest.Runner checks every result column's DuckDB type against the declared KQL type
    rows = db.rows("Events | take 1 | project n = 1, r = 1.5, b = true, s = 'x', t = 1h, "
                   "d = datetime(2020-01-01), i = toint(1), y = dynamic([1]), "
                   "l = strlen('abc'), z = tostring(dynamic(null))")
    assert rows == [{"n": 1, "r": 1.5, "b": True, "s": "x", "t": timedelta(hours=1),
                     "d": datetime(2020, 1, 1), "i": 1, "y": "[1]", "l": 3, "z": ""}]


def test_dcount_leaves_nulls_out_and_counts_each_value_once(db):
    # Payload.price is missing in two events, Value is not a number in one, City is '' in one
    q = ("Events | summarize dcount(Payload.price), dcount(toint(Value)), dcount(City), "
         "dcountif(Payload.price, City != 'Oslo'), dcount(Payload) by EventType "
         "| sort by EventType asc")
    assert db.rows(q) == [
        {"EventType": "click", "dcount_Payload_price": 2, "dcount_Value": 1, "dcount_City": 2,
         "dcountif_Payload_price": 1, "dcount_Payload": 2},
        {"EventType": "pageview", "dcount_Payload_price": 4, "dcount_Value": 3,
         "dcount_City": 4, "dcountif_Payload_price": 3, "dcount_Payload": 4},
        {"EventType": "purchase", "dcount_Payload_price": 1, "dcount_Value": 2,
         "dcount_City": 2, "dcountif_Payload_price": 1, "dcount_Payload": 1}]
