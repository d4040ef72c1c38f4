"""One HTTP call from request to response, as `rpc()` (rpc.py) is for a gRPC call: the key
is authenticated, the route runs, any error becomes its status and body (error_body.py), and one
access-log line is written (method, scope, status, duration, rows; never contents or keys).

Engine calls block, so they run in the thread pool with the caller's principal; a read whose
client disconnects is interrupted inside DuckDB, as a cancelled gRPC call's is.
"""
from __future__ import annotations

import asyncio
import functools
import json
import threading
import time
from typing import Awaitable, Callable, Mapping, TypeVar

import orjson
from google.rpc import code_pb2
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ...engine import Engine
from ...errors import BadRequest, FieldViolation, Starting
from ...event_batch import normalize_scope
from ...limits import MAX_MESSAGE_BYTES
from .. import access_log
from ..auth import OPEN_ACCESS, ApiKeys, Principal, acting_as, authorized_scope
from ..status import domain_error, status_code
from .error_body import error_response

T = TypeVar("T")

# Media types read as JSON: the Profile Store's documented preview request is sent as
# application/json-patch+json.
JSON_MEDIA_SUFFIXES = ("/json", "+json")


class Edge:
    """What every route shares: the engine (None until the store is open) and the API keys."""

    def __init__(self, keys: ApiKeys | None):
        self.keys = keys
        self.engine: Engine | None = None

    def principal(self, request: Request) -> Principal:
        if self.keys is None:
            return OPEN_ACCESS
        header = request.headers.get("authorization")
        return self.keys.authenticate([] if header is None else [("authorization", header)])

    def ready_engine(self) -> Engine:
        if self.engine is None:
            raise Starting()
        return self.engine


class Cancellation:
    """The `on_cancel` of an engine read: what to call when the client goes away."""

    def __init__(self):
        self._lock = threading.Lock()
        self._callbacks: list[Callable[[], None]] = []
        self._cancelled = False

    def register(self, callback: Callable[[], None]) -> bool:
        """False once the client has gone (gRPC's add_callback answers the same)."""
        with self._lock:
            if not self._cancelled:
                self._callbacks.append(callback)
            return not self._cancelled

    def cancel(self) -> None:
        with self._lock:
            self._cancelled = True
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback()


class Call:
    """A route's view of its call: the request, the engine, and its access-log line."""

    def __init__(self, request: Request, engine: Engine, log: dict):
        self.request = request
        self.engine = engine
        self.log = log

    def scope(self, scope: str) -> str:
        """The call's scope, checked against the key."""
        self.log["scope"] = normalize_scope(scope)
        return authorized_scope(scope)

    async def run(self, work: Callable[[Cancellation], T]) -> T:
        """`work(cancellation)` in the thread pool; cancelled if the client disconnects first."""
        cancellation = Cancellation()
        working = asyncio.ensure_future(run_in_threadpool(work, cancellation))
        watching = asyncio.ensure_future(_disconnect(self.request))
        try:
            await asyncio.wait({working, watching}, return_when=asyncio.FIRST_COMPLETED)
            if not working.done():
                cancellation.cancel()
        finally:
            watching.cancel()
        return await working

    async def json_body(self):
        """The request body as JSON (at most MAX_MESSAGE_BYTES, as over gRPC)."""
        media = self.request.headers.get("content-type", "application/json").split(";")[0]
        if not media.strip().lower().endswith(JSON_MEDIA_SUFFIXES):
            raise BadRequest(f"the body must be JSON (Content-Type application/json), "
                             f"got {media}", [FieldViolation("Content-Type", "not JSON")])
        body = bytearray()
        async for chunk in self.request.stream():
            body += chunk
            if len(body) > MAX_MESSAGE_BYTES:
                raise BadRequest(f"the body is larger than {MAX_MESSAGE_BYTES} bytes",
                                 [FieldViolation("body", "too large")])
        return _parse_json(bytes(body))


def _parse_json(body: bytes):
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        pass
    # The Profile Store's .NET reader takes line breaks inside strings, and its documented
    # preview request has them (a KQL query over several lines): so does this, but it takes
    # nothing else orjson refuses (NaN, integers beyond 64 bits).
    try:
        parsed = json.loads(body, strict=False, parse_constant=_not_json, parse_int=_int64)
        orjson.dumps(parsed)  # refuses lone surrogates ("\ud800"), which orjson never reads
    except ValueError as error:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        where = (f"line {error.lineno}, column {error.colno}: {error.msg}"
                 if isinstance(error, json.JSONDecodeError) else str(error))
        raise BadRequest(f"the body is not valid JSON: {where}",
                         [FieldViolation("body", "not valid JSON")]) from None
    except (RecursionError, orjson.JSONEncodeError) as error:
        raise BadRequest(f"the body is not JSON trackstore reads: {error}",
                         [FieldViolation("body", "not valid JSON")]) from None
    return parsed


def _not_json(name: str):
    raise ValueError(f"{name} is not a JSON value")


def _int64(text: str) -> int:
    value = int(text)
    if not -(1 << 63) <= value < (1 << 64):
        raise ValueError(f"the integer {text} is beyond 64 bits")
    return value


async def _disconnect(request: Request) -> None:
    # Once the body is read, the next ASGI message of a request is its disconnect.
    while (await request.receive())["type"] != "http.disconnect":
        pass


Route = Callable[[Call], Awaitable[Response]]


def endpoint(name: str, names: Mapping[str, str] = {}):
    """A route named `name` in the access log; `names` maps the gRPC request fields its errors
    may blame to the route's own names (`filter` -> `$filter`)."""

    def decorate(route: Route):
        @functools.wraps(route)
        async def serve(request: Request) -> Response:
            started = time.monotonic()
            log = {"method": name, "transport": "http", "scope": None, "rows": 0}
            code = code_pb2.OK
            try:
                edge: Edge = request.app.state.edge
                with acting_as(edge.principal(request)):
                    return await route(Call(request, edge.ready_engine(), log))
            except Exception as error:  # noqa: BLE001 - every error is mapped, none leaks
                error = domain_error(error)
                code = status_code(error)
                return error_response(error, names)
            finally:
                log["status"] = code_pb2.Code.Name(code)
                log["ms"] = round((time.monotonic() - started) * 1000, 2)
                access_log.write(log)

        return serve

    return decorate
