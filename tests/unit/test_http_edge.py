"""The HTTP edge's own pieces: the error shape and its statuses from the one table, the event
JSON it reads, and a read cancelled when its client disconnects."""
from __future__ import annotations

import asyncio
import datetime as dt
import threading

import pytest
from starlette.requests import Request

import querylang
from trackstore_server import errors
from trackstore_server.api.http.calls import Call
from trackstore_server.api.http.error_body import error_document, error_response
from trackstore_server.api.http.events import parse_time, track_request
from trackstore_server.rows import format_datetime_ticks


@pytest.mark.parametrize("error, status, code", [
    (errors.BadRequest("top must not be negative"), 400, "INVALID_ARGUMENT"),
    (errors.NotFound("no event"), 404, "NOT_FOUND"),
    (errors.NotAuthenticated("no key"), 401, "UNAUTHENTICATED"),
    (errors.NotAllowed("not this scope"), 403, "PERMISSION_DENIED"),
    (errors.DeleteBacklog("wait", retry_after_seconds=30), 429, "RESOURCE_EXHAUSTED"),
    (errors.QueryTimeout(0.3), 504, "DEADLINE_EXCEEDED"),
    (errors.QueryCancelled(), 499, "CANCELLED"),
    (errors.StorageFailed(), 503, "UNAVAILABLE"),
    (RuntimeError("a bug with a secret inside"), 500, "INTERNAL"),
])
def test_each_error_takes_the_status_of_its_code_in_one_shape(error, status, code):
    answer_status, document = error_document(error)
    assert answer_status == status
    assert set(document) == {"error"}
    assert document["error"]["code"] == code
    assert "secret" not in document["error"]["message"]
    reason = getattr(error, "reason", errors.TrackstoreError.reason)
    assert document["error"]["innererror"]["code"] == reason


def test_a_refusal_for_now_says_when_to_retry_in_whole_seconds():
    response = error_response(errors.QueryQueueFull("busy", retry_after_seconds=0.2))
    assert response.status_code == 429 and response.headers["retry-after"] == "1"


def test_a_query_error_names_the_route_s_parameter_and_the_position():
    error = querylang.QueryError("unknown column", line=2, column=7, input="filter")
    status, document = error_document(error, {"filter": "$filter"})
    assert status == 400
    body = document["error"]
    assert body["target"] == "$filter" and body["message"] == "line 2, column 7: unknown column"
    assert body["innererror"] == {"code": "QUERY_INVALID", "line": 2, "column": 7}


def test_event_fields_match_without_regard_to_case_and_times_read_as_utc():
    scope, events, single = track_request(
        {"eventType": "home", "USER": {"Email": "a@example.com"}, "scope": "shop",
         "EventTime": "2017-09-15T09:16:34.7957819+02:00"})
    assert (scope, single) == ("shop", True)
    assert events[0].event_type == "home" and events[0].user_json == '{"Email":"a@example.com"}'
    assert events[0].event_time.ToDatetime() == dt.datetime(2017, 9, 15, 7, 16, 34, 795781)
    assert parse_time("2020-01-23T21:27:49") == dt.datetime(2020, 1, 23, 21, 27, 49)


def test_null_fields_are_absent_and_an_empty_array_stores_nothing():
    _, events, _ = track_request([{"EventType": "x", "Payload": None, "Scope": None}])
    assert not events[0].HasField("payload_json")
    assert track_request([]) == ("default", [], False)


def test_times_are_written_with_seven_fractional_digits():
    assert format_datetime_ticks(dt.datetime(2020, 1, 23, 21, 27, 49, 336100)) == \
        "2020-01-23T21:27:49.3361000Z"


class _Disconnecting:
    """An ASGI receive whose client goes away after `seconds`."""

    def __init__(self, seconds: float):
        self.seconds = seconds

    async def __call__(self):
        await asyncio.sleep(self.seconds)
        return {"type": "http.disconnect"}


def test_a_read_is_cancelled_when_its_client_disconnects():
    cancelled = threading.Event()

    def read(cancellation):
        assert cancellation.register(cancelled.set)
        if not cancelled.wait(10):
            return "ran to the end"
        raise errors.QueryCancelled()

    request = Request({"type": "http", "method": "POST", "path": "/", "headers": []},
                      _Disconnecting(0.05))
    with pytest.raises(errors.QueryCancelled):
        asyncio.run(Call(request, None, {}).run(read))


def test_a_read_that_finishes_first_is_not_cancelled():
    request = Request({"type": "http", "method": "GET", "path": "/", "headers": []},
                      _Disconnecting(5))
    answer = asyncio.run(Call(request, None, {}).run(lambda cancellation: "done"))
    assert answer == "done"
