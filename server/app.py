"""Builds and runs the gRPC server: service, health checking, reflection, auth, TLS."""
from __future__ import annotations

import logging
import signal
import threading
import time
from concurrent import futures
from dataclasses import dataclass

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from trackstore.v1 import admin_pb2 as admin_pb
from trackstore.v1 import admin_pb2_grpc as admin_grpc
from trackstore.v1 import trackevents_pb2 as pb

from .auth import ApiKeys, AuthInterceptor
from .config import Settings
from .engine import Engine
from .fast_decode import add_track_service
from .servicer import AdminServicer, TrackEventsServicer
from .store import StoreFormatNewer

log = logging.getLogger("trackstore.server")

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["TrackEventsService"].full_name
ADMIN_SERVICE_NAME = admin_pb.DESCRIPTOR.services_by_name["AdminService"].full_name
MAX_MESSAGE_BYTES = 64 * 1024 * 1024
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}


@dataclass
class RunningServer:
    server: grpc.Server
    port: int
    engine: Engine
    health: health.HealthServicer

    def stop(self, grace: float | None = 5.0, drain_seconds: float = 0.0) -> None:
        """Drains: health says NOT_SERVING for `drain_seconds` while calls are still served (so
        load balancers move away), then new calls are refused, calls in flight get `grace`
        seconds, and the store closes (flushing the write-ahead log into the lake)."""
        self.health.enter_graceful_shutdown()
        time.sleep(drain_seconds)
        self.server.stop(grace).wait()
        self.engine.close()


def _set_health(health_servicer, status) -> None:
    for service in ("", SERVICE_NAME):
        health_servicer.set(service, status)


def grpc_server(interceptors=()) -> grpc.Server:
    """The gRPC server with our thread pool and options (bench/noop_server.py uses it too)."""
    return grpc.server(
        futures.ThreadPoolExecutor(max_workers=32, thread_name_prefix="rpc"),
        interceptors=list(interceptors),
        options=[
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
        ],
    )


def create_server(settings: Settings) -> RunningServer:
    keys = ApiKeys.load(settings.api_keys_file) if settings.api_keys_file else None
    if keys is None and settings.host not in LOOPBACK_HOSTS:
        raise SystemExit(
            f"refusing to listen on {settings.host} without API keys; "
            f"configure --api-keys-file or listen on 127.0.0.1"
        )
    server = grpc_server([AuthInterceptor(keys)] if keys else [])
    servicer = TrackEventsServicer()
    add_track_service(servicer, server)  # the generated one, with fast_decode for Track(Stream)
    admin_grpc.add_AdminServiceServicer_to_server(AdminServicer(servicer), server)
    health_servicer = health.HealthServicer()
    _set_health(health_servicer, health_pb2.HealthCheckResponse.NOT_SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        (SERVICE_NAME, ADMIN_SERVICE_NAME, health.SERVICE_NAME, reflection.SERVICE_NAME), server
    )
    address = f"{settings.host}:{settings.port}"
    if settings.tls_cert or settings.tls_key:
        with open(settings.tls_key, "rb") as key, open(settings.tls_cert, "rb") as cert:
            credentials = grpc.ssl_server_credentials([(key.read(), cert.read())])
        port = server.add_secure_port(address, credentials)
    else:
        port = server.add_insecure_port(address)
    if port == 0:
        raise SystemExit(f"cannot listen on {address}")
    # Listen first so health answers NOT_SERVING while the store opens.
    server.start()
    try:
        engine = Engine(settings)
    except StoreFormatNewer as error:
        server.stop(None)
        raise SystemExit(f"cannot open the store: {error.message}") from None
    except BaseException:
        server.stop(None)
        raise
    servicer.engine = engine
    _set_health(health_servicer, health_pb2.HealthCheckResponse.SERVING)
    if keys is None:
        log.warning(
            "no API keys configured: the server is open, listening on %s:%d only",
            settings.host, port,
        )
    log.info("trackstore serving on %s:%d, data in %s", settings.host, port, settings.data_dir)
    return RunningServer(server, port, engine, health_servicer)


def serve(settings: Settings) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    running = create_server(settings)
    stopping = threading.Event()

    def on_signal(signum, _frame):
        log.info("received %s, shutting down", signal.Signals(signum).name)
        stopping.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    # Print the bound port (useful with --port 0) in a line scripts can read.
    print(f"trackstore listening on {settings.host}:{running.port}", flush=True)
    stopping.wait()
    running.stop(drain_seconds=settings.drain_seconds)
    log.info("stopped")
