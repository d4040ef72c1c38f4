"""When a failed call is tried again, and after how long.

Only UNAVAILABLE and RESOURCE_EXHAUSTED are retried (never INVALID_ARGUMENT and the other
codes, whose next try would fail the same way), and only calls that are safe to repeat: reads,
deletes, and Track calls whose events all carry a TrackId (the client gives them one before the
first try, and the server stores a TrackId once). The wait is exponential backoff with full
jitter, and at least the server's `google.rpc.RetryInfo` delay when it sends one. A call's
deadline covers all its tries: no retry starts that could not end before it.
"""
from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Iterator

import grpc

from .errors import TrackstoreError, from_rpc_error

RETRYABLE_CODES = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED})


@dataclass(frozen=True)
class RetryPolicy:
    """`max_attempts` tries at most (1: no retry); before try n+1 a random wait in
    [0, min(max_backoff, initial_backoff * multiplier**n)], or the server's RetryInfo delay if
    that is longer."""

    max_attempts: int = 5
    initial_backoff: float = 0.1
    max_backoff: float = 5.0
    multiplier: float = 2.0
    codes: frozenset = field(default=RETRYABLE_CODES)

    def wait_before(self, attempt: int, error: TrackstoreError) -> float | None:
        """Seconds to wait before try `attempt + 1` (0-based) after `error`; None: give up."""
        if error.code not in self.codes or attempt + 1 >= self.max_attempts:
            return None
        ceiling = min(self.max_backoff, self.initial_backoff * self.multiplier ** attempt)
        wait = random.uniform(0, ceiling)
        if error.retry_delay is not None:
            wait = max(wait, error.retry_delay)
        return wait


NO_RETRY = RetryPolicy(max_attempts=1)


class Attempts:
    """The tries of one call: iterate it for each try's timeout, and hand `failed` the error of
    a try; it raises the client's exception when no try is left, else says how long to sleep.

        for timeout in (attempts := Attempts(policy, 30.0, safe_to_repeat=True)):
            try:
                return stub.Preview(request, timeout=timeout)
            except grpc.RpcError as error:
                time.sleep(attempts.failed(error))
    """

    def __init__(self, policy: RetryPolicy, timeout: float, safe_to_repeat: bool,
                 attempt_timeout: float | None = None):
        self._policy = policy if safe_to_repeat else NO_RETRY
        self._deadline = time.monotonic() + timeout
        self._attempt_timeout = attempt_timeout  # each try's at most, when shorter
        self._attempt = 0

    def __iter__(self) -> Iterator[float]:
        while True:
            remaining = max(self._deadline - time.monotonic(), 0.0)
            yield remaining if self._attempt_timeout is None else \
                min(remaining, self._attempt_timeout)
            self._attempt += 1

    def failed(self, rpc_error: grpc.RpcError) -> float:
        error = rpc_error if isinstance(rpc_error, TrackstoreError) else from_rpc_error(rpc_error)
        wait = self._policy.wait_before(self._attempt, error)
        if wait is None or time.monotonic() + wait >= self._deadline:
            raise error from None
        return wait
