"""Times in milliseconds since the epoch, as exports take and give them; stored times are naive
UTC datetimes."""
from __future__ import annotations

import datetime as dt

EPOCH = dt.datetime(1970, 1, 1)
_MIN_MS = (dt.datetime(1, 1, 1) - EPOCH) // dt.timedelta(milliseconds=1)
_MAX_MS = (dt.datetime(9999, 12, 31, 23, 59, 59) - EPOCH) // dt.timedelta(milliseconds=1)


def from_millis(ms: int) -> dt.datetime | None:
    """The naive UTC time, or None outside years 1 to 9999."""
    if not _MIN_MS <= ms <= _MAX_MS:
        return None
    return EPOCH + dt.timedelta(milliseconds=ms)


def to_millis(value: dt.datetime) -> int:
    if value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return (value - EPOCH) // dt.timedelta(milliseconds=1)


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
