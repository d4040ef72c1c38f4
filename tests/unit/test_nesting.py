"""The nesting limit of User/Payload (limits.MAX_JSON_DEPTH) is counted alike by the C checker
(server/wire/json_check.c, struct_json.c) and the ordinary Python path (server/nesting.py,
event_batch): at the limit both store, one level beyond both refuse, and a refusal names the
event and the limit."""
from __future__ import annotations

import orjson
import pytest
from google.protobuf import json_format, struct_pb2
from hypothesis import given, settings
from hypothesis import strategies as st

from trackstore.v1 import trackevents_pb2 as pb
from trackstore_server import _wire, fast_decode, nesting
from trackstore_server.errors import BadEvent
from trackstore_server.event_batch import build_batch
from trackstore_server.limits import MAX_JSON_DEPTH

from deep_values import nested_text, struct_bytes, varint

OBJECT = 1


def python_path_stores(text: str) -> bool:
    try:
        build_batch("s", [pb.TrackEvent(payload_json=text)])
    except BadEvent as error:
        assert error.message == (f"events[0]: Payload nests deeper than {MAX_JSON_DEPTH} "
                                 f"levels, the most a stored JSON value may (MAX_JSON_DEPTH)")
        return False
    return True


@pytest.mark.parametrize("kinds", ["{", "[{", "{["])
@pytest.mark.parametrize("depth", [1, MAX_JSON_DEPTH - 1, MAX_JSON_DEPTH, MAX_JSON_DEPTH + 1,
                                   MAX_JSON_DEPTH + 2, 1000, 1100, 100_000])
def test_c_and_python_paths_store_up_to_the_limit_and_refuse_beyond(depth, kinds):
    text = nested_text(depth, kinds)
    if text.startswith("["):
        text = '{"x":' + text + "}"
        depth += 1
    c_stores = _wire.is_json_object(text.encode()) == OBJECT
    assert c_stores == python_path_stores(text) == (depth <= MAX_JSON_DEPTH)


json_scalars = st.none() | st.booleans() | st.integers(-1000, 1000) | st.text(max_size=3)


@st.composite
def nested_objects(draw):
    """Objects whose depth lands near the limit: a spine of random containers, with random
    side branches."""
    depth = draw(st.integers(MAX_JSON_DEPTH - 3, MAX_JSON_DEPTH + 3))
    value = draw(json_scalars)
    for _ in range(depth - 1):
        siblings = draw(st.lists(json_scalars, max_size=2))
        value = ({"k": value, **{f"s{i}": s for i, s in enumerate(siblings)}}
                 if draw(st.booleans()) else [*siblings, value])
    return {"top": value}


def depth_of(value) -> int:
    if isinstance(value, dict):
        return 1 + max(map(depth_of, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(depth_of, value), default=0)
    return 0


@settings(max_examples=150, deadline=None)
@given(nested_objects())
def test_generated_values_near_the_limit_get_the_same_answer_on_both_paths(value):
    text = orjson.dumps(value).decode()
    deep = depth_of(value) > MAX_JSON_DEPTH
    assert nesting.deeper_than(value) == deep
    assert (_wire.is_json_object(text.encode()) == OBJECT) == (not deep)
    assert python_path_stores(text) == (not deep)
    assert nesting.text_may_exceed(text) or not deep
    struct = struct_pb2.Struct()
    struct.update(value)
    assert nesting.struct_deeper_than(struct) == deep
    assert (_wire.struct_json(struct.SerializeToString()) is None) == deep


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH, MAX_JSON_DEPTH + 1])
def test_a_parsed_struct_is_stored_up_to_the_limit_on_both_paths(depth):
    struct = struct_pb2.Struct()
    json_format.Parse(nested_text(depth), struct)
    event = pb.TrackEvent(user_struct=struct)
    request = pb.TrackRequest(events=[pb.TrackEvent(event_type="pad", value="x" * 20_000),
                                      event]).SerializeToString()
    assert (fast_decode.parse(request) is None) == (depth > MAX_JSON_DEPTH)
    if depth > MAX_JSON_DEPTH:
        with pytest.raises(BadEvent, match=r"^events\[0\]: User nests deeper than 32 levels"):
            build_batch("s", [event])
    else:
        assert build_batch("s", [event]).size == 1


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 40, 1000, 100_000])
def test_a_struct_protobuf_cannot_parse_is_named_by_its_event(depth):
    event = b"\x1a\x01x" + b"\x62" + varint(len(struct_bytes(depth))) + struct_bytes(depth)
    plain = pb.TrackEvent(event_type="fine").SerializeToString()
    request = b"".join(b"\x12" + varint(len(e)) + e for e in (plain, plain, event))
    assert nesting.too_deep_event(request) == (2, "Payload")
    decode = fast_decode.deserializer(pb.TrackRequest)
    if depth > 33:  # protobuf's own limit: 100 nested messages
        with pytest.raises(BadEvent, match=r"^events\[2\]: Payload nests deeper than 32"):
            decode(request)


def test_shallow_or_malformed_requests_have_no_deep_event():
    shallow = pb.TrackRequest(events=[pb.TrackEvent(payload_json="{}")]).SerializeToString()
    assert nesting.too_deep_event(shallow) is None
    assert nesting.too_deep_event(b"\x12\xff\xff\xff") is None
    assert nesting.too_deep_event(b"\x13") is None
