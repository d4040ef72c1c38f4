"""Track requests joined from events serialized one by one, for the batching tracker.

The tracker serializes each event as it is tracked, and a batch's request is then one join of
bytes: building a TrackRequest from the messages would copy every event again and serialize it
afterwards, twice the work per event on the thread that sends (bench/TRACKER.md). The framing
is protobuf's own for a repeated message field, its tag taken from the descriptor; a test
checks the bytes equal what TrackRequest.SerializeToString() gives.
"""
from __future__ import annotations

from google.protobuf.internal import encoder, wire_format

from trackstore.v1 import trackevents_pb2 as pb

_EVENTS_TAG = encoder.TagBytes(pb.TrackRequest.DESCRIPTOR.fields_by_name["events"].number,
                               wire_format.WIRETYPE_LENGTH_DELIMITED)
TRACK_PATH = "/{}/Track".format(
    pb.DESCRIPTOR.services_by_name["TrackEventsService"].full_name)


def framed(event: pb.TrackEvent) -> bytes:
    """One event as an entry of TrackRequest.events: tag, length, message."""
    data = event.SerializeToString()
    size = len(data)
    length = bytes((size,)) if size < 0x80 else encoder._VarintBytes(size)
    return _EVENTS_TAG + length + data


def track_request(scope: str, events: list[bytes]) -> bytes:
    """A serialized TrackRequest of `scope` and the framed events."""
    return pb.TrackRequest(scope=scope).SerializeToString() + b"".join(events)


def events_of(events: list[bytes]) -> list[pb.TrackEvent]:
    """The framed events back as messages (to report them)."""
    return list(pb.TrackRequest.FromString(b"".join(events)).events)
