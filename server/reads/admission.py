"""Who may run a query next: the query slots shared fairly between tenants (API keys), and
each tenant's own budget of concurrent queries.

A tenant is the key a call came with (`current_tenant`, set by the API edge for the call and
the threads it hands work to). A freed slot goes to the waiting tenant with the fewest queries
running, the earliest of its waiters first: one key's pile of heavy queries delays another
key's query by one query at most, never by the whole pile. A tenant with `max_queries` may
have that many queries running or waiting; one more is refused at once, so it takes nothing
from the shared queue.
"""
from __future__ import annotations

import contextvars
import threading
import time
from collections import Counter
from dataclasses import dataclass

from ..errors import QueryBudgetExceeded

# What a refused tenant is told to wait: about the time a light query takes to make room.
BUDGET_RETRY_SECONDS = 1.0


@dataclass(frozen=True)
class Tenant:
    name: str
    max_queries: int | None = None  # running or waiting at once; None: only the shared limits


ANONYMOUS = Tenant("anonymous")
current_tenant: contextvars.ContextVar[Tenant] = contextvars.ContextVar("tenant", default=ANONYMOUS)


class FairSlots:
    """`slots` query slots; `acquire` waits its turn by the rule of the module docstring."""

    def __init__(self, slots: int):
        self._free = max(1, slots)
        self._changed = threading.Condition()
        self._running: Counter[str] = Counter()
        self._admitted: Counter[str] = Counter()  # running or waiting, by tenant
        self._waiting: list[tuple[str, object]] = []  # (tenant, ticket), in arrival order

    def admit(self, tenant: Tenant) -> None:
        """Counts a query of `tenant` in, or raises QueryBudgetExceeded; `leave` counts it out."""
        with self._changed:
            if tenant.max_queries is not None and self._admitted[tenant.name] >= tenant.max_queries:
                raise QueryBudgetExceeded(
                    f"the API key {tenant.name!r} has {tenant.max_queries} queries running or "
                    f"waiting, its max_queries; retry when one has finished",
                    retry_after_seconds=BUDGET_RETRY_SECONDS)
            self._admitted[tenant.name] += 1

    def leave(self, tenant: Tenant) -> None:
        with self._changed:
            self._admitted[tenant.name] -= 1

    def acquire(self, tenant: Tenant, deadline: float) -> bool:
        """Takes a slot for `tenant` by `deadline` (time.monotonic()); False if none came."""
        ticket = (tenant.name, object())
        with self._changed:
            self._waiting.append(ticket)
            try:
                while not (self._free and self._next() is ticket):
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return False
                    self._changed.wait(remaining)
                self._free -= 1
                self._running[tenant.name] += 1
                return True
            finally:
                self._waiting.remove(ticket)
                self._changed.notify_all()  # the next waiter may be due now

    def release(self, tenant: Tenant) -> None:
        with self._changed:
            self._free += 1
            self._running[tenant.name] -= 1
            self._changed.notify_all()

    def _next(self) -> tuple[str, object]:
        return min(self._waiting, key=lambda ticket: self._running[ticket[0]])
