"""A thin Python client over the generated stubs, speaking Profile Store JSON field names."""
from __future__ import annotations

import datetime as dt
import re
from typing import Iterable, Iterator

import grpc
import orjson
from google.protobuf import json_format, timestamp_pb2
from grpc_status import rpc_status

from trackstore.v1 import admin_pb2 as admin_pb
from trackstore.v1 import admin_pb2_grpc as admin_grpc
from trackstore.v1 import trackevents_pb2 as pb
from trackstore.v1 import trackevents_pb2_grpc as pb_grpc

# Profile Store name -> proto field, for the plain string fields.
STRING_FIELDS = {
    "TrackId": "track_id",
    "DeviceId": "device_id",
    "EventType": "event_type",
    "Value": "value",
    "Scope": "scope",
    "PageUri": "page_uri",
    "PageTitle": "page_title",
    "RemoteAddress": "remote_address",
    "SessionId": "session_id",
    "CountryCode": "country_code",
    "City": "city",
}
KNOWN_FIELDS = set(STRING_FIELDS) | {"User", "Payload", "EventTime"}
EVENT_FIELD_ORDER = [
    "TrackId", "DeviceId", "EventType", "Value", "Scope", "PageUri", "PageTitle", "RemoteAddress",
    "SessionId", "User", "Payload", "CountryCode", "City", "EventTime",
]
MAX_MESSAGE_BYTES = 64 * 1024 * 1024


class TrackstoreError(Exception):
    """A failed call: the gRPC status code, its message, and the google.rpc details."""

    def __init__(self, code: grpc.StatusCode, message: str, details: list):
        super().__init__(f"{code.name}: {message}")
        self.code = code
        self.message = message
        self.details = details

    @classmethod
    def from_rpc_error(cls, error: grpc.RpcError) -> "TrackstoreError":
        status = rpc_status.from_call(error)
        return cls(error.code(), error.details() or "", list(status.details) if status else [])


_RFC3339 = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})?$"
)


def parse_event_time(text: str) -> timestamp_pb2.Timestamp:
    """RFC 3339 with up to 9 fractional digits (.NET writes 7: ...49.3361008Z); no zone = UTC."""
    match = _RFC3339.match(text.strip())
    if not match:
        raise ValueError(f"EventTime {text!r} is not an RFC 3339 time like 2020-01-23T21:27:49Z")
    date, clock, fraction, zone = match.groups()
    if zone is None or zone in ("Z", "z"):
        zone = "+00:00"
    parsed = dt.datetime.fromisoformat(f"{date}T{clock}{zone}")
    nanos = int((fraction or "").ljust(9, "0"))
    return timestamp_pb2.Timestamp(seconds=int(parsed.timestamp()), nanos=nanos)


def event_from_json(document: dict) -> pb.TrackEvent:
    """Builds a TrackEvent from a Profile Store JSON object (User/Payload sent as JSON text)."""
    if not isinstance(document, dict):
        raise ValueError("an event must be a JSON object")
    unknown = set(document) - KNOWN_FIELDS
    if unknown:
        raise ValueError(f"unknown event fields: {', '.join(sorted(unknown))}")
    event = pb.TrackEvent()
    for name, field in STRING_FIELDS.items():
        value = document.get(name)
        if value is not None:
            setattr(event, field, value if isinstance(value, str) else str(value))
    for name, field in (("User", "user_json"), ("Payload", "payload_json")):
        value = document.get(name)
        if value is not None:
            if not isinstance(value, dict):
                raise ValueError(f"{name} must be a JSON object")
            setattr(event, field, orjson.dumps(value).decode())
    if document.get("EventTime"):
        event.event_time.CopyFrom(parse_event_time(document["EventTime"]))
    return event


def event_to_json(event: pb.TrackEvent) -> dict:
    out = {}
    for name, field in STRING_FIELDS.items():
        out[name] = getattr(event, field) if event.HasField(field) else None
    for name, kind in (("User", "user"), ("Payload", "payload")):
        which = event.WhichOneof(kind)
        if which and which.endswith("_json"):
            out[name] = orjson.loads(getattr(event, which))
        elif which:
            out[name] = json_format.MessageToDict(getattr(event, which))
        else:
            out[name] = None
    out["EventTime"] = (
        event.event_time.ToDatetime().strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        if event.HasField("event_time") else None
    )
    return out


def _plain_numbers(value):
    # Struct numbers are doubles; show whole numbers as integers, as JSON readers expect.
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, dict):
        return {k: _plain_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain_numbers(v) for v in value]
    return value


def _struct_items(items, order: list[str]) -> list[dict]:
    """Items as dicts, keys in column order (a Struct is a map and keeps none)."""
    out = []
    for item in items:
        values = _plain_numbers(json_format.MessageToDict(item))
        out.append({name: values[name] for name in order if name in values}
                   | {k: v for k, v in values.items() if k not in order})
    return out


class Client:
    def __init__(self, target: str = "localhost:50051", api_key: str | None = None,
                 credentials: grpc.ChannelCredentials | None = None, timeout: float | None = None):
        options = [
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
        ]
        if credentials is not None:
            self._channel = grpc.secure_channel(target, credentials, options=options)
        else:
            self._channel = grpc.insecure_channel(target, options=options)
        self.stub = pb_grpc.TrackEventsServiceStub(self._channel)
        self.admin = admin_grpc.AdminServiceStub(self._channel)
        self._metadata = [("authorization", f"epi-single {api_key}")] if api_key else []
        self._timeout = timeout

    def close(self) -> None:
        self._channel.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _call(self, method, request):
        try:
            return method(request, metadata=self._metadata, timeout=self._timeout)
        except grpc.RpcError as error:
            raise TrackstoreError.from_rpc_error(error) from None

    def track(self, scope: str, events: Iterable[dict | pb.TrackEvent]) -> list[str]:
        request = pb.TrackRequest(scope=scope, events=[_as_event(e) for e in events])
        return list(self._call(self.stub.Track, request).track_ids)

    def track_stream(self, scope: str, batches: Iterable[Iterable[dict | pb.TrackEvent]]) -> list[str]:
        def requests() -> Iterator[pb.TrackStreamRequest]:
            for batch in batches:
                yield pb.TrackStreamRequest(scope=scope, events=[_as_event(e) for e in batch])

        return list(self._call(self.stub.TrackStream, requests()).track_ids)

    def preview(self, scope: str, query: str) -> dict:
        response = self._call(self.stub.Preview, pb.PreviewRequest(scope=scope, query=query))
        return {
            "columns": [{"name": c.name, "type": c.type} for c in response.columns],
            "items": _struct_items(response.items, [c.name for c in response.columns]),
            "count": response.count,
            "truncated": response.truncated,
        }

    def list(self, scope: str, filter: str = "", orderby: str = "",
             skip: int | None = None, top: int | None = None) -> dict:
        request = pb.ListRequest(scope=scope, filter=filter, orderby=orderby)
        if skip is not None:
            request.skip = skip
        if top is not None:
            request.top = top
        response = self._call(self.stub.List, request)
        return {"items": _struct_items(response.items, EVENT_FIELD_ORDER), "count": response.count}

    def delete(self, scope: str, track_id: str) -> str:
        response = self._call(self.stub.Delete, pb.DeleteRequest(scope=scope, track_id=track_id))
        return response.track_id

    def batch_delete(self, scope: str, track_ids: list[str],
                     allow_missing: bool = False) -> list[str]:
        """Deletes up to 1000 events at once, all or none; returns the TrackIds deleted."""
        response = self._call(self.stub.BatchDelete, pb.BatchDeleteRequest(
            scope=scope, track_ids=track_ids, allow_missing=allow_missing))
        return list(response.track_ids)

    def compact(self) -> dict:
        response = self._call(self.admin.Compact, admin_pb.CompactRequest())
        return {"applied_deletions": response.applied_deletions, "seconds": response.seconds}

    def stats(self) -> dict:
        response = self._call(self.admin.GetStoreStats, admin_pb.GetStoreStatsRequest())
        return {
            field.name: (list(value) if field.is_repeated else value)
            for field in response.DESCRIPTOR.fields
            for value in [getattr(response, field.name)]
        }


def _as_event(event) -> pb.TrackEvent:
    return event if isinstance(event, pb.TrackEvent) else event_from_json(event)
