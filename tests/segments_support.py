"""Calls of the FilterDefinitionService and SegmentService for the end-to-end tests, as raw
request messages through a trackstore Client's callables (a failure is the client's
TrackstoreError), so a test can send any field of any message; tests/client/test_segments.py
tests the client's own segment methods."""
from __future__ import annotations

import datetime as dt
import time

import grpc
from google.rpc import error_details_pb2

from helpers import detail, error_reason
from trackstore.errors import from_rpc_error
from trackstore.v1 import segments_pb2 as spb
from trackstore_client import TrackstoreError

TYPES = {name.removeprefix("PARAMETER_TYPE_").lower(): number
         for name, number in spb.ParameterType.items() if number}


def value(kind: str, python) -> spb.ParameterValue:
    """A ParameterValue with `python` in the field of `kind` (bool, datetime, ..., timespan)."""
    message = spb.ParameterValue()
    field = f"{kind}_value"
    if isinstance(python, dt.datetime):
        getattr(message, field).FromDatetime(python)
    elif isinstance(python, dt.timedelta):
        getattr(message, field).FromTimedelta(python)
    else:
        setattr(message, field, python)
    return message


def definition(name: str, query: str, **types: str) -> spb.FilterDefinition:
    return spb.FilterDefinition(name=name, query=query, parameters=[
        spb.FilterParameter(name=n, type=TYPES[t]) for n, t in types.items()])


class Api:
    """One scope's definitions and segments on a server, and its events through the client."""

    def __init__(self, server, scope: str = "shop", **client_options):
        self.client = server.client(**client_options)
        self.scope = scope

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.client.close()

    def call(self, method: str, **fields):
        """`method` of the service that has it, with `fields` and this scope."""
        calls = self.client.client  # the trackstore.Client under the first client's interface
        request = getattr(spb, f"{method}Request")(scope=self.scope, **fields)
        try:
            return calls._methods[method](request, timeout=calls._timeout(method, None),
                                          metadata=calls._metadata)
        except grpc.RpcError as error:
            raise from_rpc_error(error) from None

    def track(self, events: list[dict]) -> list[str]:
        return self.client.track(self.scope, events)

    def create_definition(self, name: str, query: str, **types: str) -> spb.FilterDefinition:
        return self.call("CreateFilterDefinition",
                         filter_definition=definition(name, query, **types)).filter_definition

    def create_segment(self, name: str, filter_definition: str, **values) -> spb.Segment:
        """`values`: name -> ParameterValue."""
        return self.call("CreateSegment", segment=spb.Segment(
            name=name, filter_definition=filter_definition, parameters=values)).segment

    def segment(self, name: str) -> spb.Segment:
        return self.call("GetSegment", name=name).segment

    def refreshed(self, name: str, timeout: float = 60.0) -> spb.Segment:
        """Asks for a refresh and waits until the segment holds it."""
        asked = self.call("RefreshSegment", name=name).request_time
        return self.wait(name, lambda s: s.computed_at.ToDatetime() >= asked.ToDatetime()
                         and s.HasField("computed_at"), timeout)

    def wait(self, name: str, condition, timeout: float = 60.0) -> spb.Segment:
        deadline = time.monotonic() + timeout
        while True:
            segment = self.segment(name)
            if condition(segment):
                return segment
            assert time.monotonic() < deadline, f"segment {name} stayed {segment}"
            time.sleep(0.1)

    def devices(self, name: str, fresh: bool = False, page_size: int = 0) -> list[str]:
        """Every DeviceId of the segment, page by page."""
        found, token = [], ""
        while True:
            page = self.call("EvaluateSegment", name=name, fresh=fresh, page_size=page_size,
                             page_token=token)
            found.extend(page.device_ids)
            token = page.next_page_token
            if not token:
                return found

    def is_in(self, device: str, *segments: str) -> list[bool]:
        return list(self.call("IsInSegment", device_id=device, segments=segments).in_segment)


def violations(error: TrackstoreError) -> dict[str, str]:
    """field -> description of a failed call's BadRequest."""
    found = detail(error, error_details_pb2.BadRequest)
    return {v.field: v.description for v in found.field_violations} if found else {}


def refused(error: TrackstoreError) -> tuple[grpc.StatusCode, str | None]:
    return error.code, error_reason(error)
