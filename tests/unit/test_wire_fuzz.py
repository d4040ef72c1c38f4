"""Malformed and mutated requests never crash the C decoder (server/wire/), and whatever it
accepts it reads as the protobuf parse does."""
from __future__ import annotations

import pytest
from google.protobuf import message as protobuf_message
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trackstore.v1 import trackevents_pb2 as pb
from trackstore_server import _wire, fast_decode
from trackstore_server.errors import BadRequest
from trackstore_server.event_batch import MAX_EVENT_BYTES, MAX_EVENTS_PER_BATCH, build_batch

from deep_values import varint

RECEIVED = 1_700_000_000_000_000


def _seed_request() -> bytes:
    events = []
    for i in range(40):
        event = pb.TrackEvent(event_type=f"type-{i % 3}", device_id=f"d{i}",
                              page_uri="https://example.com/é", session_id="s")
        if i % 2:
            event.payload_json = '{"a": [1, 2.5, "x"], "b": {"c": null}}'
        else:
            event.payload_struct.update({"n": i, "list": [True, None, "y"]})
        if i % 3:
            event.user_json = '{"Email": "a@b.c"}'
        event.event_time.seconds = 1_600_000_000 + i
        event.event_time.nanos = 1000 * i
        events.append(event)
    return pb.TrackStreamRequest(scope="s", events=events).SerializeToString()


SEED = _seed_request()


def _ordinary(data: bytes):
    """The ordinary path's answer: a table, or the error it raises."""
    try:
        events = pb.TrackStreamRequest.FromString(data).events
    except protobuf_message.DecodeError:
        return "decode error"
    try:
        return build_batch("s", events, len(data), RECEIVED).table.drop_columns(["TrackId"])
    except BadRequest as error:
        return error.message


def check(data: bytes) -> None:
    decoded = _wire.decode(data, MAX_EVENTS_PER_BATCH, MAX_EVENT_BYTES)
    if decoded is None:
        return
    expected = _ordinary(data)
    assert not isinstance(expected, str), f"the decoder accepted what the parse refuses: {expected}"
    batch = fast_decode.FastRequest(data, decoded).build_fast("s", RECEIVED)
    assert batch.table.drop_columns(["TrackId"]).equals(expected)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, len(SEED) - 1), st.integers(0, 255), st.sampled_from(["set", "xor"]))
def test_a_changed_byte(at, value, how):
    data = bytearray(SEED)
    data[at] = value if how == "set" else data[at] ^ (1 << (value % 8))
    check(bytes(data))


@settings(max_examples=500, deadline=None)
@given(st.integers(0, len(SEED)), st.binary(max_size=12), st.integers(0, 12))
def test_inserted_or_removed_bytes(at, inserted, removed):
    check(SEED[:at] + inserted + SEED[at + removed:])


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes(data):
    check(data)


@pytest.mark.parametrize("cut", [1, 2, 10, 100, len(SEED) // 2, len(SEED) - 1])
def test_truncated_requests(cut):
    check(SEED[:cut])


def test_huge_lengths_and_deep_structs_are_refused_without_reading_past_the_end():
    assert _wire.decode(b"\x12\xff\xff\xff\xff\x0f", 10, 1 << 20) is None
    assert _wire.decode(b"\x12\x80\x80\x80\x80\x80\x80\x80\x80\x80\x02", 10, 1 << 20) is None
    deep = b""
    for _ in range(1000):  # Value{struct_value: Struct{fields: {"a": deep}}}
        entry = b"\x0a\x01a" + b"\x12" + varint(len(deep)) + deep
        struct = b"\x0a" + varint(len(entry)) + entry
        deep = b"\x2a" + varint(len(struct)) + struct
    event = b"\x62" + varint(len(deep)) + deep  # payload_struct
    data = b"\x12" + varint(len(event)) + event
    assert _wire.decode(data, 10, 1 << 20) is None


@pytest.mark.parametrize("depth, readable", [(_wire.JSON_MAX_DEPTH - 1, True),
                                             (_wire.JSON_MAX_DEPTH, False), (1000, False)])
def test_struct_json_follows_nesting_to_a_bound(depth, readable):
    # `depth` Structs inside the outer one: depth + 1 levels, the last readable one the limit
    struct = b""
    for _ in range(depth):  # Struct{fields: {"a": Value{struct_value: struct}}}
        value = b"\x2a" + varint(len(struct)) + struct
        entry = b"\x0a\x01a" + b"\x12" + varint(len(value)) + value
        struct = b"\x0a" + varint(len(entry)) + entry
    text = _wire.struct_json(struct)
    if readable:
        assert text == '{"a":' * depth + "{}" + "}" * depth
    else:
        assert text is None  # event_batch.struct_to_json then refuses it (TooDeep)
