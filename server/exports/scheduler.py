"""The scheduler: every --export-poll-seconds, runs the configurations that are due.

A configuration is due once there is something to export (its start_at is older than the
safety lag), and then: `once` until a run succeeded; the others once in each period (hour, day
(UTC), week from Monday, calendar month) whose start is after the newest succeeded run began.
A failed run is retried --export-retry-seconds after it ended; a run that never ended (its
server stopped) once its lease ran out. Every server's scheduler looks; the lease of each run
(runs.py) lets one server run it, and that server checks again, under the lease, that it is
still due.
"""
from __future__ import annotations

import datetime as dt
import logging
import threading
from typing import Callable

from ..errors import ExportBusy
from .configurations import Configuration
from .runs import Run

log = logging.getLogger(__name__)


def period_start(schedule: str, now: dt.datetime) -> dt.datetime:
    """The start of the period `now` is in, for a recurring schedule."""
    hour = now.replace(minute=0, second=0, microsecond=0)
    day = hour.replace(hour=0)
    return {
        "hourly": hour,
        "daily": day,
        "weekly": day - dt.timedelta(days=day.weekday()),
        "monthly": day.replace(day=1),
    }[schedule]


def is_due(configuration: Configuration, runs: list[Run], now: dt.datetime,
           lag_seconds: float, retry_seconds: float) -> bool:
    if configuration.start_at > now - dt.timedelta(seconds=lag_seconds):
        return False
    if runs and runs[0].state != "succeeded":
        ended = runs[0].ended_at
        # Never ended: its server stopped; the lease tells whether it still runs.
        return ended is None or now >= ended + dt.timedelta(seconds=retry_seconds)
    succeeded = [run for run in runs if run.state == "succeeded"]
    if configuration.schedule == "once":
        return not succeeded
    return not succeeded or succeeded[0].started_at < period_start(configuration.schedule, now)


class Scheduler:
    """A thread that calls `look()` every `seconds`, until `stop()`."""

    def __init__(self, look: Callable[[], None], seconds: float):
        self._look = look
        self._seconds = seconds
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="export-scheduler", daemon=True)

    def start(self) -> "Scheduler":
        if self._seconds > 0:
            self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stopping.wait(self._seconds):
            try:
                self._look()
            except ExportBusy:
                pass
            except Exception:  # noqa: BLE001 - the scheduler outlives a failed look
                log.exception("looking for due exports failed")

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join()
