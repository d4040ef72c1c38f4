"""The tracker's requests, joined from events serialized one by one, are exactly the bytes of
the TrackRequest message they stand for."""
from __future__ import annotations

import time

from hypothesis import given, settings
from hypothesis import strategies as st

from trackstore import wire
from trackstore.events import to_message
from trackstore.v1 import trackevents_pb2 as pb

texts = st.text(max_size=300)
documents = st.fixed_dictionaries({"EventType": texts}, optional={
    "DeviceId": texts, "Value": st.text(max_size=20_000),
    "Payload": st.dictionaries(st.text(max_size=5), st.integers(-2**63, 2**63 - 1) | texts, max_size=5),
    "EventTime": st.just("2020-01-02T03:04:05.123Z")})


@settings(max_examples=200, deadline=None)
@given(scope=texts, events=st.lists(documents, max_size=20))
def test_a_joined_request_is_the_track_request(scope, events):
    messages = [to_message(event, True, time.time_ns()) for event in events]
    framed = [wire.framed(message) for message in messages]
    assert wire.track_request(scope, framed) == \
        pb.TrackRequest(scope=scope, events=messages).SerializeToString()
    assert wire.events_of(framed) == messages


def test_the_path_is_the_services_track_method():
    assert wire.TRACK_PATH == "/trackstore.v1.TrackEventsService/Track"
