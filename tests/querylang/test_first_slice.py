"""The first slice: Events | where <comparisons> | take N, including the Profile Store docs query."""
from __future__ import annotations

import re

from querylang import CompiledQuery, OutputColumn, compile
from querylang.schema import EVENTS_SCHEMA

PROFILE_STORE_QUERY = """Events
| where EventTime between (todatetime('2019-01-01') .. endofday(now()))
    and EventType == 'pageview'
    and User.Email != ''
| take 2"""


def test_profile_store_docs_query_runs_verbatim(db):
    rows = db.rows(PROFILE_STORE_QUERY)
    assert sorted(r["TrackId"] for r in rows) == ["t01", "t06"]
    assert [c.name for c in compile(PROFILE_STORE_QUERY).columns] == list(EVENTS_SCHEMA.names)


def test_profile_store_query_on_one_line(db):
    assert sorted(db.ids(" ".join(PROFILE_STORE_QUERY.split()))) == ["t01", "t06"]


def test_compiled_shape_and_parameters():
    q = compile(PROFILE_STORE_QUERY, source_sql="(SELECT 1) AS x_src_fragment_")
    assert isinstance(q, CompiledQuery)
    assert q.sql.lstrip().upper().startswith(("SELECT", "WITH"))
    assert "(SELECT 1) AS x_src_fragment_" in q.sql
    assert "pageview" not in q.sql and "2019" not in q.sql and "Email" not in q.sql
    assert q.params["p0"] is not None
    assert all(re.fullmatch(r"p\d+", k) for k in q.params)
    assert set(re.findall(r"\$(p\d+)", q.sql)) == set(q.params)
    assert q.columns[0] == OutputColumn("TrackId", "string")
    assert q.columns[-1] == OutputColumn("EventTime", "datetime")
    assert dict((c.name, c.type) for c in q.columns)["User"] == "dynamic"


def test_take_limits_rows(db):
    assert len(db.rows("Events | take 3")) == 3
    assert len(db.rows("Events | limit 0")) == 0
    assert len(db.rows("Events | take 100")) == 8  # the other scope's event is not visible


def test_max_rows_caps_the_outermost_result(db):
    assert len(db.rows("Events", max_rows=5)) == 5
    assert len(db.rows("Events | take 2", max_rows=5)) == 2
    assert len(db.rows("Events | take 7", max_rows=5)) == 5
    assert db.ids("Events | sort by EventTime asc", max_rows=3) == ["t04", "t01", "t02"]


def test_now_is_a_parameter_fixed_per_query(db):
    from datetime import datetime
    now = datetime(2024, 1, 1, 12, 0)
    q = compile("Events | where EventTime > ago(1d) and EventTime < now()", now=now)
    [name] = [k for k, v in q.params.items() if v == now]
    assert q.sql.count("$" + name + " ") + q.sql.count("$" + name + ")") == 2  # one bound now
    assert db.ids("Events | where EventTime > ago(1d)") == ["t07", "t08"]


def test_comparisons_and_or(db):
    assert sorted(db.ids("Events | where City == 'Berlin' or City == 'Paris'")) == \
        ["t01", "t05", "t07"]
    assert sorted(db.ids("Events | where EventType == 'pageview' and City != 'Berlin'")) == \
        ["t02", "t04", "t06"]
    assert db.ids("Events | where Payload.price > 200") == ["t07"]
    assert sorted(db.ids("Events | where Payload.price >= 150")) == ["t01", "t03", "t07"]
    assert db.ids("Events | where User.Name == 'Bob'") == ["t04"]
