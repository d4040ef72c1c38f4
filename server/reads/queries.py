"""Runs read queries with admission control, a time limit and cancellation inside DuckDB.

A query that outlives its limit, or whose client went away, is interrupted in the engine
(`interrupt()` on its connection), not just abandoned, so its threads and memory are freed.
"""
from __future__ import annotations

import heapq
import itertools
import threading
import time
from dataclasses import dataclass
from typing import Callable, TypeVar

import duckdb

from ..errors import BadRequest, QueryCancelled, QueryQueueFull, QueryTimeout
from .admission import FairSlots, current_tenant

T = TypeVar("T")


@dataclass
class QueryResult:
    names: list[str]
    json_columns: list[bool]
    rows: list[tuple]


class Watchdog:
    """One thread that calls each scheduled function at its deadline unless it was cancelled.
    A threading.Timer per query started a thread per query: about 1.7 ms of a 5 ms query that
    reads nothing on a busy machine (bench/NOTES.md#fixed-cost-of-a-query)."""

    def __init__(self):
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._pending: set[int] = set()  # scheduled, neither fired nor cancelled
        self._cancelled: set[int] = set()  # cancelled, still in the heap
        self._numbers = itertools.count()
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None

    def schedule(self, deadline: float, call: Callable[[], None]) -> int:
        """Calls `call()` at `deadline` (time.monotonic()); returns a handle for `cancel`."""
        with self._changed:
            number = next(self._numbers)
            heapq.heappush(self._heap, (deadline, number, call))
            self._pending.add(number)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="query-watchdog",
                                                daemon=True)
                self._thread.start()
            self._changed.notify()
            return number

    def cancel(self, number: int) -> None:
        with self._changed:
            if number in self._pending:
                self._pending.discard(number)
                self._cancelled.add(number)

    def _run(self) -> None:
        while True:
            with self._changed:
                while self._heap and self._heap[0][1] in self._cancelled:
                    self._cancelled.discard(heapq.heappop(self._heap)[1])
                now = time.monotonic()
                if not self._heap or self._heap[0][0] > now:
                    self._changed.wait(self._heap[0][0] - now if self._heap else None)
                    continue
                _, number, call = heapq.heappop(self._heap)
                self._pending.discard(number)
            call()


class QueryRunner:
    def __init__(self, conn: duckdb.DuckDBPyConnection, max_concurrent: int, max_queued: int):
        self._conn = conn
        self._slots = FairSlots(max_concurrent)
        self._max_waiting = max(0, max_queued) + max(1, max_concurrent)
        self._lock = threading.Lock()
        self._admitted = 0
        self._watchdog = Watchdog()

    def run(
        self,
        sql: str,
        params: dict,
        deadline: float,
        limit_seconds: float,
        on_cancel: Callable[[Callable[[], None]], None] | None = None,
        prepare: Callable[[duckdb.DuckDBPyConnection], None] | None = None,
    ) -> QueryResult:
        """Runs `sql` until `deadline` (a time.monotonic() value) at the latest; a QueryTimeout
        names `limit_seconds`, the limit of the read it belongs to. `on_cancel(fn)` registers fn
        to be called if the client goes away; `prepare(cursor)` runs on the query's connection
        first (e.g. to register relations)."""
        return self.run_task(lambda cursor: _fetch(cursor, sql, params), deadline,
                             limit_seconds, on_cancel, prepare)

    def run_task(self, task: Callable[[duckdb.DuckDBPyConnection], T], deadline: float,
                 limit_seconds: float,
                 on_cancel: Callable[[Callable[[], None]], None] | None = None,
                 prepare: Callable[[duckdb.DuckDBPyConnection], None] | None = None) -> T:
        """`task(cursor)` as `run` runs a statement: admitted to a slot, interrupted inside
        DuckDB at the deadline or when the client goes away. A task that opens a transaction
        ends it; an interrupted one is rolled back when its cursor closes. The caller's tenant
        (admission.current_tenant) waits its turn among the others' and within its budget
        (admission.py)."""
        tenant = current_tenant.get()
        self._slots.admit(tenant)
        try:
            with self._lock:
                if self._admitted >= self._max_waiting:
                    raise QueryQueueFull("too many queries are running or waiting; retry "
                                         "shortly", retry_after_seconds=1.0)
                self._admitted += 1
            try:
                if not self._slots.acquire(tenant, deadline):
                    raise QueryTimeout(limit_seconds)
                try:
                    return self._execute(task, deadline, limit_seconds, on_cancel, prepare)
                finally:
                    self._slots.release(tenant)
            finally:
                with self._lock:
                    self._admitted -= 1
        finally:
            self._slots.leave(tenant)

    def _execute(self, task, deadline, limit_seconds, on_cancel, prepare):
        cursor = self._conn.cursor()
        if prepare is not None:
            prepare(cursor)
        why: list[str] = []
        lock = threading.Lock()
        finished = False

        def interrupt(reason: str) -> None:
            with lock:
                if finished:
                    return
                why.append(reason)
                cursor.interrupt()

        timer = self._watchdog.schedule(deadline, lambda: interrupt("timeout"))
        try:
            # gRPC's add_callback answers False once the call has ended: a client that went away
            # before the query started would otherwise leave it running to the end.
            if on_cancel is not None and on_cancel(lambda: interrupt("cancelled")) is False:
                raise QueryCancelled()
            return task(cursor)
        except duckdb.InterruptException:
            if why and why[0] == "cancelled":
                raise QueryCancelled() from None
            raise QueryTimeout(limit_seconds) from None
        except duckdb.InvalidInputException as error:
            # The query's own input DuckDB cannot use as it runs (a pattern RE2 refuses that
            # the compiler's check lets through, such as a back-reference): the caller's to
            # change, not an internal error worth retrying.
            message = str(error).splitlines()[0].removeprefix("Invalid Input Error: ")
            raise BadRequest(f"the query cannot run: {message}",
                             reason="QUERY_INVALID") from None
        finally:
            with lock:
                finished = True
            self._watchdog.cancel(timer)
            cursor.close()


def _fetch(cursor: duckdb.DuckDBPyConnection, sql: str, params: dict) -> QueryResult:
    cursor.execute(sql, params)
    names = [d[0] for d in cursor.description]
    json_columns = [str(d[1]) == "JSON" for d in cursor.description]
    return QueryResult(names, json_columns, cursor.fetchall())
