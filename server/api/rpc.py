"""One gRPC call, from request to status, as the event loop of loop_server.py serves it: where
the method runs, how its errors become statuses, its access-log line.

A method is written `method(self, request, context, call)`, `call` being the access log's
entry. Where it runs, by what it does:
- plain code that blocks (DuckDB, fsync, a lock a flush holds) runs on a pool thread;
- `@rpc(inline=True)`: plain code that answers from memory in microseconds (IsInSegment) runs
  on the loop, where the call arrived: no thread hand-off, which under the GIL costs more than
  such an answer (bench/NOTES.md#one-event-loop-for-every-call);
- `async def`: runs on the loop and awaits what blocks (Track's group commit).
Its `context` is a CallContext (what the methods ask of a call, usable from any thread), but
grpc's own for an inline method, which has no use for it.
"""
from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
import threading
import time

import grpc
from grpc_status import rpc_status

from ..errors import BadRequest
from . import access_log
from .registration import Undecodable, checked
from .status import grpc_code, to_status


class CallContext:
    """The call as a method sees it: its deadline, its metadata, and callbacks run if the
    client cancels it (to interrupt a query on a pool thread)."""

    __slots__ = ("_context", "_lock", "_callbacks", "_ended")

    def __init__(self, context: grpc.aio.ServicerContext):
        self._context = context
        self._lock = threading.Lock()
        self._callbacks: list = []
        self._ended = False

    def time_remaining(self) -> float | None:
        return self._context.time_remaining()

    def invocation_metadata(self):
        return self._context.invocation_metadata()

    def add_callback(self, callback) -> bool:
        """As grpc.ServicerContext.add_callback: False when the call has already ended."""
        with self._lock:
            if self._ended:
                return False
            self._callbacks.append(callback)
            return True

    def end(self, cancelled: bool) -> None:
        with self._lock:
            self._ended = True
            callbacks, self._callbacks = self._callbacks, []
        if cancelled:
            for callback in callbacks:
                callback()


def rpc(inline: bool = False):
    """Runs the method where its kind says (module docstring), maps every exception to a
    status (status.py) and writes one access-log line per call: method, scope, status,
    duration and row count; never event contents or keys."""

    def decorate(method):
        run = None if inline else _runner(method)

        @functools.wraps(method)
        async def handler(self, request, context):
            started = time.monotonic()
            call = {"method": method.__name__, "scope": None, "rows": 0}
            code = grpc.StatusCode.OK
            view = None
            try:
                if run is None:  # no coroutine or CallContext of its own: calls are many
                    return method(self, checked(request), context, call)  # a unary method
                view = CallContext(context)
                return await run(self, _decoded(request), view, call)
            except asyncio.CancelledError:  # the client cancelled, or its deadline passed
                code = grpc.StatusCode.CANCELLED
                if view is not None:
                    view.end(cancelled=True)
                raise
            except Exception as error:  # noqa: BLE001 - every error is mapped, none leaks
                status = to_status(error)
                code = grpc_code(status)
                await abort_with(context, status)
            finally:
                call["ms"] = round((time.monotonic() - started) * 1000, 2)
                if view is not None:
                    view.end(cancelled=False)
                call["status"] = code.name
                access_log.write_soon(call)

        return handler

    return decorate


def _runner(method):
    if inspect.iscoroutinefunction(method):
        return method

    async def on_pool(self, request, context, call):
        if _is_stream(request):  # a client stream, read by a thread
            request = _BlockingStream(request, asyncio.get_running_loop())
        return await in_pool(method, self, request, context, call)
    return on_pool


async def in_pool(function, *args):
    """`function(*args)` on a pool thread, with this call's context variables (the caller's
    principal, auth.py)."""
    context = contextvars.copy_context()
    return await asyncio.get_running_loop().run_in_executor(
        None, functools.partial(context.run, function, *args))


async def abort_with(context: grpc.aio.ServicerContext, status) -> None:
    """Ends the call with `status` (google.rpc.Status, details included); raises."""
    status = rpc_status.to_status(status)
    await context.abort(status.code, status.details, status.trailing_metadata)


def _decoded(request):
    """The request, or its stream of messages, raising the BadRequest of a message the server
    could not parse (registration.Undecodable)."""
    request = checked(request)
    return _decoded_stream(request) if _is_stream(request) else request


def _is_stream(request) -> bool:
    # On the type: a message's own attribute lookup raises inside for every name it lacks.
    return hasattr(type(request), "__anext__")


async def _decoded_stream(requests):
    index = 0
    async for request in requests:
        if type(request) is Undecodable:
            error = request.error
            raise BadRequest(f"message {index}: {error.message}", error.violations,
                             reason=error.reason)
        yield request
        index += 1


class _BlockingStream:
    """A client stream read from a pool thread, a message at a time from the loop."""

    def __init__(self, messages, loop: asyncio.AbstractEventLoop):
        self._messages = messages
        self._loop = loop

    def __iter__(self):
        return self

    def __next__(self):
        try:
            return asyncio.run_coroutine_threadsafe(self._next(), self._loop).result()
        except StopAsyncIteration:
            raise StopIteration from None

    async def _next(self):
        return await anext(self._messages)
