"""Large Track/TrackStream batches take the columnar decode (server/fast_decode.py): the same
answers, stored rows and errors as the ordinary decode."""
from __future__ import annotations

import grpc
import pytest
from google.rpc import error_details_pb2

from trackstore.v1 import trackevents_pb2 as pb
from trackstore_client import TrackstoreError
from helpers import detail


def _events(count: int, start: int = 0) -> list[pb.TrackEvent]:
    events = []
    for i in range(start, start + count):
        event = pb.TrackEvent(device_id=f"device-{i % 7}", event_type="pageview",
                              payload_json=f'{{"n": {i}, "sku": "sku-{i}"}}',
                              page_uri=f"https://example.com/p/{i}")
        if i % 3 == 0:
            event.user_json = f'{{"Email": "user{i}@example.com"}}'
        event.event_time.seconds = 1_600_000_000 + i
        events.append(event)
    return events


def test_large_stream_is_stored_as_sent(start_server):
    server = start_server()
    with server.client() as client:
        batches = [_events(1000, b * 1000) for b in range(3)]
        batches[1][10].track_id = "client-id"
        ids = client.track_stream("bulk", batches)
        assert len(set(ids)) == 3000 and ids[1010] == "client-id"
        # Server-made ids carry the event's time (ms) in their UUIDv7 time field, on the
        # columnar path (batches 0 and 2) and the ordinary one (batch 1 has a client id).
        assert [int(ids[i].replace("-", "")[:12], 16) for i in range(3000) if i != 1010] == [
            (1_600_000_000 + i) * 1000 for i in range(3000) if i != 1010]
        assert client.stats()["events"] == 3000
        rows = client.list("bulk", "TrackId eq 'client-id'", "", 0, 10)
        assert rows["items"][0]["DeviceId"] == "device-2"  # 1010 % 7
        count = client.preview("bulk", "Events | where isnotempty(User.Email) | count")
        assert count["items"][0]["Count"] == 1000


def test_invalid_event_in_a_large_stream_batch_is_named(start_server):
    server = start_server()
    batches = [_events(1000), _events(1000, 1000)]
    batches[1][737].payload_json = "{not json"
    with server.client() as client:
        with pytest.raises(TrackstoreError) as error:
            client.track_stream("bulk", batches)
        assert error.value.code == grpc.StatusCode.INVALID_ARGUMENT
        assert "batch 1: events[737]: Payload is not valid JSON" in error.value.message
        violations = detail(error.value, error_details_pb2.BadRequest).field_violations
        assert violations[0].field == "batch[1].events[737]"


def test_invalid_event_in_a_large_track_batch_is_named(start_server):
    server = start_server()
    events = _events(2000)
    events[1999].user_json = "[1]"
    with server.client() as client:
        with pytest.raises(grpc.RpcError) as error:
            client.stub.Track(pb.TrackRequest(scope="default", events=events))
        assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "events[1999]: User must be a JSON object" in error.value.details()
        assert client.stats()["events"] == 0


def test_large_stream_of_struct_payloads_is_stored_as_json(start_server):
    server = start_server()
    batches = []
    for b in range(2):
        batch = []
        for i in range(b * 1000, b * 1000 + 1000):
            event = pb.TrackEvent(event_type="purchase", device_id=f"d{i % 5}")
            event.payload_struct.update({"total": i + 0.5, "cart": {"items": i % 4, "tags": ["a", None]},
                                         "sku": f"sku-{i}"})
            event.user_struct.update({"Email": f"u{i}@example.com"})
            event.event_time.seconds = 1_600_000_000 + i
            batch.append(event)
        batches.append(batch)
    with server.client() as client:
        assert len(client.track_stream("structs", batches)) == 2000
        total = client.preview("structs", "Events | summarize s = sum(todouble(Payload.total)), "
                                          "n = countif(toint(Payload.cart.items) == 3)")
        assert total["items"][0]["s"] == sum(i + 0.5 for i in range(2000))
        assert total["items"][0]["n"] == 500
        rows = client.preview("structs", "Events | where Payload.sku == 'sku-7' "
                                         "| project Payload, User, text = tostring(Payload)")
        row = rows["items"][0]
        assert row["Payload"] == {"cart": {"items": 3, "tags": ["a", None]}, "sku": "sku-7",
                                  "total": 7.5}
        assert row["User"] == {"Email": "u7@example.com"}
        # The text as stored: keys sorted, integers without a fraction.
        assert row["text"] == '{"cart":{"items":3,"tags":["a",null]},"sku":"sku-7","total":7.5}'
