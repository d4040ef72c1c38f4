"""The watchdog that stops queries at their deadline (server/reads/queries.py): a call fires at
its deadline, a cancelled one never does, and nothing is kept once fired or cancelled."""
from __future__ import annotations

import threading
import time

from trackstore_server.reads.queries import Watchdog


def test_calls_fire_at_their_deadlines_in_order_and_cancelled_ones_never():
    watchdog = Watchdog()
    fired: list[str] = []
    done = threading.Event()
    now = time.monotonic()
    watchdog.schedule(now + 0.15, lambda: fired.append("late"))
    cancelled = watchdog.schedule(now + 0.05, lambda: fired.append("cancelled"))
    watchdog.schedule(now + 0.02, lambda: fired.append("early"))
    watchdog.schedule(now + 0.3, done.set)
    watchdog.cancel(cancelled)
    assert done.wait(5)
    assert fired == ["early", "late"]
    watchdog.cancel(cancelled)  # again, and after firing: nothing is kept
    assert not watchdog._pending and not watchdog._cancelled and not watchdog._heap
