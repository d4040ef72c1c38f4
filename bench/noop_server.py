"""A gRPC server whose Track does nothing: the ceiling of unary calls on this machine.

Same gRPC server as trackstore's (server/app.py `grpc_server`: thread pool, options), one
method at trackstore's Track path that neither parses the request nor touches storage and
answers a pre-serialized TrackResponse with one TrackId, so bench/run.py's unary_events client
counts one event per call. Prints `noop listening on 127.0.0.1:PORT` and serves until killed.
"""
from __future__ import annotations

import signal
import threading

import grpc

from trackstore.v1 import trackevents_pb2 as pb
from trackstore_server.app import grpc_server

RESPONSE = pb.TrackResponse(track_ids=["00000000-0000-7000-8000-000000000000"]).SerializeToString()


def main() -> None:
    server = grpc_server()
    handler = grpc.unary_unary_rpc_method_handler(
        lambda request, context: RESPONSE,
        request_deserializer=None, response_serializer=None)  # bytes in, bytes out
    service = "trackstore.v1.TrackEventsService"
    # Registered as server/fast_decode.add_track_service registers trackstore's methods.
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(
        service, {"Track": handler}),))
    server.add_registered_method_handlers(service, {"Track": handler})
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(f"noop listening on 127.0.0.1:{port}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    server.stop(None)


if __name__ == "__main__":
    main()
