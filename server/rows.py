"""Formats DuckDB result rows as JSON-shaped items (the shape of a google.protobuf.Struct)."""
from __future__ import annotations

import datetime as dt
import decimal
import math
import uuid

import orjson

from . import _wire


def format_datetime(value: dt.datetime) -> str:
    # Stored datetimes are naive UTC; Kusto prints UTC with a Z.
    if value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def format_datetime_ticks(value: dt.datetime) -> str:
    """The Profile Store's (.NET's) spelling: seven fractional digits, 2020-01-23T21:27:49.3361008Z.
    Times are stored to the microsecond, so the seventh digit is always 0."""
    return format_datetime(value)[:-1] + "0Z"


def format_timespan(value: dt.timedelta) -> str:
    """Kusto's timespan text: [-][d.]hh:mm:ss[.fffffff]."""
    total_us = value // dt.timedelta(microseconds=1)
    sign = "-" if total_us < 0 else ""
    total_us = abs(total_us)
    seconds, micros = divmod(total_us, 1_000_000)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    text = f"{hours:02d}:{minutes:02d}:{seconds:02d}"
    if days:
        text = f"{days}.{text}"
    if micros:
        text += f".{micros * 10:07d}"
    return sign + text


def to_json_value(value, is_json: bool, format_time=format_datetime):
    """A result value as JSON: datetimes as `format_time` writes them."""
    if value is None:
        return None
    if is_json and isinstance(value, str):
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            return value
    if isinstance(value, bool | str | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dt.datetime):
        return format_time(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return format_timespan(value)
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, list | tuple):
        return [to_json_value(v, False, format_time) for v in value]
    if isinstance(value, dict):
        return {str(k): to_json_value(v, False, format_time) for k, v in value.items()}
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def rows_to_items(names: list[str], json_columns: list[bool], rows: list[tuple],
                  format_time=format_datetime) -> list[dict]:
    return [
        {name: to_json_value(value, is_json, format_time)
         for name, is_json, value in zip(names, json_columns, row)}
        for row in rows
    ]


class ResultRows:
    """A read's rows, with what each column holds, until the response is written."""

    __slots__ = ("names", "json_columns", "rows")

    def __init__(self, names: list[str], json_columns: list[bool], rows: list[tuple]):
        self.names = list(names)
        self.json_columns = list(json_columns)
        self.rows = rows if isinstance(rows, list) else list(rows)

    def __len__(self) -> int:
        return len(self.rows)

    def items(self, format_time=format_datetime) -> list[dict]:
        return rows_to_items(self.names, self.json_columns, self.rows, format_time)

    def encode(self, field: int) -> bytes | None:
        """The rows as serialized google.protobuf.Struct items, field `field` of a response
        message (server/wire/rows.c), or None when a value needs protobuf's Struct.update. Same
        values as items(), without a Python object per value (bench/NOTES.md#result-rows)."""
        return _wire.encode_items(self.names, self.json_columns, self.rows, to_json_value,
                                  field)
