"""A gRPC server whose Track does nothing: the ceiling of unary calls on this machine.

grpc's thread-pool server with trackstore's options and pool size (server/api/app.py
`grpc_server`): the ceiling the issues' targets were set against. Trackstore itself now serves
on grpc.aio's event loop (server/api/loop_server.py), which answered a constant 4-27% faster
than this in bench/aio_probe.py's runs. One method at trackstore's Track path that neither
parses the request nor touches storage and answers a pre-serialized TrackResponse with one
TrackId, so the ingest phase's unary client counts one event per call. Prints
`noop listening on 127.0.0.1:PORT` and serves until killed.
"""
from __future__ import annotations

import signal
import threading

from contract import EVENTS_SERVICE, add_raw_handlers
from trackstore.v1 import trackevents_pb2 as pb
from trackstore_server.api.app import grpc_server

RESPONSE = pb.TrackResponse(track_ids=["00000000-0000-7000-8000-000000000000"]).SerializeToString()


def main() -> None:
    server = grpc_server()
    add_raw_handlers(server, EVENTS_SERVICE, {"Track": lambda request, context: RESPONSE})
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
