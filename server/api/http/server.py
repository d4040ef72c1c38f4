"""uvicorn serving the HTTP application on a thread and event loop of its own, beside the gRPC
server in the same process (the same engine, keys and limits).

The socket is bound before the thread starts, so a port in use is an error of `start`, in the
caller's thread, like the gRPC port's.
"""
from __future__ import annotations

import logging
import socket
import threading
import time

import uvicorn

from ...config import Settings

STARTUP_SECONDS = 30.0
# uvicorn's own lines (process started, shutting down) say nothing the server's log does not;
# its warnings and errors still show. Requests are logged by calls.py.
logging.getLogger("uvicorn.error").setLevel(logging.WARNING)


def _bind(host: str, port: int) -> socket.socket:
    family, kind, proto, _, address = socket.getaddrinfo(
        host.strip("[]"), port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


class HttpServer:
    def __init__(self, app, settings: Settings):
        self._socket = _bind(settings.host, settings.http_port)
        self.port: int = self._socket.getsockname()[1]
        self.scheme = "https" if settings.tls_cert else "http"
        config = uvicorn.Config(
            app, log_config=None, access_log=False, lifespan="off", server_header=False,
            ssl_certfile=settings.tls_cert or None, ssl_keyfile=settings.tls_key or None,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, args=([self._socket],),
                                        name="http", daemon=True)

    def start(self) -> "HttpServer":
        """Serves from now on; raises RuntimeError if uvicorn does not start."""
        self._thread.start()
        deadline = time.monotonic() + STARTUP_SECONDS
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop(0)
                raise RuntimeError("the HTTP server did not start (see the log)")
            time.sleep(0.01)
        return self

    def stop(self, grace: float | None = 5.0) -> None:
        """Stops taking connections; requests in flight get `grace` seconds to finish (None:
        none, as gRPC's `stop(None)`)."""
        self._server.config.timeout_graceful_shutdown = grace or 0
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join()
        self._socket.close()
