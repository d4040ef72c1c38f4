"""User/Payload nesting through the real server: MAX_JSON_DEPTH levels are stored and read back
by the Python client in Preview, List and Export; one more, 1000 or 100,000 are refused at
Track as INVALID_ARGUMENT naming the event and the limit, whichever form and path they take
(JSON text or Struct; the C decoder for large requests, protobuf for small ones; HTTP), and the
server goes on serving."""
from __future__ import annotations

import json

import grpc
import pytest
from google.protobuf import json_format

import trackstore
from trackstore.v1 import export_pb2 as export_pb
from trackstore.v1 import trackevents_pb2 as pb
from trackstore.v1.export_pb2_grpc import ExportServiceStub
from trackstore_server.limits import MAX_JSON_DEPTH

from grpc_calls import METHODS, call
from deep_values import nested_text, struct_bytes, varint

TRACK = next(m for m in METHODS if m.full_name == "trackstore.v1.TrackEventsService.Track")
STREAM = next(m for m in METHODS if m.full_name == "trackstore.v1.TrackEventsService.TrackStream")
FILLER = pb.TrackEvent(event_type="filler", value="x" * 500).SerializeToString()
DEPTHS = [MAX_JSON_DEPTH + 1, 1000, 100_000]


def request_bytes(event: bytes, fillers: int) -> bytes:
    """A Track request: `fillers` ordinary events, then `event` (its serialized bytes)."""
    return b"".join(b"\x12" + varint(len(e)) + e for e in [FILLER] * fillers + [event])


def deep_event(form: str, depth: int) -> bytes:
    field = {"payload_json": b"\x6a", "user_json": b"\x5a", "payload_struct": b"\x62",
             "user_struct": b"\x52"}[form]
    body = (nested_text(depth).encode() if form.endswith("_json") else struct_bytes(depth))
    return b"\x1a\x04deep" + field + varint(len(body)) + body


@pytest.fixture(scope="module")
def client(served):
    with trackstore.Client(served.server.target, scope="deep") as opened:
        yield opened


def test_the_deepest_allowed_value_is_stored_and_read_back_everywhere(client, served):
    deepest = json.loads(nested_text(MAX_JSON_DEPTH))
    client.track([{"EventType": "deepest", "Payload": deepest, "User": deepest}])
    preview = list(client.preview("Events | where EventType == 'deepest' | project Payload, User"))
    assert preview == [{"Payload": deepest, "User": deepest}]
    listed = list(client.list(filter="EventType eq 'deepest'"))
    assert listed[0]["Payload"] == deepest
    with served.server.channel() as channel:  # protobuf's Python decoder reads the page
        page = ExportServiceStub(channel).Export(export_pb.ExportRequest(scope="deep"))
    exported = [json_format.MessageToDict(item) for item in page.items]
    assert [row["User"] for row in exported if row["EventType"] == "deepest"] == [deepest]


@pytest.mark.parametrize("fillers", [0, 40], ids=["small", "large"])
@pytest.mark.parametrize("form", ["payload_json", "user_json", "payload_struct", "user_struct"])
@pytest.mark.parametrize("depth", DEPTHS)
def test_deeper_values_are_refused_naming_the_event_and_the_limit(served, form, depth, fillers):
    with served.server.channel() as channel:
        answer = call(channel, TRACK, request_bytes(deep_event(form, depth), fillers))
        assert answer.code == grpc.StatusCode.INVALID_ARGUMENT, answer
        which = "Payload" if form.startswith("payload") else "User"
        assert answer.message == (f"events[{fillers}]: {which} nests deeper than "
                                  f"{MAX_JSON_DEPTH} levels, the most a stored JSON value may "
                                  f"(MAX_JSON_DEPTH)")
        assert answer.fields == [f"events[{fillers}]"]
        assert call(channel, TRACK, request_bytes(FILLER, 0)).ok  # still serving


def test_a_stream_batch_too_deep_is_named_by_its_message(served):
    with served.server.channel() as channel:
        answer = call(channel, STREAM, request_bytes(deep_event("user_struct", 1000), 2))
        assert answer.code == grpc.StatusCode.INVALID_ARGUMENT, answer
        assert answer.message.startswith("batch 0: events[2]: User nests deeper than 32")
        assert answer.message.endswith("the 0 batches before it are stored")
        assert answer.fields == ["batch[0].events[2]"]


@pytest.mark.parametrize("depth", DEPTHS)
def test_http_refuses_deep_bodies_cleanly(served, depth):
    body = '[{"EventType": "deep", "Payload": ' + nested_text(depth) + "}]"
    answer = served.api.call("POST", "/api/v2.0/TrackEvents/track", raw=body.encode(),
                             headers={"Content-Type": "application/json"})
    assert answer.status == 400, answer.body
    if depth <= 1000:  # orjson reads the body; the event's Payload is refused
        assert answer.error["target"] == "events[0].Payload"
        assert answer.error["message"].endswith(
            f"nests deeper than {MAX_JSON_DEPTH} levels, the most a stored JSON value may "
            f"(MAX_JSON_DEPTH)")
    else:
        assert answer.error["target"] == "body"
    assert served.api.track({"EventType": "after"}).status == 200
