"""Runs read queries with admission control, a time limit and cancellation inside DuckDB.

A query that outlives its limit, or whose client went away, is interrupted in the engine
(`interrupt()` on its connection), not just abandoned, so its threads and memory are freed.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Callable, TypeVar

import duckdb

from ..errors import QueryCancelled, QueryQueueFull, QueryTimeout

T = TypeVar("T")


@dataclass
class QueryResult:
    names: list[str]
    json_columns: list[bool]
    rows: list[tuple]


class QueryRunner:
    def __init__(self, conn: duckdb.DuckDBPyConnection, max_concurrent: int, max_queued: int):
        self._conn = conn
        self._slots = threading.Semaphore(max(1, max_concurrent))
        self._max_waiting = max(0, max_queued) + max(1, max_concurrent)
        self._lock = threading.Lock()
        self._admitted = 0

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
        ends it; an interrupted one is rolled back when its cursor closes."""
        with self._lock:
            if self._admitted >= self._max_waiting:
                raise QueryQueueFull("too many queries are running or waiting; retry shortly",
                                     retry_after_seconds=1.0)
            self._admitted += 1
        try:
            if not self._slots.acquire(timeout=max(0.0, deadline - time.monotonic())):
                raise QueryTimeout(limit_seconds)
            try:
                return self._execute(task, deadline, limit_seconds, on_cancel, prepare)
            finally:
                self._slots.release()
        finally:
            with self._lock:
                self._admitted -= 1

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

        timer = threading.Timer(max(0.0, deadline - time.monotonic()), interrupt, ("timeout",))
        timer.daemon = True
        timer.start()
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
        finally:
            with lock:
                finished = True
            timer.cancel()
            cursor.close()


def _fetch(cursor: duckdb.DuckDBPyConnection, sql: str, params: dict) -> QueryResult:
    cursor.execute(sql, params)
    names = [d[0] for d in cursor.description]
    json_columns = [str(d[1]) == "JSON" for d in cursor.description]
    return QueryResult(names, json_columns, cursor.fetchall())
