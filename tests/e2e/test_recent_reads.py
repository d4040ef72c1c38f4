"""Every query shape answers the same over events in the lake and over the same events not
yet flushed (in memory, server/recent.py), through a real server.

The queries come from the compiler's own corpora (tests/querylang: the case files, the seed
queries, the OData filters, and hypothesis' random pipelines and filters built from their
tokens); each runs on a scope whose events were flushed and compacted (promoted keys included)
and on a scope holding the same events unflushed (`--flush-seconds 600`).
"""
from __future__ import annotations

import json
import math
import pathlib
import re
import sys

import grpc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trackstore_client import TrackstoreError

QUERYLANG_TESTS = pathlib.Path(__file__).parents[1] / "querylang"
sys.path.insert(0, str(QUERYLANG_TESTS))
import ql_data  # noqa: E402
import test_odata  # noqa: E402
import test_properties  # noqa: E402

LAKE, RECENT = "lake", "recent"
# Answers that may pick any of several rows: only their shape is compared.
ARBITRARY = re.compile(r"\b(take|limit|top|top-nested|arg_max|arg_min|any|sample|take_any)\b")
NOW = "datetime(2024-01-01T12:00:00Z)"


def _events() -> list[dict]:
    events = []
    for (tid, etype, city, cc, user, payload, when, session, uri, title, value) in ql_data.EVENTS:
        event = {"TrackId": tid, "DeviceId": "d-" + tid, "EventType": etype, "Value": value,
                 "PageUri": uri, "PageTitle": title, "SessionId": session, "User": user,
                 "Payload": payload, "CountryCode": cc, "City": city,
                 "EventTime": when.isoformat() + "Z"}
        events.append({k: v for k, v in event.items() if v is not None})
    return events


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from trackstore_client.local import LocalServer

    started = LocalServer(tmp_path_factory.mktemp("recent") / "data", "--flush-seconds", "600",
                          "--promote-min-share", "0.1").start()
    with started.client() as client:
        client.track(LAKE, _events())
        client.compact()  # flushes them, and promotes Payload/User keys
        client.track(RECENT, _events())
        stats = client.stats()
        assert stats["events"] == 2 * len(ql_data.EVENTS) and stats["promoted_keys"]
    yield started
    started.stop()


def _normal(value):
    if isinstance(value, float):
        return None if math.isnan(value) else float(f"{value:.9g}")
    if isinstance(value, dict):
        return {k: _normal(v) for k, v in value.items() if k != "Scope"}
    if isinstance(value, list):
        return [_normal(v) for v in value]
    return value


def _answer(call):
    try:
        rows = call()["items"]
    except TrackstoreError as error:
        assert error.code == grpc.StatusCode.INVALID_ARGUMENT, error.message
        return ("refused", error.message)
    return ("rows", sorted(json.dumps(_normal(row), sort_keys=True) for row in rows))


def _fixed_time(query: str) -> str:
    """The query with a fixed `now`, so both answers see the same one."""
    return query.replace("now()", NOW).replace("ago(", f"{NOW} - (")


def _check_preview(client, query: str) -> None:
    query = _fixed_time(query)
    lake = _answer(lambda: client.preview(LAKE, query))
    recent = _answer(lambda: client.preview(RECENT, query))
    if ARBITRARY.search(query) and lake[0] == recent[0] == "rows":
        lake, recent = (lake[0], len(lake[1])), (recent[0], len(recent[1]))
    assert lake == recent, query


def _check_list(client, filter: str, orderby: str = "") -> None:
    lake = _answer(lambda: client.list(LAKE, filter=filter, orderby=orderby, top=100))
    recent = _answer(lambda: client.list(RECENT, filter=filter, orderby=orderby, top=100))
    assert lake == recent, (filter, orderby)


CASES = sorted((QUERYLANG_TESTS / "cases").glob("*.kql"))
ODATA_FILTERS = [args[0] for args in test_odata.test_filter_rows.pytestmark[0].args[1]]


@pytest.mark.parametrize("case", CASES, ids=lambda path: path.stem)
def test_case_files_answer_alike(server, case):
    with server.client() as client:
        _check_preview(client, case.read_text())


def test_seed_queries_answer_alike(server):
    with server.client() as client:
        for query in test_properties.SEEDS:
            _check_preview(client, query)


def test_odata_corpus_answers_alike(server):
    with server.client() as client:
        for filter in ODATA_FILTERS:
            _check_list(client, filter)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(test_properties.pipelines())
def test_random_pipelines_answer_alike(server, query):
    with server.client() as client:
        _check_preview(client, query)


# OData filters built from the corpus's own comparisons: ors and ands of them, negated or not.
_comparisons = st.sampled_from([f for f in ODATA_FILTERS if f and " and " not in f.lower()
                                and " or " not in f.lower()])
_filters = st.recursive(
    _comparisons,
    lambda inner: st.one_of(
        st.builds(lambda a, b: f"({a}) or ({b})", inner, inner),
        st.builds(lambda a, b: f"({a}) and ({b})", inner, inner),
        inner.map(lambda a: f"not ({a})")),
    max_leaves=4)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(_filters, st.sampled_from(["", "City desc", "Payload/price asc", "EventTime desc"]))
def test_random_odata_filters_answer_alike(server, filter, orderby):
    with server.client() as client:
        _check_list(client, filter, orderby)


def test_or_of_equalities_on_one_field_reads_unflushed_events(server):
    # The case: DuckDB refused to push this filter into the scan of recent events.
    with server.client() as client:
        rows = client.list(RECENT, filter="City eq 'Oslo' or City eq 'Paris'")["items"]
    assert sorted(row["TrackId"] for row in rows) == ["t02", "t05", "t08"]


def test_an_or_with_not_equal_keeps_the_events_without_the_field(server):
    # DuckDB 1.4 skipped the Parquet files whose City is all null for `IS DISTINCT FROM` inside
    # an OR (hypothesis found it: the lake lost t03, the unflushed events kept it).
    with server.client() as client:
        for scope in (LAKE, RECENT):
            rows = client.list(scope, filter="(City eq 'Oslo') or (City ne 'Berlin')")["items"]
            assert "t03" in {row["TrackId"] for row in rows}, scope
        _check_list(client, "(City eq 'Berlin') or (City ne 'Berlin')")
        _check_preview(client, "Events | where City == 'Oslo' or City != 'Berlin' | count")
