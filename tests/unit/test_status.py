"""One table maps what happened to a status (server/api/status.py): gRPC sends its google.rpc
code, an HTTP front end the HTTP status google.rpc gives that code."""
from __future__ import annotations

import pytest
from google.rpc import code_pb2, error_details_pb2

import querylang
from trackstore_server import errors
from trackstore_server.api import status

HTTP = {  # google/rpc/code.proto, "HTTP Mapping"
    "OK": 200, "CANCELLED": 499, "UNKNOWN": 500, "INVALID_ARGUMENT": 400,
    "DEADLINE_EXCEEDED": 504, "NOT_FOUND": 404, "ALREADY_EXISTS": 409, "PERMISSION_DENIED": 403,
    "UNAUTHENTICATED": 401, "RESOURCE_EXHAUSTED": 429, "FAILED_PRECONDITION": 400,
    "ABORTED": 409, "OUT_OF_RANGE": 400, "UNIMPLEMENTED": 501, "INTERNAL": 500,
    "UNAVAILABLE": 503, "DATA_LOSS": 500,
}


def test_every_google_rpc_code_has_its_http_status():
    assert {name: status.http_status(number) for name, number in code_pb2.Code.items()} == HTTP


@pytest.mark.parametrize("error, code, http, reason", [
    (errors.BadEvent("events[0]: bad"), "INVALID_ARGUMENT", 400, "INVALID_EVENT"),
    (errors.BatchTooLarge("too many"), "INVALID_ARGUMENT", 400, "BATCH_TOO_LARGE"),
    (errors.BadRequest("top must not be negative"), "INVALID_ARGUMENT", 400, "INVALID_ARGUMENT"),
    (errors.NotFound("no event"), "NOT_FOUND", 404, "NOT_FOUND"),
    (errors.AlreadyExists("taken"), "ALREADY_EXISTS", 409, "ALREADY_EXISTS"),
    (errors.StaleEtag("changed"), "ABORTED", 409, "ETAG_MISMATCH"),
    (errors.DefinitionInUse("used"), "FAILED_PRECONDITION", 400, "FILTER_DEFINITION_IN_USE"),
    (errors.StaleCursor("refreshed"), "FAILED_PRECONDITION", 400, "CURSOR_STALE"),
    (errors.NotAuthenticated("no key"), "UNAUTHENTICATED", 401, "API_KEY_INVALID"),
    (errors.NotAllowed("not this scope"), "PERMISSION_DENIED", 403, "SCOPE_NOT_ALLOWED"),
    (errors.DeleteBacklog("wait", retry_after_seconds=30), "RESOURCE_EXHAUSTED", 429,
     "TOO_MANY_PENDING_DELETES"),
    (errors.QueryQueueFull("busy", retry_after_seconds=1), "RESOURCE_EXHAUSTED", 429,
     "QUERY_QUEUE_FULL"),
    (errors.QueryTimeout(0.3), "DEADLINE_EXCEEDED", 504, "QUERY_TIMEOUT"),
    (errors.QueryCancelled(), "CANCELLED", 499, "CANCELLED"),
    (errors.Starting(), "UNAVAILABLE", 503, "UNAVAILABLE"),
    (errors.IngestStalled(), "UNAVAILABLE", 503, "UNAVAILABLE"),
    (errors.StorageFailed(), "UNAVAILABLE", 503, "UNAVAILABLE"),
    (errors.StoreFormatNewer("newer"), "FAILED_PRECONDITION", 400, "STORE_FORMAT_NEWER"),
    (RuntimeError("a bug"), "INTERNAL", 500, "ERROR"),
])
def test_each_error_has_one_code_one_http_status_and_its_reason(error, code, http, reason):
    answer = status.to_status(error)
    assert code_pb2.Code.Name(answer.code) == code
    assert status.http_status(answer.code) == http
    info = error_details_pb2.ErrorInfo()
    assert answer.details[0].Unpack(info) and info.reason == reason


def test_a_refusal_for_now_carries_its_retry_delay():
    answer = status.to_status(errors.DeleteBacklog("wait", retry_after_seconds=30))
    retry = error_details_pb2.RetryInfo()
    assert answer.details[-1].Unpack(retry) and retry.retry_delay.seconds == 30


def test_a_query_error_blames_the_field_it_came_from():
    error = querylang.QueryError("unknown column", input="filter")
    answer = status.to_status(error)
    request = error_details_pb2.BadRequest()
    assert answer.code == code_pb2.INVALID_ARGUMENT
    assert answer.details[1].Unpack(request)
    assert [v.field for v in request.field_violations] == ["filter"]
    assert answer.message == str(error)


def test_an_unlisted_error_takes_the_row_of_its_nearest_listed_class():
    class NoMoreRoom(errors.Overloaded):
        reason = "NO_MORE_ROOM"

    assert status.status_code(NoMoreRoom("full", retry_after_seconds=1)) == \
        code_pb2.RESOURCE_EXHAUSTED
