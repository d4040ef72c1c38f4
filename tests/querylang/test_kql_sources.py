"""Sources and operators beyond the one table: datatable, print, range, union, join, mv-expand,
parse; and the aggregates make_bag, percentiles and arg_max with `*`. Test data: ql_data.EVENTS."""
from __future__ import annotations

import json
import re
from datetime import datetime, timedelta

import pytest
from ql_data import NOW

from querylang import QueryError, compile


def cols(query: str):
    return [(c.name, c.type) for c in compile(query, now=NOW).columns]


# ---------------------------------------------------------------- sources
def test_datatable_rows_and_types(db):
    q = ("datatable(n:long, s:string, t:datetime, d:dynamic, b:bool, r:real, ts:timespan)"
         "[1, 'a', datetime(2020-01-01), dynamic({'k': [1]}), true, 2, 1h,"
         " long(null), '', datetime(null), dynamic(null), bool(null), real(null), time(null),]")
    assert cols(q) == [("n", "long"), ("s", "string"), ("t", "datetime"), ("d", "dynamic"),
                       ("b", "bool"), ("r", "real"), ("ts", "timespan")]
    first, second = db.rows(q)
    assert first == {"n": 1, "s": "a", "t": datetime(2020, 1, 1), "d": '{"k":[1]}', "b": True,
                     "r": 2.0, "ts": timedelta(hours=1)}
    assert second == {"n": None, "s": "", "t": None, "d": None, "b": None, "r": None,
                      "ts": None}


def test_datatable_values_are_parameters_not_sql_text():
    compiled = compile("datatable(s:string)['x\\'; DROP TABLE events; --']")
    assert "DROP" not in compiled.sql
    assert ["x'; DROP TABLE events; --"] in compiled.params.values()


def test_print_and_its_default_names(db):
    assert cols("print 1, x = 'a', strlen('abc')") == [
        ("print_0", "long"), ("x", "string"), ("print_2", "long")]
    assert db.rows("print 1 + 1, now()") == [{"print_0": 2, "print_1": NOW}]


def test_range_of_numbers_datetimes_and_timespans(db):
    assert [r["x"] for r in db.rows("range x from 1 to 8 step 3")] == [1, 4, 7]
    assert [r["x"] for r in db.rows("range x from 5 to 1 step -2")] == [5, 3, 1]
    assert [r["x"] for r in db.rows("range x from 0.5 to 1.5 step 0.5")] == [0.5, 1.0, 1.5]
    days = db.rows("range Day from startofday(ago(2d)) to startofday(now()) step 1d")
    assert [r["Day"] for r in days] == [datetime(2023, 12, 30), datetime(2023, 12, 31),
                                        datetime(2024, 1, 1)]
    assert [r["t"] for r in db.rows("range t from 1h to 3h step 1h")] == \
        [timedelta(hours=h) for h in (1, 2, 3)]


# ---------------------------------------------------------------- union
def test_union_of_events_with_itself_under_two_filters(db):
    q = ("Events | where City == 'Oslo' | project TrackId, City "
         "| union (Events | where EventType == 'purchase' | project TrackId, Type = EventType)")
    assert cols(q) == [("TrackId", "string"), ("City", "string"), ("Type", "string")]
    rows = sorted(db.rows(q), key=lambda r: r["TrackId"])
    assert rows == [{"TrackId": "t02", "City": "Oslo", "Type": ""},
                    {"TrackId": "t05", "City": "", "Type": "purchase"},
                    {"TrackId": "t07", "City": "", "Type": "purchase"},
                    {"TrackId": "t08", "City": "Oslo", "Type": ""}]


def test_union_as_a_source_and_kind_inner(db):
    assert db.rows("union (print a = 1, b = 2), (print a = 3) | sort by a asc") == \
        [{"a": 1, "b": 2}, {"a": 3, "b": None}]
    assert db.rows("union kind=inner (print a = 1, b = 2), (print a = 3) | sort by a asc") == \
        [{"a": 1}, {"a": 3}]
    assert len(db.rows("union Events, (Events | take 2)")) == 10


# ---------------------------------------------------------------- join
JOIN_SIDES = ("Events | where EventType == 'pageview' | project SessionId, Viewed = TrackId "
              "| join kind={} (Events | where EventType == 'purchase' "
              "| project SessionId, Bought = TrackId) on SessionId")


@pytest.mark.parametrize("kind, expected", [
    ("inner", [("s1", "t01", "t07"), ("s1", "t02", "t07"), ("s3", "t06", "t05")]),
    ("leftouter", [("s1", "t01", "t07"), ("s1", "t02", "t07"), ("s2", "t04", ""),
                   ("s3", "t06", "t05")]),
    ("fullouter", [("s1", "t01", "t07"), ("s1", "t02", "t07"), ("s2", "t04", ""),
                   ("s3", "t06", "t05")]),
    ("rightouter", [("s1", "t01", "t07"), ("s1", "t02", "t07"), ("s3", "t06", "t05")]),
])
def test_join_kinds_with_both_sides(db, kind, expected):
    rows = db.rows(JOIN_SIDES.format(kind))
    assert list(rows[0]) == ["SessionId", "Viewed", "SessionId1", "Bought"]
    assert sorted((r["SessionId"] or r["SessionId1"], r["Viewed"], r["Bought"])
                  for r in rows) == expected


def test_join_kinds_with_one_side(db):
    assert sorted(r["Viewed"] for r in db.rows(JOIN_SIDES.format("leftanti"))) == ["t04"]
    assert sorted(r["Viewed"] for r in db.rows(JOIN_SIDES.format("leftsemi"))) == \
        ["t01", "t02", "t06"]
    assert db.rows(JOIN_SIDES.format("rightanti")) == []
    assert sorted(r["Bought"] for r in db.rows(JOIN_SIDES.format("rightsemi"))) == \
        ["t05", "t07"]
    assert db.rows(JOIN_SIDES.format("anti")) == db.rows(JOIN_SIDES.format("leftanti"))


def test_innerunique_is_the_default_and_keeps_one_left_row_a_key(db):
    rows = db.rows(JOIN_SIDES.replace("kind={} ", ""))
    assert sorted(r["SessionId"] for r in rows) == ["s1", "s3"]


def test_join_on_different_names_and_a_missing_string_key(db):
    q = ("Events | project Id = TrackId, C = City | join kind=inner "
         "(Events | project TrackId, City) on $left.C == $right.City, $left.Id == $right.TrackId")
    rows = db.rows(q)
    assert len(rows) == 8  # the events without a City match on '' like the others
    assert {r["C"] for r in rows} >= {""}


def test_funnel_viewed_then_not_purchased_within_a_day(db):
    q = ("Events | where EventType == 'pageview' | project SessionId, ViewedAt = EventTime "
         "| join kind=leftouter (Events | where EventType == 'purchase' "
         "| project SessionId, PurchasedAt = EventTime) on SessionId "
         "| summarize Purchases = countif(PurchasedAt between (ViewedAt .. 1d)) "
         "by SessionId, ViewedAt | where Purchases == 0 | distinct SessionId")
    # s1 bought years after its views, s2 never, s3 bought before its view
    assert sorted(r["SessionId"] for r in db.rows(q)) == ["s1", "s2", "s3"]


# ---------------------------------------------------------------- every table is the source
@pytest.mark.parametrize("query", [
    "Events | join kind=leftanti (Events | where City == 'x') on DeviceId",
    "Events | union (Events | take 1), (Events | where City == 'x')",
    "union Events, (Events | join (Events) on TrackId)",
])
def test_every_table_a_query_reads_is_the_given_source(query):
    source = '(SELECT * FROM lake.events WHERE "Scope" = $srv_scope)'
    compiled = compile(query, source_sql=source)
    reads = re.findall(r"FROM\s+([^\s(]+)", compiled.sql.replace(source, "SOURCE"))
    assert reads and set(reads) == {"SOURCE"}, compiled.sql
    assert compiled.sql.count(source) == query.count("Events")


# ---------------------------------------------------------------- mv-expand
def test_mv_expand_arrays_bags_and_types(db):
    rows = db.rows("Events | where TrackId in ('t01', 't06', 't02') "
                   "| mv-expand with_itemindex=i Tag = Payload.tags to typeof(string) "
                   "| project TrackId, Tag, i | sort by TrackId asc, i asc")
    # an empty array makes no row, a missing one (null) one row
    assert [(r["TrackId"], r["Tag"], r["i"]) for r in rows] == \
        [("t01", "a", 0), ("t01", "b", 1), ("t02", "", 0), ("t06", "b", 0)]
    assert cols("Events | mv-expand Payload.tags")[-1] == ("Payload_tags", "dynamic")
    bags = db.rows("Events | where TrackId == 't02' | mv-expand kind=array p = Payload "
                   "| project p")
    assert sorted(json.loads(r["p"])[0] for r in bags) == ["name", "price"]


# ---------------------------------------------------------------- parse
def test_parse_simple_and_regex(db):
    rows = db.rows("Events | parse PageUri with * 'id=' Id:long | where isnotnull(Id) "
                   "| project TrackId, Id")
    assert rows == [{"TrackId": "t01", "Id": 42}]
    rows = db.rows("Events | where TrackId == 't08' | parse kind=regex PageUri with "
                   "@'https?://' Host @'/' Path @'\\?(\\w+)=' Value | project Host, Path, Value")
    assert rows == [{"Host": "shop.example.com", "Path": "hats", "Value": "price"}]


def test_parse_of_a_text_that_does_not_match_gives_empty_and_null(db):
    rows = db.rows("Events | where TrackId == 't03' | parse Value with 'n=' N:long ',' Rest "
                   "| project N, Rest")
    assert rows == [{"N": None, "Rest": ""}]


def test_a_datetime_that_does_not_convert_fails_a_strict_parse_but_not_a_relaxed_one(db):
    # simple and regex parses need every typed column to convert: t05's page ends in
    # 'checkout', not a datetime; a relaxed parse nulls that column alone
    query = ("Events | where TrackId == 't05' | parse {kind} PageUri with * '://' Host '/' "
             "When:datetime | project Host, When")
    assert db.rows(query.format(kind="")) == [{"Host": "", "When": None}]
    assert db.rows(query.format(kind="kind=regex")) == [{"Host": "", "When": None}]
    assert db.rows(query.format(kind="kind=relaxed")) == [{"Host": "shop.example.com",
                                                           "When": None}]


# ---------------------------------------------------------------- aggregates
def test_make_bag_bag_keys_and_bag_pack(db):
    [row] = db.rows("Events | where SessionId == 's1' | summarize make_bag(Payload)")
    bag = json.loads(row["bag_Payload"])
    assert set(bag) == {"price", "name", "content-id", "tags", "a", "when"}
    rows = db.rows("Events | where TrackId == 't02' | project k = bag_keys(Payload), "
                   "b = bag_pack('city', City, 'n', 1)")
    assert json.loads(rows[0]["k"]) == ["price", "name"]
    assert json.loads(rows[0]["b"]) == {"city": "Oslo", "n": 1}


@pytest.mark.parametrize("order", [("1", "2", "3"), ("3", "1", "2"), ("2", "3", "1")])
def test_make_bag_picks_a_repeated_key_whatever_the_row_order(db, order):
    bags = ", ".join(f"dynamic({{\"k\": {v}, \"v{v}\": true}})" for v in order)
    [row] = db.rows(f"datatable(b: dynamic) [{bags}] | summarize make_bag(b)")
    assert json.loads(row["bag_b"]) == {"k": 3, "v1": True, "v2": True, "v3": True}


def test_percentiles_one_column_each(db):
    q = "Events | summarize percentiles(Payload.price, 5, 50, 99.9)"
    assert cols(q) == [("percentile_Payload_price_5", "real"),
                       ("percentile_Payload_price_50", "real"),
                       ("percentile_Payload_price_99_9", "real")]
    assert db.rows(q) == [{"percentile_Payload_price_5": 5.0,
                           "percentile_Payload_price_50": 100.0,
                           "percentile_Payload_price_99_9": 250.25}]


def test_arg_max_star_with_a_null_at_the_row(db):
    # t03 is the newest event of s2 and has no City: the answer is its '' (not another's)
    rows = db.rows("Events | where SessionId == 's2' | summarize arg_max(EventTime, *) "
                   "by SessionId")
    assert rows[0]["TrackId"] == "t03" and rows[0]["City"] == ""


# ---------------------------------------------------------------- Kusto's names
@pytest.mark.parametrize("query, names", [
    ("Events | project tostring(Payload.currency), strlen(Value), toint(Value) * 2",
     ["Payload_currency", "strlen_Value", "Column1"]),
    ("Events | summarize count(), make_set(City), make_list(City), take_any(City), "
     "max(strlen(Value)), countif(City == ''), dcount(tostring(User.Email))",
     ["count_", "set_City", "list_City", "City", "max_strlen_Value", "countif_",
      "dcount_User_Email"]),
    ("Events | summarize count(), count() by bin(EventTime, 1d)",
     ["EventTime", "count_", "count_1"]),
    ("Events | extend substring(City, 1), tolower(City)", None),
])
def test_default_names(query, names):
    got = [c for c, _ in cols(query)]
    if names is None:
        assert got[-2:] == ["Column1", "tolower_City"]
    else:
        assert got == names


def test_errors_name_what_is_refused():
    for query, message in [
        ("Events | join (Events) on Payload", "cannot join on Payload, a dynamic value"),
        ("Events | union (Events | project City = 1)", "a union of different types is not "
                                                      "supported"),
        ("datatable(a:long)[1, 'x']", "column 'a' holds long values, but this is a string"),
    ]:
        with pytest.raises(QueryError, match=re.escape(message)):
            compile(query)
