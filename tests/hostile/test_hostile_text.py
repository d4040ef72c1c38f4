"""NUL and other hostile characters, through the real server (README, "Hostile characters"):
NUL is refused in every text field and query literal as INVALID_ARGUMENT naming the field (or
the query's line and column), is data inside User/Payload JSON, and is never INTERNAL; bytes
protobuf cannot read are INVALID_ARGUMENT too."""
from __future__ import annotations

import json
import urllib.parse

import grpc
import pytest

import trackstore
from trackstore.v1 import export_pb2 as export_pb
from trackstore.v1 import trackevents_pb2 as pb
from trackstore_server.event_schema import PLAIN_STRING_FIELDS, EVENT

from grpc_calls import METHODS, call

INVALID = grpc.StatusCode.INVALID_ARGUMENT
TEXT_FIELDS = sorted(EVENT.fields_by_number[n].name for n in PLAIN_STRING_FIELDS)
# Requests of at least fast_decode.FAST_MIN_BYTES take the C decoder: both paths are tried.
PADDING = {"small": 0, "large": 40}


def method(name: str):
    return next(m for m in METHODS if m.full_name == name)


TRACK = method("trackstore.v1.TrackEventsService.Track")
PREVIEW = method("trackstore.v1.TrackEventsService.Preview")


def track_request(scope: str, event: pb.TrackEvent, padding: int) -> pb.TrackRequest:
    filler = [pb.TrackEvent(event_type="filler", value="x" * 500) for _ in range(padding)]
    return pb.TrackRequest(scope=scope, events=[*filler, event])


def count(channel, scope: str) -> int:
    answer = call(channel, PREVIEW, pb.PreviewRequest(scope=scope, query="Events | count"))
    assert answer.ok, answer
    return int(answer.response.items[0]["Count"])


@pytest.fixture(scope="module")
def channel(served):
    with served.server.channel() as opened:
        yield opened


@pytest.mark.parametrize("size", PADDING)
@pytest.mark.parametrize("field", TEXT_FIELDS)
def test_nul_in_any_text_field_of_an_event_is_refused_naming_the_field(channel, field, size):
    scope = f"nul-{field}-{size}"
    event = pb.TrackEvent(**({"event_type": "e"} | {field: "before\0after"}))
    answer = call(channel, TRACK, track_request(scope, event, PADDING[size]))
    index = PADDING[size]
    assert answer.code == INVALID and answer.reason == "INVALID_EVENT", answer
    assert answer.fields == [f"events[{index}].{field}"]
    assert answer.message.startswith(f"events[{index}]: {field} contains the NUL character")
    assert count(channel, scope) == 0  # the batch is stored whole or not at all


@pytest.mark.parametrize("size", PADDING)
def test_nul_inside_user_and_payload_json_is_data(channel, served, size):
    scope = f"nul-json-{size}"
    payload = {"a\u0000key": "a\u0000value", "list": ["\u0000"]}
    event = pb.TrackEvent(event_type="json", payload_json=json.dumps(payload),
                          user_json=json.dumps({"Email": "x\u0000@example.com"}))
    assert call(channel, TRACK, track_request(scope, event, PADDING[size])).ok
    client = trackstore.Client(served.server.target, scope=scope)
    rows = list(client.preview("Events | where EventType == 'json' | project Payload, User"))
    assert rows == [{"Payload": payload, "User": {"Email": "x\u0000@example.com"}}]
    listed = list(client.list(filter="EventType eq 'json'"))
    assert listed[0]["Payload"] == payload


@pytest.mark.parametrize("literal", ["'a\0b'", r"'a\0b'", r"'a\x00b'", r"'a\u0000b'",
                                     "@'a\0b'", "\"a\0b\""])
def test_nul_in_a_kql_string_literal_is_refused_at_its_position(channel, literal):
    query = f"Events | where EventType == {literal} | count"
    answer = call(channel, PREVIEW, pb.PreviewRequest(scope="nul-kql", query=query))
    assert answer.code == INVALID and answer.reason == "QUERY_INVALID", answer
    assert answer.message == ("line 1, column 29: a string must not contain the NUL character "
                              "(U+0000)")
    assert answer.fields == ["query"]


@pytest.mark.parametrize("query, column", [(r"Events | where EventType == '\ud800'", 29),
                                           ("Events | where Payload['\\udc00x'] == 1", 24)])
def test_a_lone_surrogate_in_a_kql_literal_is_refused(channel, query, column):
    answer = call(channel, PREVIEW, pb.PreviewRequest(scope="nul-kql", query=query))
    assert answer.code == INVALID and answer.message.startswith(
        f"line 1, column {column}: a string must not contain a lone surrogate"), answer


def test_a_surrogate_pair_written_as_two_escapes_is_one_character(channel):
    event = pb.TrackEvent(event_type="\U0001f600")
    assert call(channel, TRACK, track_request("pair", event, 0)).ok
    query = r"Events | where EventType == '\ud83d\ude00' | count"
    answer = call(channel, PREVIEW, pb.PreviewRequest(scope="pair", query=query))
    assert answer.ok and answer.response.items[0]["Count"] == 1


def test_nul_in_an_odata_literal_is_refused_at_its_position(channel):
    list_method = method("trackstore.v1.TrackEventsService.List")
    answer = call(channel, list_method, pb.ListRequest(filter="EventType eq 'a\0b'"))
    assert answer.code == INVALID and answer.fields == ["filter"], answer
    assert answer.message == ("line 1, column 14: a string must not contain the NUL character "
                              "(U+0000)")


@pytest.mark.parametrize("name, request_message, field", [
    ("TrackEventsService.Delete", pb.DeleteRequest(track_id="a\0b"), "track_id"),
    ("TrackEventsService.BatchDelete",
     pb.BatchDeleteRequest(track_ids=["ok", "a\0b"], allow_missing=True), "track_ids[1]"),
    ("ExportService.Export", export_pb.ExportRequest(event_types=["a\0b"]), "event_types[0]"),
    ("ExportService.GetExportConfiguration",
     export_pb.GetExportConfigurationRequest(name="a\0b"), "name"),
    ("ExportService.DeleteExportConfiguration",
     export_pb.DeleteExportConfigurationRequest(name="a\0b"), "name"),
    ("ExportService.RunExportConfiguration",
     export_pb.RunExportConfigurationRequest(name="a\0b"), "name"),
    ("ExportService.ListExportRuns", export_pb.ListExportRunsRequest(name="a\0b"), "name"),
    ("TrackEventsService.Preview", pb.PreviewRequest(scope="a\0b", query="Events"), "scope"),
])
def test_nul_in_ids_names_types_and_scopes_is_refused_naming_the_field(
        channel, name, request_message, field):
    answer = call(channel, method(f"trackstore.v1.{name}"), request_message)
    assert answer.code == INVALID and answer.fields == [field], answer


@pytest.mark.parametrize("name, data", [
    ("TrackEventsService.Preview", b"\x12\x02\xc3\x28"),  # query: invalid UTF-8
    ("TrackEventsService.Track", b"\x0a\x01\xff"),  # scope: invalid UTF-8
    ("TrackEventsService.TrackStream", b"\x12\x05\x1a\x03\xed\xa0\x80"),  # a UTF-8 surrogate
    ("TrackEventsService.List", b"\xff\xff\xff"),  # not protobuf at all
    ("SegmentService.IsInSegment", b"\x12\x02\xc3\x28"),  # answered on the event loop
    ("SegmentService.SegmentsOf", b"\xff\xff\xff"),
])
def test_bytes_protobuf_cannot_read_are_invalid_argument(channel, name, data):
    answer = call(channel, method(f"trackstore.v1.{name}"), data)
    assert answer.code == INVALID and answer.reason == "MALFORMED_REQUEST", answer
    assert "is not a valid trackstore.v1." in answer.message
    assert count(channel, "default") >= 0  # the server goes on serving


# -- the same rules over HTTP ------------------------------------------------------------------

def test_http_refuses_nul_in_event_fields_and_lone_surrogates_in_the_body(served):
    api = served.api
    nul = api.track({"EventType": "a\u0000b", "Scope": "nul-http"})
    assert nul.status == 400 and nul.error["target"] == "events[0].event_type", nul.body
    surrogate = api.call("POST", "/api/v2.0/TrackEvents/track", raw=b'{"EventType": "\\ud800\\n"}',
                         headers={"Content-Type": "application/json"})
    assert surrogate.status == 400 and surrogate.error["code"] == "INVALID_ARGUMENT"
    data = api.track({"EventType": "ok", "Scope": "nul-http", "Payload": {"k": "\u0000"}})
    assert data.status == 200
    rows = api.preview("Events | project Payload", scope="nul-http").json["items"]
    assert rows == [{"Payload": {"k": "\u0000"}}]


def test_http_refuses_nul_in_a_path_id_and_query_options(served):
    api = served.api
    deleted = api.delete("nul-http", urllib.parse.quote("a\0b"))
    assert deleted.status == 400 and deleted.error["target"] == "id", deleted.body
    listed = api.list(scope="nul-http", filter="EventType eq 'a\0b'")
    assert listed.status == 400 and listed.error["innererror"]["column"] == 14
    scoped = api.list(scope="a\0b")
    assert scoped.status == 400 and scoped.error["target"] == "scope"
