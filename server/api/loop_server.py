"""The gRPC server: grpc.aio's, on an event loop of its own thread, behind the synchronous face
the rest of the server and the tests use (start, stop, ports, handlers).

Why asyncio: in grpc's thread-pool server every call is handed from the poller thread to a
pool thread and its answer back, each hand-off a wait for the GIL. For a call that answers
from memory in microseconds (IsInSegment), those hand-offs are most of its cost; on the loop
it is answered where it arrives (bench/NOTES.md#one-event-loop-for-every-call). Methods that
block (DuckDB, fsync) still run on a pool thread (`rpc.py` says which run where); grpc's own
services written for the thread-pool server (health, reflection) run on the same pool.
"""
from __future__ import annotations

import asyncio
import threading
from concurrent import futures

import grpc

# Threads for the methods that block; as many as the thread-pool server had.
POOL_THREADS = 32


class LoopServer:
    def __init__(self, options: list[tuple[str, object]]):
        self._pool = futures.ThreadPoolExecutor(POOL_THREADS, thread_name_prefix="rpc")
        self._loop = asyncio.new_event_loop()
        self._loop.set_default_executor(self._pool)
        self._thread = threading.Thread(target=self._loop.run_forever, name="grpc-loop",
                                        daemon=True)
        self._thread.start()
        self._stopped: threading.Event | None = None
        self._server = self._on_loop(self._create(options))

    async def _create(self, options) -> grpc.aio.Server:
        # grpc.aio binds a server to the loop it is created on.
        return grpc.aio.server(migration_thread_pool=self._pool, options=options)

    def _on_loop(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def _call(self, function, *args):
        async def call():
            return function(*args)
        return self._on_loop(call())

    def add_generic_rpc_handlers(self, handlers) -> None:
        self._call(self._server.add_generic_rpc_handlers, handlers)

    def add_registered_method_handlers(self, service: str, handlers) -> None:
        self._call(self._server.add_registered_method_handlers, service, handlers)

    def add_insecure_port(self, address: str) -> int:
        return self._call(self._server.add_insecure_port, address)

    def add_secure_port(self, address: str, credentials) -> int:
        return self._call(self._server.add_secure_port, address, credentials)

    def start(self) -> None:
        self._on_loop(self._server.start())

    def stop(self, grace: float | None) -> threading.Event:
        """Refuses new calls, gives calls in flight `grace` seconds (None: none), then ends
        the loop's thread; the event is set once all that is done. Stopping again answers the
        first stop's event."""
        if self._stopped is not None:
            return self._stopped
        stopped = self._stopped = threading.Event()
        stopping = asyncio.run_coroutine_threadsafe(self._server.stop(grace), self._loop)

        def finish(_future) -> None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()
            self._loop.close()
            self._pool.shutdown(wait=False)
            stopped.set()

        # Not on the loop's thread: `finish` joins it.
        stopping.add_done_callback(lambda future: threading.Thread(
            target=finish, args=(future,), name="grpc-stop", daemon=True).start())
        return stopped
