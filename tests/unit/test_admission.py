"""The query slots' rule (server/reads/admission.py): a freed slot goes to the waiting tenant
with the fewest queries running, the earliest of its waiters first; a tenant past its
max_queries is refused at once."""
from __future__ import annotations

import threading
import time

import pytest

from trackstore_server.errors import QueryBudgetExceeded
from trackstore_server.reads.admission import FairSlots, Tenant

HEAVY, LIGHT = Tenant("heavy"), Tenant("light")


def waiter(slots: FairSlots, tenant: Tenant, order: list[str]) -> threading.Thread:
    def take():
        assert slots.acquire(tenant, time.monotonic() + 30)
        order.append(tenant.name)

    thread = threading.Thread(target=take, daemon=True)
    thread.start()
    return thread


def wait_until_waiting(slots: FairSlots, count: int) -> None:
    wait_for(lambda: len(slots._waiting) >= count)


def test_a_freed_slot_goes_to_the_tenant_with_fewest_running():
    """Heavy holds both slots and queues two more; light queues last and goes first."""
    slots, order = FairSlots(2), []
    for _ in range(2):
        assert slots.acquire(HEAVY, time.monotonic() + 1)
    waiter(slots, HEAVY, order)
    waiter(slots, HEAVY, order)
    wait_until_waiting(slots, 2)
    waiter(slots, LIGHT, order)
    wait_until_waiting(slots, 3)
    for tenant in (HEAVY, LIGHT, HEAVY):
        given = len(order)
        slots.release(tenant)
        wait_for(lambda: len(order) > given)
    assert order == ["light", "heavy", "heavy"]


def wait_for(condition) -> None:
    deadline = time.monotonic() + 10
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)


def test_a_slot_not_given_by_the_deadline_is_no_slot():
    slots = FairSlots(1)
    assert slots.acquire(HEAVY, time.monotonic() + 1)
    assert not slots.acquire(LIGHT, time.monotonic() + 0.05)
    assert slots._waiting == []  # the waiter gave up and left the line


def test_a_tenant_past_its_budget_is_refused_with_a_retry_delay():
    slots, budget = FairSlots(4), Tenant("budget", max_queries=2)
    slots.admit(budget)
    slots.admit(budget)
    with pytest.raises(QueryBudgetExceeded) as refused:
        slots.admit(budget)
    assert refused.value.retry_after_seconds > 0
    slots.admit(LIGHT)  # the budget is the tenant's own
    slots.leave(budget)
    slots.admit(budget)
