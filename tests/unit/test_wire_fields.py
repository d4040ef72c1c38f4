"""The C decoder's field numbers (server/wire/wire.h) are the contract's, and the columns it
returns are the stored event's (server/event_schema.py)."""
from __future__ import annotations

from google.protobuf import descriptor_pool, struct_pb2, timestamp_pb2  # noqa: F401 - registers

from trackstore.v1 import trackevents_pb2 as pb
from trackstore_server import _wire, event_schema, fast_decode, limits

POOL = descriptor_pool.Default()


def test_each_field_number_of_the_c_code_is_the_descriptors():
    assert _wire.FIELD_NUMBERS == {
        name: POOL.FindFieldByName(name).number for name in _wire.FIELD_NUMBERS}


def test_the_c_code_knows_every_field_of_a_track_event_and_of_its_requests():
    for message in (pb.TrackEvent, pb.TrackRequest, pb.TrackStreamRequest):
        for field in message.DESCRIPTOR.fields:
            assert _wire.FIELD_NUMBERS.get(field.full_name) == field.number, field.full_name


def test_the_decoded_columns_and_the_two_made_in_python_are_the_stored_columns():
    assert len(set(_wire.DECODED_COLUMN_FIELDS)) == len(_wire.DECODED_COLUMN_FIELDS)
    made_in_python = ("Scope", "EventTime")
    assert sorted(fast_decode.DECODED_COLUMNS + made_in_python) == \
        sorted(event_schema.COLUMN_NAMES)


def test_the_c_code_takes_the_track_id_limit_of_the_limits_module():
    assert _wire.TRACK_ID_MAX_CHARS == limits.MAX_TRACK_ID_LENGTH


def test_the_c_code_takes_the_json_depth_limit_of_the_limits_module():
    assert _wire.JSON_MAX_DEPTH == limits.MAX_JSON_DEPTH


def test_each_stored_column_is_a_field_or_a_oneof_of_the_track_event():
    assert {column: [f.name for f in fields] for column, fields in event_schema.FIELDS.items()} \
        == {"TrackId": ["track_id"], "DeviceId": ["device_id"], "EventType": ["event_type"],
            "Value": ["value"], "Scope": ["scope"], "PageUri": ["page_uri"],
            "PageTitle": ["page_title"], "RemoteAddress": ["remote_address"],
            "SessionId": ["session_id"], "User": ["user_struct", "user_json"],
            "Payload": ["payload_struct", "payload_json"], "CountryCode": ["country_code"],
            "City": ["city"], "EventTime": ["event_time"]}
