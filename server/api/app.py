"""Builds and runs the gRPC server: services, health checking, reflection, auth, TLS; and
beside it, on the same engine and keys, the HTTP server (server/api/http/: the Profile Store's
HTTP API and the events console) unless `--http-port 0`.

`create_server` returns a running server (tests bind port 0) or raises CannotStart; only
`serve`, the entry point, ends the process: exit status 1 when the server cannot start, and
EXIT_STORAGE_FAILED once the storage engine failed.
"""
from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from concurrent import futures
from dataclasses import dataclass
from typing import Callable

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from ..config import Settings
from ..engine import Engine
from ..errors import StoreFormatNewer
from ..glibc_heap import fix_mmap_threshold
from ..limits import MAX_MESSAGE_BYTES
from . import access_log
from .auth import ApiKeys, KeyFileError, authenticating
from ..exports.service import Exports
from .export_servicer import ExportServicer, ImportServicer
from .http.app import create_app
from .http.calls import Edge
from .http.server import HttpServer
from .loop_server import LoopServer
from .registration import register
from .segments import FilterDefinitionServicer, SegmentServicer
from .servicer import AdminServicer, TrackEventsServicer

log = logging.getLogger("trackstore.server")

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
# After a fatal storage error: the status a supervisor sees, and how long the failing calls'
# answers have to go out first.
EXIT_STORAGE_FAILED = 70
STORAGE_FAILURE_ANSWER_SECONDS = 0.5
# How often the main thread wakes to run signal handlers another thread received.
SIGNAL_CHECK_SECONDS = 0.2


class CannotStart(Exception):
    """The settings or the store do not allow the server to start; the message says why."""


@dataclass
class RunningServer:
    server: LoopServer
    port: int
    engine: Engine
    health: health.HealthServicer
    exports: Exports | None = None
    http: HttpServer | None = None
    keys: ApiKeys | None = None

    def stop(self, grace: float | None = 5.0, drain_seconds: float = 0.0) -> None:
        """Drains: health says NOT_SERVING for `drain_seconds` while calls are still served (so
        load balancers move away), then new calls are refused, calls in flight get `grace`
        seconds, and the store closes (flushing the write-ahead log into the lake)."""
        self.health.enter_graceful_shutdown()
        time.sleep(drain_seconds)
        stopped = self.server.stop(grace)
        if self.http is not None:
            self.http.stop(grace)
        stopped.wait()
        if self.exports is not None:
            self.exports.close()
        self.engine.close()


def _set_health(health_servicer, status) -> None:
    for service in ("", TrackEventsServicer.SERVICE.full_name):
        health_servicer.set(service, status)


SERVER_OPTIONS = [
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
]


def grpc_server() -> grpc.Server:
    """grpc's thread-pool server with our options and as many threads as the loop server's
    pool: the reference bench/noop_server.py measures the no-op ceiling with."""
    return grpc.server(futures.ThreadPoolExecutor(max_workers=32, thread_name_prefix="rpc"),
                       options=SERVER_OPTIONS)


def _api_keys(settings: Settings) -> ApiKeys | None:
    try:
        keys = ApiKeys.load(settings.api_keys_file) if settings.api_keys_file else None
    except KeyFileError as error:
        raise CannotStart(str(error)) from None
    if keys is None and settings.host not in LOOPBACK_HOSTS:
        raise CannotStart(
            f"refusing to listen on {settings.host} without API keys; "
            f"configure --api-keys-file or listen on 127.0.0.1"
        )
    return keys


def _listen(server: LoopServer, settings: Settings) -> int:
    address = f"{settings.host}:{settings.port}"
    if settings.tls_cert or settings.tls_key:
        with open(settings.tls_key, "rb") as key, open(settings.tls_cert, "rb") as cert:
            credentials = grpc.ssl_server_credentials([(key.read(), cert.read())])
        port = server.add_secure_port(address, credentials)
    else:
        port = server.add_insecure_port(address)
    if port == 0:
        raise CannotStart(f"cannot listen on {address}")
    return port


def _start_http(settings: Settings, keys: ApiKeys | None) -> tuple[Edge, HttpServer | None]:
    """The HTTP server, serving (its calls wait for `edge.engine`: until then they are
    UNAVAILABLE, 503), or None with `--http-port 0`."""
    edge = Edge(keys)
    if settings.http_port == 0:
        return edge, None
    try:
        return edge, HttpServer(create_app(edge), settings).start()
    except (OSError, RuntimeError) as error:
        raise CannotStart(f"cannot serve HTTP on {settings.host}:{settings.http_port}: "
                          f"{error}; choose another --http-port (0 disables HTTP)") from None


def create_server(settings: Settings,
                  on_storage_failure: Callable[[BaseException], None] | None = None
                  ) -> RunningServer:
    """The server, listening and serving; `on_storage_failure(error)` hears of a fatal error of
    the storage engine (by default it is logged). Raises CannotStart."""
    keys = _api_keys(settings)
    server = LoopServer(SERVER_OPTIONS)
    servicer = TrackEventsServicer()
    export_servicer = ExportServicer(servicer)
    services = register(server, [servicer, AdminServicer(servicer), export_servicer,
                                 ImportServicer(servicer), FilterDefinitionServicer(servicer),
                                 SegmentServicer(servicer)],
                        authenticating(keys) if keys else lambda behavior: behavior)
    health_servicer = health.HealthServicer()
    _set_health(health_servicer, health_pb2.HealthCheckResponse.NOT_SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        (*services, health.SERVICE_NAME, reflection.SERVICE_NAME), server)
    port = _listen(server, settings)
    # Listen first so health answers NOT_SERVING while the store opens.
    server.start()
    http_server = None
    try:
        edge, http_server = _start_http(settings, keys)
        engine = Engine(settings, on_storage_failure)
    except BaseException as error:
        server.stop(None)
        if http_server is not None:
            http_server.stop(None)
        if isinstance(error, StoreFormatNewer):
            raise CannotStart(f"cannot open the store: {error.message}") from None
        raise
    export_servicer.exports = Exports(engine, settings)
    servicer.engine = edge.engine = engine
    _set_health(health_servicer, health_pb2.HealthCheckResponse.SERVING)
    if keys is None:
        log.warning(
            "no API keys configured: the server is open, listening on %s:%d only",
            settings.host, port,
        )
    log.info("trackstore serving on %s:%d, data in %s", settings.host, port, settings.data_dir)
    return RunningServer(server, port, engine, health_servicer, export_servicer.exports,
                         http_server, keys)


def serve(settings: Settings) -> None:
    logging.basicConfig(level=logging.INFO, format=access_log.LOG_FORMAT)
    fix_mmap_threshold()  # before the store grows: server/glibc_heap.py
    access_log.write_directly(sys.stderr.fileno())
    stopping = threading.Event()
    failed: list[BaseException] = []

    def on_storage_failure(error: BaseException) -> None:
        # DuckDB invalidates the database after a fatal error: every later call would fail.
        # Exit so the supervisor restarts the server; acknowledged events are in the log or
        # the lake.
        log.critical("storage engine failed: %s; exiting", error)
        failed.append(error)
        stopping.set()

    try:
        running = create_server(settings, on_storage_failure)
    except CannotStart as error:
        raise SystemExit(str(error)) from None

    def on_signal(signum, _frame):
        log.info("received %s, shutting down", signal.Signals(signum).name)
        stopping.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    if running.keys is not None:  # rotated keys take effect without a restart
        signal.signal(signal.SIGHUP, lambda _signum, _frame: running.keys.reload())
    # Print the bound port (useful with --port 0) in a line scripts can read.
    print(f"trackstore listening on {settings.host}:{running.port}", flush=True)
    if running.http is not None:
        print(f"trackstore HTTP API and events console on "
              f"{running.http.scheme}://{settings.host}:{running.http.port}/", flush=True)
    # A signal sent to the process may be taken by any of its threads; Python runs the handler
    # on the main thread at its next bytecode, so the main thread must not sleep unbounded
    # (a SIGHUP's key reload waited for the next signal that happened to wake it).
    while not stopping.wait(SIGNAL_CHECK_SECONDS):
        pass
    if failed:
        time.sleep(STORAGE_FAILURE_ANSWER_SECONDS)
        os._exit(EXIT_STORAGE_FAILED)
    running.stop(drain_seconds=settings.drain_seconds)
    log.info("stopped")
