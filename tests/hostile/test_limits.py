"""Limits through the real server (issue 20): oversized messages, huge and deeply nested
queries, absurd row counts. Each is refused cleanly (INVALID_ARGUMENT with what the rule is,
or RESOURCE_EXHAUSTED for a message gRPC will not read) or answered within the limits; the
server keeps serving; and heavy queries do not hold back Track acknowledgements.
Deeply nested JSON (1000 and 100,000 levels) is test_deep_json.py's."""
from __future__ import annotations

import time

import grpc
import pytest

from trackstore.v1 import trackevents_pb2 as pb
from trackstore_server.limits import (MAX_AGGREGATIONS, MAX_EVENT_BYTES, MAX_MESSAGE_BYTES,
                                      MAX_OPERATORS, MAX_STREAM_ACK_BYTES, MAX_TRACK_ID_LENGTH,
                                      PREVIEW_MAX_ROWS)
from trackstore_server.api.status import MAX_MESSAGE_BYTES as MAX_STATUS_MESSAGE_BYTES

from grpc_calls import METHOD, call, method_path, outcome_of

SCOPE = "limits"
MEGABYTE = 1 << 20
TEN_THOUSAND_ORS = " or ".join(f"EventType == 'e{i}'" for i in range(10_000))
# (query, what it answers: a count, or the start of the refusal's message)
QUERIES = {
    "1 MB string literal": ("Events | where Value == '" + "v" * MEGABYTE + "' | count", 0),
    "1 MB column name": ("Events | where " + "c" * MEGABYTE + " == 1", "unknown column"),
    "10,000 or terms": ("Events | where " + TEN_THOUSAND_ORS, "the query is nested too deeply"),
    "take 10^12": ("Events | take 1000000000000 | count", 2),
    "10,000-deep parentheses": ("Events | where " + "(" * 10_000 + "EventType == 'a'" +
                                ")" * 10_000 + " | count", 1),
    "10,000-deep not": ("Events | where " + "not(" * 10_000 + "EventType == 'a'" +
                        ")" * 10_000, "the query is nested too deeply"),
    "10,000 operators": ("Events" + " | take 5" * 10_000,
                         f"the query has more than {MAX_OPERATORS} operators"),
    "nested aggregations": ("Events" + " | summarize count() by EventType" * (MAX_AGGREGATIONS + 1),
                            f"the query has more than {MAX_AGGREGATIONS} summarize or count"),
}
ODATA_FILTERS = {
    "1 MB string literal": ("Value eq '" + "v" * MEGABYTE + "'", 0),
    "10,000 or terms": (" or ".join(f"EventType eq 'e{i}'" for i in range(10_000)),
                        "the query is nested too deeply"),
    "10,000-deep parentheses": ("(" * 10_000 + "EventType eq 'a'" + ")" * 10_000, 1),
}
# What a query may run for here: long enough to outlast the Track calls beside it, however busy
# the machine; the test cancels it once they are done.
ENDLESS = "range x from 1 to 1000000000000 step 1 | where x % 7 == 3 | count"


@pytest.fixture(scope="module")
def channel(served):
    with served.server.channel() as opened:
        events = [pb.TrackEvent(event_type="a"), pb.TrackEvent(event_type="b")]
        assert call(opened, METHOD["Track"], pb.TrackRequest(scope=SCOPE, events=events)).ok
        yield opened


def assert_serving(served, channel):
    assert served.server.process.poll() is None, "the server exited"
    tracked = call(channel, METHOD["Track"],
                   pb.TrackRequest(scope=SCOPE + "-after", events=[pb.TrackEvent(event_type="x")]))
    assert tracked.ok, tracked


def assert_answer(answer, expected, field: str):
    if isinstance(expected, int):  # a count
        assert answer.ok, answer
        assert [row["Count"] for row in answer.response.items] == [expected]
        return
    assert answer.code == grpc.StatusCode.INVALID_ARGUMENT, answer
    assert expected in answer.message
    assert answer.fields == [field]
    # it quotes what it must of the input, and still fits gRPC's trailers
    assert len(answer.message.encode()) < MAX_STATUS_MESSAGE_BYTES + 100


@pytest.mark.parametrize("name", QUERIES)
def test_a_hostile_preview_is_refused_or_answered_within_the_limits(served, channel, name):
    query, expected = QUERIES[name]
    answer = call(channel, METHOD["Preview"], pb.PreviewRequest(scope=SCOPE, query=query))
    assert_answer(answer, expected, "query")
    assert_serving(served, channel)


@pytest.mark.parametrize("name", ODATA_FILTERS)
def test_a_hostile_list_filter_is_refused_or_answered_within_the_limits(served, channel, name):
    text, expected = ODATA_FILTERS[name]
    answer = call(channel, METHOD["List"], pb.ListRequest(scope=SCOPE, filter=text))
    if isinstance(expected, int):
        assert answer.ok, answer
        assert len(answer.response.items) == expected
    else:
        assert_answer(answer, expected, "filter")
    assert_serving(served, channel)


def test_take_beyond_the_row_limit_answers_the_limit_and_says_so(served, channel):
    events = [pb.TrackEvent(event_type="many") for _ in range(PREVIEW_MAX_ROWS + 5)]
    assert call(channel, METHOD["Track"], pb.TrackRequest(scope=SCOPE + "-many", events=events)).ok
    answer = call(channel, METHOD["Preview"], pb.PreviewRequest(
        scope=SCOPE + "-many", query="Events | take 1000000000000"))
    assert answer.ok, answer
    assert len(answer.response.items) == PREVIEW_MAX_ROWS
    assert answer.response.truncated


def test_a_list_page_beyond_the_window_is_refused_naming_top(channel):
    answer = call(channel, METHOD["List"], pb.ListRequest(scope=SCOPE, top=2**31 - 1))
    assert answer.code == grpc.StatusCode.INVALID_ARGUMENT
    assert answer.fields == ["top"]


def test_an_event_over_its_limit_is_refused_naming_it(served, channel):
    event = pb.TrackEvent(event_type="big", value="v" * MAX_EVENT_BYTES)
    answer = call(channel, METHOD["Track"], pb.TrackRequest(scope=SCOPE, events=[event]))
    assert answer.code == grpc.StatusCode.INVALID_ARGUMENT
    assert answer.fields == ["events[0]"]
    assert_serving(served, channel)


def test_a_message_over_the_limit_is_refused_unread(served, channel):
    """gRPC refuses it before any of our code runs: RESOURCE_EXHAUSTED, naming both sizes."""
    value = "v" * (MAX_EVENT_BYTES - 100)
    events = [pb.TrackEvent(event_type="big", value=value)
              for _ in range(MAX_MESSAGE_BYTES // len(value) + 1)]
    answer = call(channel, METHOD["Track"], pb.TrackRequest(scope=SCOPE + "-huge", events=events))
    assert answer.code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert f"vs. {MAX_MESSAGE_BYTES}" in answer.message
    assert_serving(served, channel)
    count = call(channel, METHOD["Preview"], pb.PreviewRequest(scope=SCOPE + "-huge",
                                                                query="Events | count"))
    assert [row["Count"] for row in count.response.items] == [0]


def long_id_batches(scope: str, batches: int, size: int = 1000):
    """TrackStream messages of events with TrackIds of the longest length allowed."""
    for batch in range(batches):
        yield pb.TrackStreamRequest(scope=scope, events=[
            pb.TrackEvent(track_id=f"{batch}-{i}-".ljust(MAX_TRACK_ID_LENGTH, "x"),
                          event_type="long-id") for i in range(size)])


def test_a_stream_whose_answer_would_not_fit_a_message_is_refused_before_storing(served,
                                                                               channel):
    """An answer over the message limit would fail after every event was durable; the stream
    is refused at the batch that would pass it, saying how many before it are stored."""
    per_event = MAX_TRACK_ID_LENGTH + 3  # the id and its framing in the answer
    fitting = MAX_STREAM_ACK_BYTES // (1000 * per_event)  # whole batches of 1000
    stream = channel.stream_unary(method_path(METHOD["TrackStream"]),
                                  request_serializer=pb.TrackStreamRequest.SerializeToString,
                                  response_deserializer=pb.TrackStreamResponse.FromString)
    with pytest.raises(grpc.RpcError) as refused:
        stream(long_id_batches(SCOPE + "-long", fitting + 5), timeout=300)
    answer = outcome_of(refused.value)
    assert answer.code == grpc.StatusCode.INVALID_ARGUMENT, answer
    assert answer.reason == "STREAM_TOO_LONG"
    assert answer.fields == [f"batch[{fitting}].events"]
    assert answer.message.startswith(f"batch {fitting}: the stream's answer would list more "
                                     f"than {MAX_STREAM_ACK_BYTES:,} bytes of TrackIds")
    assert answer.message.endswith(f"the {fitting} batches before it are stored")
    count = call(channel, METHOD["Preview"], pb.PreviewRequest(scope=SCOPE + "-long",
                                                                query="Events | count"))
    assert [row["Count"] for row in count.response.items] == [fitting * 1000]
    assert_serving(served, channel)


def test_an_http_body_over_the_message_limit_is_refused_naming_the_body(served, channel):
    body = b'{"EventType": "big", "Value": "' + b"v" * MAX_MESSAGE_BYTES + b'"}'
    answer = served.api.call("POST", "/api/v2.0/TrackEvents/track", raw=body,
                             headers={"Content-Type": "application/json"})
    assert answer.status == 400, answer.body[:300]
    assert f"larger than {MAX_MESSAGE_BYTES} bytes" in answer.error["message"]
    assert_serving(served, channel)


def test_http_refuses_hostile_queries_with_400(served, channel):
    for name in ("10,000 operators", "nested aggregations", "10,000 or terms"):
        answer = served.api.preview(QUERIES[name][0], scope=SCOPE)
        assert answer.status == 400, (name, answer.status, answer.body[:300])
        assert QUERIES[name][1] in answer.error["message"]
    assert served.api.list(scope=SCOPE, top="1000000000000").status == 400
    assert_serving(served, channel)


def test_heavy_queries_do_not_hold_back_track_acknowledgements(served, channel):
    """Two queries that would run for hours take every query slot and both cores DuckDB is
    given; twenty Track calls, one after another, are all acknowledged while both still run.
    Then the queries are cancelled, and their slots come back."""
    preview = channel.unary_unary(method_path(METHOD["Preview"]),
                                  request_serializer=pb.PreviewRequest.SerializeToString,
                                  response_deserializer=pb.PreviewResponse.FromString)
    heavy = [preview.future(pb.PreviewRequest(scope=SCOPE, query=ENDLESS), timeout=300)
             for _ in range(2)]
    time.sleep(1.0)  # the queries start
    acknowledged = 0
    for i in range(20):
        event = pb.TrackEvent(event_type="during", value=str(i))
        answer = call(channel, METHOD["Track"], pb.TrackRequest(scope=SCOPE + "-during",
                                                                events=[event]))
        assert answer.ok, answer
        acknowledged += 1
    still_running = [not future.done() for future in heavy]
    for future in heavy:
        future.cancel()
    assert acknowledged == 20 and still_running == [True, True]
    quick = call(channel, METHOD["Preview"], pb.PreviewRequest(scope=SCOPE + "-during",
                                                                query="Events | count"))
    assert [row["Count"] for row in quick.response.items] == [20]
