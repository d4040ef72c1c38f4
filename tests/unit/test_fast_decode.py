"""The columnar decode (server/fast_decode.py) gives exactly what the ordinary decode gives."""
from __future__ import annotations

import random
import sys
import time
import pathlib

import pytest
from google.protobuf import message as protobuf_message

from trackstore.v1 import trackevents_pb2 as pb
from trackstore_server import fast_decode
from trackstore_server.errors import BadRequest
from trackstore_server.event_batch import build_batch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))
from bench import generate  # noqa: E402

RECEIVED = 1_700_000_000_123_456
deserialize = fast_decode.deserializer(pb.TrackStreamRequest)


def both(data: bytes, scope: str = "s"):
    """(columnar batch, ordinary batch) of one serialized request."""
    request = deserialize(data)
    fast = build_batch(scope, fast_decode.events_of(request), len(data), RECEIVED)
    ordinary = build_batch(scope, pb.TrackStreamRequest.FromString(data).events, len(data),
                           RECEIVED)
    return request, fast, ordinary


def assert_same(fast, ordinary):
    assert fast.client_ids == ordinary.client_ids
    assert fast.table.schema == ordinary.table.schema
    # Fresh UUIDv7s differ; client TrackIds and everything else are identical.
    assert fast.table.drop_columns(["TrackId"]).equals(ordinary.table.drop_columns(["TrackId"]))
    assert fast.track_ids == fast.table.column("TrackId").to_pylist()
    assert len(fast.track_ids) == len(ordinary.track_ids)
    for mine, theirs in zip(fast.track_ids, ordinary.track_ids):
        assert mine == theirs or (_uuid7(mine) and _uuid7(theirs))
    if not any(map(_uuid7, ordinary.track_ids)):
        assert fast.table.equals(ordinary.table)


def _uuid7(text: str) -> bool:
    return len(text) == 36 and text[14] == "7" and not text.startswith("id-")


@pytest.mark.parametrize("with_track_ids", [False, True])
def test_generated_batches_take_the_columnar_path_and_match(with_track_ids):
    table = next(generate.chunks(generate.Config(events=3000, scope="s", chunk_rows=3000)))
    assert table.column("User").null_count  # User is missing on some events: a partial field
    for data in generate.encode_requests(table, 1000, "s", with_track_ids):
        request, fast, ordinary = both(data)
        assert isinstance(request, fast_decode.FastRequest)
        assert_same(fast, ordinary)


def _random_event(rng: random.Random, fields: list[str]) -> pb.TrackEvent:
    event = pb.TrackEvent()
    for name in fields:
        if rng.random() < 0.3:
            continue
        if name == "event_time":
            event.event_time.seconds = rng.choice([0, 1, -5, 1_700_000_000, 2**40])
            event.event_time.nanos = rng.choice([0, 1000, 999_999_999, 123])
        elif name == "user_json":
            event.user_json = rng.choice(['{"a": 1}', "null", '{"é": "ü"}'])
        elif name == "payload_json":
            event.payload_json = rng.choice(['{"x": [1, 2]}', '{}', "null"])
        elif name == "track_id":
            event.track_id = f"id-{rng.randrange(10**6)}"
        else:
            setattr(event, name, rng.choice(["", "a", "é" * 70, "x" * 200]))
    return event


def test_random_shapes_match_the_ordinary_decode():
    rng = random.Random(7)
    names = ["track_id", "device_id", "event_type", "value", "scope", "page_uri", "page_title",
             "remote_address", "session_id", "user_json", "payload_json", "country_code",
             "city", "event_time"]
    taken = 0
    for round_ in range(60):
        fields = rng.sample(names, rng.randrange(1, len(names)))
        # Mostly full fields, sometimes one partial, sometimes several.
        events = []
        for _ in range(rng.choice([40, 200])):
            event = pb.TrackEvent()
            for name in fields:
                event.MergeFrom(_random_event(rng, [name]) if round_ % 3 else
                                _full(rng, name))
            events.append(event)
        data = pb.TrackStreamRequest(scope="s", events=events).SerializeToString()
        request = deserialize(data)
        taken += isinstance(request, fast_decode.FastRequest)
        try:
            ordinary = build_batch("s", pb.TrackStreamRequest.FromString(data).events,
                                   len(data), RECEIVED)
        except BadRequest as error:
            with pytest.raises(BadRequest) as fast_error:
                build_batch("s", fast_decode.events_of(request), len(data), RECEIVED)
            assert fast_error.value.message == error.message
            continue
        assert_same(build_batch("s", fast_decode.events_of(request), len(data), RECEIVED),
                    ordinary)
    assert taken  # the columnar path was exercised


def _full(rng, name):
    event = pb.TrackEvent()
    while not event.ListFields():
        event = _random_event(rng, [name])
    return event


def _field(number: int, value: bytes) -> bytes:
    return bytes([number << 3 | 2, len(value)]) + value


def test_repeated_fields_that_fool_the_sizes_take_the_ordinary_path():
    # Event 0 sends device_id twice and no event_type, event 1 the reverse: every field is in
    # "every" event by count, and the sizes agree; only the bytes tell the truth.
    first = _field(2, b"ab") + _field(2, b"ab")
    second = _field(3, b"xy") + _field(3, b"xy")
    padding = [_field(4, b"v" * 100)] * 1
    events = [first + padding[0], second + padding[0]] * 100
    data = b"".join(bytes([0x12, len(e)]) + e for e in events)
    request, fast, ordinary = both(data)
    assert not isinstance(request, fast_decode.FastRequest)
    assert_same(fast, ordinary)
    assert ordinary.table.column("EventType").to_pylist()[:2] == [None, "xy"]


def test_fields_out_of_order_match():
    event = _field(4, b"value") + _field(3, b"type")
    data = b"".join(bytes([0x12, len(event)]) + event for _ in range(2000))
    request, fast, ordinary = both(data)
    assert_same(fast, ordinary)


def test_invalid_utf8_fails_as_the_ordinary_parse_does():
    event = _field(3, b"\xff\xfe")
    data = b"".join(bytes([0x12, len(event)]) + event for _ in range(10000))
    with pytest.raises(protobuf_message.DecodeError):
        pb.TrackStreamRequest.FromString(data)
    with pytest.raises(protobuf_message.DecodeError):
        deserialize(data)


def test_invalid_event_in_a_large_batch_is_named_by_its_index():
    table = next(generate.chunks(generate.Config(events=1000, scope="s", chunk_rows=1000)))
    good = generate.encode_requests(table, 1000, "s")[0]
    request = pb.TrackStreamRequest.FromString(good)
    for index, text in ((737, "{not json"), (5, "[1, 2]")):
        request_copy = pb.TrackStreamRequest()
        request_copy.CopyFrom(request)
        request_copy.events[index].payload_json = text
        data = request_copy.SerializeToString()
        decoded = deserialize(data)
        # The decoder leaves what it cannot store to the ordinary path, which names the event.
        assert not isinstance(decoded, fast_decode.FastRequest)
        with pytest.raises(BadRequest) as error:
            build_batch("s", fast_decode.events_of(decoded), len(data), RECEIVED)
        assert error.value.violations[0].field == f"events[{index}]"
        assert error.value.message.startswith(f"events[{index}]: Payload")


def test_small_requests_use_the_ordinary_parse():
    small = pb.TrackStreamRequest(events=[pb.TrackEvent(event_type="a")]).SerializeToString()
    assert isinstance(deserialize(small), pb.TrackStreamRequest)


def test_a_struct_among_json_payloads_matches():
    events = [pb.TrackEvent(event_type="a" * 100, payload_json='{"b": 2}') for _ in range(500)]
    events[3].payload_struct.update({"a": 1, "z": [1.5, None]})
    data = pb.TrackStreamRequest(events=events).SerializeToString()
    request, fast, ordinary = both(data)
    assert isinstance(request, fast_decode.FastRequest)
    assert_same(fast, ordinary)
    assert fast.table.column("Payload")[3].as_py() == '{"a":1,"z":[1.5,null]}'


def test_unusual_timestamps_match():
    events = []
    for i in range(400):
        event = pb.TrackEvent(event_type="t" * 50)
        event.event_time.seconds = [-(2**33), 0, 1, 2**35][i % 4]
        event.event_time.nanos = [0, 1, 999_999_999, 500_000][i % 4] if i % 5 else 0
        events.append(event)
    data = pb.TrackStreamRequest(events=events).SerializeToString()
    request, fast, ordinary = both(data)
    assert isinstance(request, fast_decode.FastRequest)
    assert_same(fast, ordinary)


def test_every_timestamp_encoding_reads_what_the_timestamp_parse_reads():
    from google.protobuf import timestamp_pb2

    stamps = [timestamp_pb2.Timestamp(seconds=s, nanos=n)
              for s in (0, 1, -1, -(2**33), 2**35, 1_700_000_000)
              for n in (0, 1, 999, -1, -999_999, 999_999_999, 500_000)]
    events = [pb.TrackEvent(event_type="t" * 500, event_time=stamp) for stamp in stamps]
    data = pb.TrackStreamRequest(events=events).SerializeToString()
    request, fast, ordinary = both(data)
    assert isinstance(request, fast_decode.FastRequest)
    assert_same(fast, ordinary)
    expected = [s.seconds * 1_000_000 + s.nanos // 1000 for s in stamps]
    assert [t.value for t in fast.table.column("EventTime")] == expected


@pytest.mark.parametrize("timestamp", [b"\x10\x01\x08\x01", b"\x08\x01\x08\x02", b"\x18\x01"])
def test_unusual_timestamp_bytes_take_the_ordinary_parse(timestamp):
    # Fields out of order, repeated, or unknown: the protobuf parse decides what they mean.
    event = _field(3, b"t" * 100) + bytes([0x82, 0x01, len(timestamp)]) + timestamp
    data = b"".join(bytes([0x12, len(event)]) + event for _ in range(200))
    request, fast, ordinary = both(data)
    assert not isinstance(request, fast_decode.FastRequest)
    assert_same(fast, ordinary)


def test_unknown_fields_take_the_ordinary_parse():
    event = _field(3, b"t" * 100) + bytes([0xA2, 0x01, 1]) + b"x"  # field 20: not TrackEvent's
    data = b"".join(bytes([0x12, len(event)]) + event for _ in range(200))
    request, fast, ordinary = both(data)
    assert not isinstance(request, fast_decode.FastRequest)
    assert_same(fast, ordinary)


def test_track_ids_made_by_the_decoder_are_fresh_uuid7s():
    import time
    import uuid

    events = [pb.TrackEvent(event_type="t" * 100) for _ in range(2000)]
    data = pb.TrackStreamRequest(events=events).SerializeToString()
    before = time.time()
    batch = build_batch("s", fast_decode.events_of(deserialize(data)), len(data), RECEIVED)
    assert not batch.client_ids
    assert len(set(batch.track_ids)) == 2000
    for text in batch.track_ids[:50]:
        parsed = uuid.UUID(text)
        assert str(parsed) == text and parsed.version == 7 and parsed.variant == uuid.RFC_4122
        assert abs(int(text.replace("-", "")[:12], 16) / 1000 - before) < 5


def _id_millis(track_id: str) -> int:
    return int(track_id.replace("-", "")[:12], 16)


def test_generated_track_ids_carry_the_event_time_on_both_paths():
    from google.protobuf import timestamp_pb2

    # (seconds, nanos) of EventTimes -> the ms in the id: floored, and 0 before 1970.
    times = [((1_600_000_000, 999_999_999), 1_600_000_000_999),
             ((1_600_000_000, 1_000_000), 1_600_000_000_001),
             ((0, 0), 0), ((-1, 500_000_000), 0), ((-86_400 * 365, 0), 0),
             ((253_402_300_799, 0), 253_402_300_799_000)]
    events = [pb.TrackEvent(event_type="t" * 100,
                            event_time=timestamp_pb2.Timestamp(seconds=s, nanos=n))
              for (s, n), _ in times] * 300
    events.append(pb.TrackEvent(event_type="no time"))
    data = pb.TrackStreamRequest(events=events).SerializeToString()
    request, fast, ordinary = both(data)
    assert isinstance(request, fast_decode.FastRequest)
    expected = [ms for _, ms in times] * 300
    for batch in (fast, ordinary):
        assert [_id_millis(i) for i in batch.track_ids[:-1]] == expected
        assert len(set(batch.track_ids)) == len(events)
    # Without an EventTime: the receive time, as in the EventTime column.
    assert _id_millis(ordinary.track_ids[-1]) == RECEIVED // 1000
    assert abs(_id_millis(fast.track_ids[-1]) / 1000 - time.time()) < 60


def test_struct_payloads_take_the_columnar_path_and_match():
    table = next(generate.chunks(generate.Config(events=2000, scope="s", chunk_rows=2000)))
    for data in generate.struct_requests(table, 1000, "s"):
        request, fast, ordinary = both(data)
        assert isinstance(request, fast_decode.FastRequest)
        assert_same(fast, ordinary)
        assert fast.table.column("Payload").null_count < fast.size


def test_a_struct_key_given_twice_takes_its_last_value_on_both_paths():
    def entry(key: bytes, number: float) -> bytes:
        import struct as packing
        value = b"\x11" + packing.pack("<d", number)  # Value.number_value
        return _field(1, _field(1, key) + _field(2, value))

    payload = entry(b"b", 1) + entry(b"a", 2) + entry(b"b", 3)  # Struct.fields
    event = _field(3, b"t" * 50) + _field(12, payload)
    data = b"".join(bytes([0x12, len(event)]) + event for _ in range(300))
    request, fast, ordinary = both(data)
    assert isinstance(request, fast_decode.FastRequest)
    assert_same(fast, ordinary)
    assert fast.table.column("Payload")[0].as_py() == '{"a":2,"b":3}'


def test_both_json_and_struct_for_one_field_take_the_ordinary_parse():
    event = _field(3, b"t" * 60) + _field(13, b'{"a": 1}') + _field(12, b"")
    data = b"".join(bytes([0x12, len(event)]) + event for _ in range(300))
    request, fast, ordinary = both(data)
    assert not isinstance(request, fast_decode.FastRequest)
    assert_same(fast, ordinary)
    assert ordinary.table.column("Payload")[0].as_py() == "{}"  # the last one given wins
