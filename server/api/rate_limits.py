"""Each API key's `requests_per_second`: a token bucket per key name, holding one second of
calls (at least one), so a key may burst to its rate and then goes at it. A call beyond is
refused before it does any work, RESOURCE_EXHAUSTED with the wait until the next token."""
from __future__ import annotations

import threading
import time

from ..errors import RateLimited
from .key_file import Principal


class RateLimits:
    def __init__(self):
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}  # name -> (tokens, when counted)

    def charge(self, principal: Principal) -> None:
        """Takes a token of `principal`'s bucket, or raises RateLimited."""
        rate = principal.requests_per_second
        if rate is None:
            return
        capacity = max(1.0, float(rate))
        with self._lock:
            now = time.monotonic()
            tokens, then = self._buckets.get(principal.name, (capacity, now))
            tokens = min(capacity, tokens + (now - then) * rate)
            if tokens < 1.0:
                self._buckets[principal.name] = (tokens, now)
                raise RateLimited(
                    f"the API key {principal.name!r} may make {rate:g} calls a second "
                    f"(requests_per_second); retry shortly",
                    retry_after_seconds=round((1.0 - tokens) / rate, 3))
            self._buckets[principal.name] = (tokens - 1.0, now)
