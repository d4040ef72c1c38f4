"""Runs read queries with admission control, a time limit and cancellation inside DuckDB.

A query that outlives its limit, or whose client went away, is interrupted in the engine
(`interrupt()` on its connection), not just abandoned, so its threads and memory are freed.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Callable

import duckdb

from .errors import Cancelled, DeadlineExceeded, ResourceExhausted


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
        timeout_seconds: float,
        on_cancel: Callable[[Callable[[], None]], None] | None = None,
        prepare: Callable[[duckdb.DuckDBPyConnection], None] | None = None,
    ) -> QueryResult:
        """`on_cancel(fn)` registers fn to be called if the client goes away; `prepare(cursor)`
        runs on the query's connection first (e.g. to register relations)."""
        deadline = time.monotonic() + timeout_seconds
        with self._lock:
            if self._admitted >= self._max_waiting:
                raise ResourceExhausted(
                    "too many queries are running or waiting; retry shortly",
                    retry_after_seconds=1.0,
                    reason="QUERY_QUEUE_FULL",
                )
            self._admitted += 1
        try:
            if not self._slots.acquire(timeout=max(0.0, deadline - time.monotonic())):
                raise DeadlineExceeded(_timeout_message(timeout_seconds))
            try:
                return self._execute(sql, params, deadline, timeout_seconds, on_cancel, prepare)
            finally:
                self._slots.release()
        finally:
            with self._lock:
                self._admitted -= 1

    def _execute(self, sql, params, deadline, timeout_seconds, on_cancel, prepare) -> QueryResult:
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
                raise Cancelled("the client cancelled the query")
            cursor.execute(sql, params)
            names = [d[0] for d in cursor.description]
            json_columns = [str(d[1]) == "JSON" for d in cursor.description]
            rows = cursor.fetchall()
            return QueryResult(names, json_columns, rows)
        except duckdb.InterruptException:
            if why and why[0] == "cancelled":
                raise Cancelled("the client cancelled the query") from None
            raise DeadlineExceeded(_timeout_message(timeout_seconds)) from None
        finally:
            with lock:
                finished = True
            timer.cancel()
            cursor.close()


def _timeout_message(timeout_seconds: float) -> str:
    return (
        f"the query ran longer than its limit of {timeout_seconds:g} s and was stopped; "
        f"narrow the time range or filter more selectively"
    )
