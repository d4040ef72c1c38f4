"""Preview (KQL) and List (OData) through the real server."""
from __future__ import annotations

import time

import grpc
import pytest
from google.rpc import error_details_pb2

from trackstore_client import TrackstoreError
from helpers import detail, error_reason, event

PROFILE_STORE_QUERY = """Events
    | where EventTime between (todatetime('2019-01-01') .. endofday(now()))
        and EventType == 'pageview'
        and User.Email != ''
    | take 2"""


@pytest.fixture(scope="module")
def loaded(shared_server):
    """The shared server with 120 events in scope 'q' and 3 in scope 'other'."""
    with shared_server.client() as client:
        ids = client.track("q", [event(i, TrackId=f"q-{i:03d}") for i in range(120)])
        client.track("other", [event(i, EventType="pageview", TrackId=f"o-{i}") for i in range(3)])
    return shared_server, ids


def test_profile_store_query_runs_verbatim(loaded):
    server, _ = loaded
    with server.client() as client:
        result = client.preview("q", PROFILE_STORE_QUERY)
    assert result["count"] == 2 and not result["truncated"]
    names = [c["name"] for c in result["columns"]]
    assert names[:3] == ["TrackId", "DeviceId", "EventType"] and "EventTime" in names
    for item in result["items"]:
        assert item["EventType"] == "pageview"
        assert item["User"]["Email"].endswith("@example.com")
        assert item["EventTime"].endswith("Z") and item["EventTime"].startswith("2020-01-")
        assert item["Scope"] == "q"


def test_preview_sees_only_its_scope(loaded):
    server, _ = loaded
    with server.client() as client:
        mine = client.preview("q", "Events | where EventType == 'pageview' | count")
        theirs = client.preview("other", "Events | count")
    assert mine["items"] == [{"Count": 60}]
    assert theirs["items"] == [{"Count": 3}]


def test_preview_caps_at_1000_rows_and_says_truncated(start_server):
    server = start_server()
    with server.client() as client:
        client.track_stream("big", ([event(b * 1000 + i) for i in range(1000)] for b in range(2)))
        capped = client.preview("big", "Events")
        assert capped["count"] == 1000 and capped["truncated"] is True
        assert len(capped["items"]) == 1000
        larger_take = client.preview("big", "Events | take 5000")
        assert larger_take["count"] == 1000 and larger_take["truncated"] is True
        exact = client.preview("big", "Events | take 1000")
        assert exact["count"] == 1000 and exact["truncated"] is False


def test_syntax_error_is_invalid_argument_with_position(loaded):
    server, _ = loaded
    with server.client() as client:
        with pytest.raises(TrackstoreError) as error:
            client.preview("q", "Events\n| where ")
    assert error.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert error.value.message.startswith("line 2, column")
    violation = detail(error.value, error_details_pb2.BadRequest).field_violations[0]
    assert violation.field == "query"
    assert error_reason(error.value) == "QUERY_INVALID"


@pytest.mark.parametrize(("query", "message"), [
    # a pattern no engine reads: refused by the compiler, where it stands
    ("Events | extend x = trim('?', TrackId)", "line 1, column 26: the regular expression"),
    ("Events | parse kind=regex TrackId with '(' x:string", "line 1, column 10: the regular"),
    # a back-reference Python reads and RE2 does not: refused as DuckDB runs it, not INTERNAL
    (r"Events | where TrackId matches regex @'(a)\1'", "the query cannot run: invalid escape"),
])
def test_a_regular_expression_re2_refuses_is_invalid_argument(loaded, query, message):
    server, _ = loaded
    with server.client() as client:
        with pytest.raises(TrackstoreError) as error:
            client.preview("q", query)
    assert error.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert error.value.message.startswith(message), error.value.message
    assert error_reason(error.value) == "QUERY_INVALID"


def test_unknown_column_suggests_the_right_one(loaded):
    server, _ = loaded
    with server.client() as client:
        with pytest.raises(TrackstoreError) as error:
            client.preview("q", "Events | where EventTyp == 'x'")
    assert error.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "EventType" in error.value.message


def test_list_defaults_and_paging_is_stable(loaded):
    server, ids = loaded
    with server.client() as client:
        first = client.list("q")
        assert first["count"] == 100
        pages = [client.list("q", orderby="EventType", skip=s, top=25)["items"] for s in range(0, 120, 25)]
    seen = [item["TrackId"] for page in pages for item in page]
    assert len(seen) == 120 and set(seen) == set(ids)
    # Equal EventTypes are ordered by TrackId, so pages never overlap or skip.
    assert seen == sorted(seen, key=lambda t: (0 if int(t[2:]) % 2 == 0 else 1, t))


def test_list_filter_and_orderby(loaded):
    server, _ = loaded
    with server.client() as client:
        result = client.list("q", filter="EventType eq 'purchase' and Payload/price gt 100",
                             orderby="Payload/price desc", top=5)
    prices = [item["Payload"]["price"] for item in result["items"]]
    assert prices == sorted(prices, reverse=True) and len(prices) == 5
    assert all(p > 100 for p in prices)
    assert all(item["EventType"] == "purchase" for item in result["items"])


def test_list_ne_includes_missing_values(loaded):
    server, _ = loaded
    with server.client() as client:
        no_email = client.list("q", filter="User/Email eq null", top=200)["items"]
        not_this = client.list("q", filter="User/Email ne 'user0@example.com'", top=200)["items"]
    assert len(no_email) == 80
    assert len(not_this) == 119


@pytest.mark.parametrize(
    ("skip", "top", "field"),
    [(-1, 10, "skip"), (0, -5, "top"), (9000, 1000, "top"), (9999, 1, "top")],
)
def test_list_window_is_validated(loaded, skip, top, field):
    server, _ = loaded
    with server.client() as client:
        with pytest.raises(TrackstoreError) as error:
            client.list("q", skip=skip, top=top)
    assert error.value.code == grpc.StatusCode.INVALID_ARGUMENT
    violations = detail(error.value, error_details_pb2.BadRequest).field_violations
    assert violations[0].field == field


def test_list_window_just_under_the_limit_is_allowed(loaded):
    server, _ = loaded
    with server.client() as client:
        assert client.list("q", skip=9899, top=100)["count"] == 0


def test_list_filter_error_names_the_filter_field(loaded):
    server, _ = loaded
    with server.client() as client:
        with pytest.raises(TrackstoreError) as error:
            client.list("q", filter="EventType eq")
    assert error.value.code == grpc.StatusCode.INVALID_ARGUMENT
    violation = detail(error.value, error_details_pb2.BadRequest).field_violations[0]
    assert violation.field == "filter"


def test_list_orderby_error_names_the_orderby_field(loaded):
    server, _ = loaded
    with server.client() as client:
        with pytest.raises(TrackstoreError) as error:
            client.list("q", filter="EventType eq 'a'", orderby="NoSuchColumn desc")
    assert error.value.code == grpc.StatusCode.INVALID_ARGUMENT
    violation = detail(error.value, error_details_pb2.BadRequest).field_violations[0]
    assert violation.field == "orderby"
    assert "NoSuchColumn" in error.value.message


def test_deleted_event_disappears_from_preview_and_list_at_once(loaded):
    server, _ = loaded
    with server.client() as client:
        [track_id] = client.track("del", [event(1, TrackId="to-delete")])
        client.track("del", [event(2, TrackId="to-keep")])
        query = "Events | project TrackId"
        assert {i["TrackId"] for i in client.preview("del", query)["items"]} == {"to-delete", "to-keep"}
        assert client.delete("del", track_id) == "to-delete"
        assert [i["TrackId"] for i in client.preview("del", query)["items"]] == ["to-keep"]
        assert [i["TrackId"] for i in client.list("del")["items"]] == ["to-keep"]


def test_read_your_writes(loaded):
    server, _ = loaded
    with server.client() as client:
        for n in range(1, 6):
            client.track("ryw", [event(n)])
            assert client.preview("ryw", "Events | count")["items"] == [{"Count": n}]


def test_small_flushes_are_all_found_by_filters(start_server):
    # DuckLake 1.4.4 loses rows from filtered reads of more than 2048 inlined rows; the server
    # keeps inlining off, so each of these small flushes lands in a Parquet file.
    server = start_server("--flush-seconds", "0.01")
    with server.client() as client:
        for batch in range(3):
            client.track("ingest", [event(batch * 1000 + i) for i in range(1000)])
            time.sleep(0.05)
        ids = client.track("bench", [event(i, TrackId=f"b{i}") for i in range(1000)])
        time.sleep(0.05)
        assert client.preview("bench", "Events | count")["items"] == [{"Count": 1000}]
        assert client.preview("bench", "Events | where TrackId == 'b5' | count")["items"] == [
            {"Count": 1}]
        assert client.delete("bench", ids[5]) == "b5"
