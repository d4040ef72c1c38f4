"""A tiny fake trackstore server for the client's retry tests: Track and Preview answer from a
script of failures (a status code, and a RetryInfo delay if given) and then succeed."""
from __future__ import annotations

import concurrent.futures
import datetime
import threading
import time

import grpc
import pytest
from google.protobuf import any_pb2, duration_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from trackstore.v1 import trackevents_pb2 as pb

SERVICE = "trackstore.v1.TrackEventsService"


class FakeServer:
    def __init__(self):
        self.failures: list[tuple[grpc.StatusCode, float | None]] = []
        self.calls: list[tuple[float, str, object]] = []  # (monotonic time, method, request)
        self.delay = 0.0  # seconds each call waits before answering
        self._lock = threading.Lock()
        self._server = grpc.server(concurrent.futures.ThreadPoolExecutor(8))
        self._server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, {
            "Track": self._handler(self._track, pb.TrackRequest),
            "Preview": self._handler(self._preview, pb.PreviewRequest),
        }),))
        self.port = self._server.add_insecure_port("127.0.0.1:0")
        self.target = f"127.0.0.1:{self.port}"

    def fail(self, code: grpc.StatusCode, times: int = 1, retry_delay: float | None = None):
        self.failures.extend([(code, retry_delay)] * times)

    def _handler(self, answer, request_type):
        def handle(request, context):
            with self._lock:
                self.calls.append((time.monotonic(), answer.__name__, request))
                failure = self.failures.pop(0) if self.failures else None
            time.sleep(self.delay)
            if failure is not None:
                _abort(context, *failure)
            return answer(request)

        return grpc.unary_unary_rpc_method_handler(
            handle, request_deserializer=request_type.FromString,
            response_serializer=lambda message: message.SerializeToString())

    @staticmethod
    def _track(request):
        return pb.TrackResponse(track_ids=[e.track_id or "server-made" for e in request.events])

    @staticmethod
    def _preview(request):
        return pb.PreviewResponse(columns=[pb.Column(name="Count", type="long")], count=0)

    def track_ids(self) -> list[list[str]]:
        return [[e.track_id for e in request.events]
                for _, method, request in self.calls if method == "_track"]

    def __enter__(self):
        self._server.start()
        return self

    def __exit__(self, *exc):
        self._server.stop(None)


def _abort(context, code: grpc.StatusCode, retry_delay: float | None):
    details = []
    if retry_delay is not None:
        delay = duration_pb2.Duration()
        delay.FromTimedelta(datetime.timedelta(seconds=retry_delay))
        packed = any_pb2.Any()
        packed.Pack(error_details_pb2.RetryInfo(retry_delay=delay))
        details.append(packed)
    status = status_pb2.Status(code=code.value[0], message=f"scripted {code.name}",
                               details=details)
    context.abort_with_status(rpc_status.to_status(status))


@pytest.fixture
def fake_server():
    with FakeServer() as server:
        yield server
