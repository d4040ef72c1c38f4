"""The filter-definition and segment methods of trackstore.Client and trackstore.aio.Client,
through the real server: typed values from Python values, answers as JSON-shaped dicts, the
server's refusals as the client's errors."""
from __future__ import annotations

import asyncio
import datetime as dt
import time
import uuid

import pytest

import trackstore
import trackstore.aio
from trackstore.segments import definition_message, parameter_value
from trackstore.v1 import segments_pb2 as spb

QUERY = ("Events | where EventType == {{eventType}} and EventTime > ago({{window}}) "
         "and Payload.price >= {{minPrice}}")
TYPES = {"eventType": "string", "window": "timespan", "minPrice": "double"}
NOW = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
EVENTS = [
    {"DeviceId": "d-1", "EventType": "purchase", "Payload": {"price": 30},
     "EventTime": (NOW - dt.timedelta(days=1)).isoformat()},
    {"DeviceId": "d-2", "EventType": "purchase", "Payload": {"price": 5},
     "EventTime": (NOW - dt.timedelta(days=1)).isoformat()},
    {"DeviceId": "d-3", "EventType": "purchase", "Payload": {"price": 50},
     "EventTime": (NOW - dt.timedelta(days=40)).isoformat()},
    {"DeviceId": "d-4", "EventType": "pageview", "Payload": {"price": 99},
     "EventTime": (NOW - dt.timedelta(days=1)).isoformat()},
]
VALUES = {"eventType": "purchase", "window": dt.timedelta(days=7), "minPrice": 10}


@pytest.mark.parametrize("value, field, expected", [
    (True, "bool_value", True),
    (7, "long_value", 7),
    (2.5, "double_value", 2.5),
    ("x' | take 1", "string_value", "x' | take 1"),
    (uuid.UUID(int=1), "guid_value", "00000000-0000-0000-0000-000000000001"),
])
def test_a_python_value_goes_in_the_field_of_its_type(value, field, expected):
    message = parameter_value(value)
    assert message.WhichOneof("kind") == field and getattr(message, field) == expected


def test_times_go_as_timestamps_and_durations_and_other_types_are_refused():
    stamp = parameter_value(dt.datetime(2024, 5, 1, 2, tzinfo=dt.timezone(dt.timedelta(hours=2))))
    assert stamp.datetime_value.ToDatetime() == dt.datetime(2024, 5, 1)  # as UTC
    assert parameter_value(dt.timedelta(days=7)).timespan_value.seconds == 7 * 86400
    typed = spb.ParameterValue(int_value=3)
    assert parameter_value(typed) is typed
    with pytest.raises(TypeError, match="not list"):
        parameter_value([1])
    with pytest.raises(ValueError, match="'window' has type 'minutes'"):
        definition_message("d", "Events", {"window": "minutes"})


def _wait_computed(get, name: str) -> dict:
    deadline = time.monotonic() + 60
    while not (segment := get(name)).get("computed_at"):
        assert time.monotonic() < deadline, segment
        time.sleep(0.1)
    return segment


def test_every_segment_method_of_the_blocking_client(shared_server):
    with trackstore.Client(shared_server.target, scope="client-segments") as client:
        client.track(EVENTS)
        created = client.create_filter_definition("buyers", QUERY, TYPES, category="sales")
        assert created["parameters"] == TYPES and created["category"] == "sales"
        assert client.get_filter_definition("buyers")["etag"] == created["etag"]
        listed = client.list_filter_definitions("buy")
        assert [d["name"] for d in listed["filter_definitions"]] == ["buyers"]
        preview = client.preview_filter_definition("buyers", VALUES)
        assert sorted(row["DeviceId"] for row in preview) == ["d-1"]
        inline = client.preview_filter_definition(
            definition=definition_message("draft", "Events | where DeviceId == {{d}}",
                                          {"d": "string"}), values={"d": "d-4"})
        assert [row["EventType"] for row in inline] == ["pageview"]

        segment = client.create_segment("big-buyers", "buyers", VALUES,
                                        refresh_interval=dt.timedelta(hours=1))
        assert segment["parameters"] == {"eventType": "purchase", "window": "604800s",
                                         "minPrice": 10}
        assert segment["refresh_interval"] == "3600s"
        computed = _wait_computed(client.get_segment, "big-buyers")
        assert computed["device_count"] == 1
        assert client.evaluate_segment("big-buyers")["device_ids"] == ["d-1"]
        assert client.is_in_segment("d-1", ["big-buyers"]) == {"big-buyers": True}
        assert client.is_in_segment("d-2", ["big-buyers"]) == {"big-buyers": False}
        assert client.segments_of("d-1") == ["big-buyers"]
        assert client.refresh_segment("big-buyers").endswith("Z")
        assert [s["name"] for s in client.list_segments()["segments"]] == ["big-buyers"]

        replaced = client.replace_segment("big-buyers", "buyers", {**VALUES, "minPrice": 1.0},
                                          etag=computed["etag"])
        with pytest.raises(trackstore.Aborted):
            client.replace_segment("big-buyers", "buyers", VALUES, etag=computed["etag"])
        with pytest.raises(trackstore.FailedPrecondition, match="big-buyers"):
            client.delete_filter_definition("buyers")
        with pytest.raises(trackstore.InvalidArgument, match="minPrice"):
            client.create_segment("bad", "buyers", {**VALUES, "minPrice": "ten"})
        assert client.delete_segment("big-buyers", etag=replaced["etag"]) is None
        client.delete_filter_definition("buyers")
        with pytest.raises(trackstore.NotFound):
            client.get_filter_definition("buyers")


def test_the_asyncio_client_awaits_the_same_methods(shared_server):
    async def calls():
        async with trackstore.aio.Client(shared_server.target, scope="aio-segments") as client:
            await client.track(EVENTS)
            await client.create_filter_definition("buyers", QUERY, TYPES)
            preview = await client.preview_filter_definition("buyers", VALUES)
            await client.create_segment("big-buyers", "buyers", VALUES)
            deadline = time.monotonic() + 60
            while not (await client.get_segment("big-buyers")).get("computed_at"):
                assert time.monotonic() < deadline
                await asyncio.sleep(0.1)
            return ([row["DeviceId"] for row in preview],
                    (await client.evaluate_segment("big-buyers"))["device_ids"],
                    await client.is_in_segment("d-1", ["big-buyers"]),
                    await client.segments_of("d-3"),
                    (await client.list_filter_definitions())["filter_definitions"])

    preview, devices, is_in, of, definitions = asyncio.run(calls())
    assert preview == ["d-1"] and devices == ["d-1"]
    assert is_in == {"big-buyers": True} and of == []
    assert [d["name"] for d in definitions] == ["buyers"]
