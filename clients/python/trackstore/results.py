"""Answers of Preview and List: iterable rows, typed by their columns, convertible to Arrow.

Rows are dicts in the JSON shape the server sends (times as RFC 3339 text, dynamic values as
nested dicts and lists), with numbers made exact for their column type: a `long` column holds
Python ints even though a `google.protobuf.Struct` carries every number as a double.
`to_arrow()` builds a pyarrow Table from the column types (Preview: the KQL types of the
response's columns; List: the stored event's fixed schema), so an empty answer is typed too.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import asdict, dataclass
from typing import Iterator

import orjson
from google.protobuf import json_format

from .events import EVENT_FIELD_ORDER


@dataclass(frozen=True)
class Column:
    """A result column: its name and KQL type (string, long, int, real, bool, datetime,
    timespan, dynamic)."""

    name: str
    type: str


# A stored event's columns, as List returns them.
EVENT_COLUMNS = tuple(
    Column(name, "dynamic" if name in ("User", "Payload") else
           "datetime" if name == "EventTime" else "string")
    for name in EVENT_FIELD_ORDER
)


def _exact_number(value):
    # Struct numbers are doubles; whole ones below 2^53 are shown as integers, as JSON readers
    # of dynamic values expect. A Struct is a map: its keys come sorted, as the server stores
    # them, so the same value always prints the same.
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, dict):
        return {key: _exact_number(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [_exact_number(item) for item in value]
    return value


def _as_int(value):
    return int(value) if isinstance(value, float) else value


def _as_float(value):
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


_ROW_VALUE = {"long": _as_int, "int": _as_int, "real": _as_float, "dynamic": _exact_number}


def rows_of(items, columns: tuple[Column, ...]) -> list[dict]:
    """Struct items as dicts, keys in column order (a Struct is a map and keeps none)."""
    converters = [(c.name, _ROW_VALUE.get(c.type)) for c in columns]
    names = {c.name for c in columns}
    rows = []
    for item in items:
        values = json_format.MessageToDict(item)
        row = {}
        for name, convert in converters:
            if name in values:
                value = values[name]
                row[name] = convert(value) if convert and value is not None else value
        if len(row) < len(values):  # a key the columns do not name: kept, after them
            row.update((k, _exact_number(v)) for k, v in values.items() if k not in names)
        rows.append(row)
    return rows


_TIMESPAN = re.compile(r"^(-)?(?:(\d+)\.)?(\d+):(\d{2}):(\d{2})(?:\.(\d{1,7}))?$")


def parse_timespan(text: str) -> dt.timedelta:
    """Kusto's timespan text, [-][d.]hh:mm:ss[.fffffff], as the server writes it."""
    match = _TIMESPAN.match(text)
    if not match:
        raise ValueError(f"not a timespan: {text!r}")
    sign, days, hours, minutes, seconds, fraction = match.groups()
    ticks = int((fraction or "").ljust(7, "0"))  # 100 ns units
    value = dt.timedelta(days=int(days or 0), hours=int(hours), minutes=int(minutes),
                         seconds=int(seconds), microseconds=ticks // 10)
    return -value if sign else value


def _arrow_column(values: list, kind: str):
    import pyarrow as pa

    if kind == "datetime":
        return pa.array([None if v is None else dt.datetime.fromisoformat(v) for v in values],
                        pa.timestamp("us", tz="UTC"))
    if kind == "timespan":
        return pa.array([None if v is None else parse_timespan(v) for v in values],
                        pa.duration("us"))
    if kind == "dynamic":
        texts = [None if v is None else orjson.dumps(v).decode() for v in values]
        return pa.ExtensionArray.from_storage(pa.json_(), pa.array(texts, pa.string()))
    arrow_type = {"long": pa.int64(), "int": pa.int32(), "real": pa.float64(),
                  "bool": pa.bool_()}.get(kind, pa.string())
    if arrow_type == pa.string():
        values = [v if v is None or isinstance(v, str) else orjson.dumps(v).decode()
                  for v in values]
    return pa.array(values, arrow_type)


class Rows:
    """An answer's rows (dicts) and their columns; iterate it, index it, or convert it."""

    def __init__(self, rows: list[dict], columns: tuple[Column, ...], count: int):
        self.rows = rows
        self.columns = columns
        self.count = count

    def __iter__(self) -> Iterator[dict]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index):
        return self.rows[index]

    def __repr__(self) -> str:
        names = ", ".join(c.name for c in self.columns)
        return f"<{type(self).__name__} {len(self.rows)} rows: {names}>"

    def to_arrow(self):
        """A pyarrow Table typed by the columns: long int64, int int32, real float64, bool,
        datetime timestamp[us, UTC], timespan duration[us], dynamic JSON text (pa.json_),
        string (and any other type) utf8."""
        import pyarrow as pa

        arrays = [_arrow_column([row.get(c.name) for row in self.rows], c.type)
                  for c in self.columns]
        return pa.Table.from_arrays(arrays, names=[c.name for c in self.columns])

    def to_pandas(self):
        """A pandas DataFrame (needs pandas, which trackstore does not install)."""
        try:
            import pandas  # noqa: F401
        except ImportError:
            raise ImportError("to_pandas() needs pandas: pip install pandas") from None
        return self.to_arrow().to_pandas()

    def to_dict(self) -> dict:
        return {"items": self.rows, "count": self.count}


class PreviewResult(Rows):
    """Preview's answer: at most 1000 rows; `truncated` says the query had more."""

    def __init__(self, rows: list[dict], columns: tuple[Column, ...], count: int,
                 truncated: bool):
        super().__init__(rows, columns, count)
        self.truncated = truncated

    @classmethod
    def from_response(cls, response) -> "PreviewResult":
        columns = tuple(Column(c.name, c.type) for c in response.columns)
        return cls(rows_of(response.items, columns), columns, response.count, response.truncated)

    def to_dict(self) -> dict:
        return {"columns": [asdict(c) for c in self.columns], "items": self.rows,
                "count": self.count, "truncated": self.truncated}


class ListResult(Rows):
    """One List page: events with the stored event's columns."""

    @classmethod
    def from_response(cls, response) -> "ListResult":
        return cls(rows_of(response.items, EVENT_COLUMNS), EVENT_COLUMNS, response.count)


class Fields(dict):
    """A response message's fields by name (from its descriptor, so none is ever missed), also
    readable as attributes: `stats.events` or `stats["events"]`; a message field is Fields
    of its own (`stats.memory.resident_bytes`)."""

    def __getattr__(self, name: str):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    @classmethod
    def from_response(cls, response) -> "Fields":
        return cls((field.name, cls._plain(field, getattr(response, field.name)))
                   for field in response.DESCRIPTOR.fields)

    @classmethod
    def _plain(cls, field, value):
        if field.is_repeated:
            return list(value)
        if field.message_type is not None:
            return cls.from_response(value)
        return value
