"""Splits an import document into records, each with its position, parsed one by one.

Accepted shapes: one JSON object; a JSON array of them; newline-delimited JSON (one object a
line); a response document whose `items` array holds them (the Profile Store List answer, a
Croct export page). The split follows brackets and strings only, so one malformed record (a
missing comma inside it, a `{ ... }` placeholder) spoils itself alone: it is reported with its
index in the array (or its line) and the line and column of the fault, and the others are still
read.
"""
from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

import orjson

from ..errors import BadRequest, FieldViolation

_STRUCTURE = re.compile(r'[\[\]{}"]')
_STRING_REST = re.compile(r'(?:[^"\\]|\\.)*"', re.S)
_SCALAR_END = re.compile(r"[\s,\]}]")
_SPACE = re.compile(r"\s*")
_ITEMS_KEY = re.compile(r'"items"\s*:\s*\[')


@dataclass(frozen=True)
class Record:
    index: int  # in the array, or the record's number in NDJSON, from 0
    line: int  # where the record starts (or its fault is), from 1
    column: int
    value: object  # the parsed JSON; None when `problem` says why it could not be read
    problem: str | None = None


class _Positions:
    def __init__(self, text: str):
        self._newlines = [m.start() for m in re.finditer("\n", text)]

    def of(self, offset: int) -> tuple[int, int]:
        line = bisect.bisect_left(self._newlines, offset)
        start = self._newlines[line - 1] + 1 if line else 0
        return line + 1, offset - start + 1


def _scalar_end(text: str, i: int) -> int:
    """The end of the string, number or literal starting at `i`."""
    if text[i] == '"':
        match = _STRING_REST.match(text, i + 1)
        return match.end() if match else len(text)
    match = _SCALAR_END.search(text, i)
    return match.start() if match else len(text)


def _value_end(text: str, i: int) -> int:
    """The end of the JSON value starting at `i`, by brackets and strings alone (tolerant of
    anything malformed between them); the text's end when they never close."""
    if text[i] not in "[{":
        return _scalar_end(text, i)
    depth, j = 0, i
    while True:
        match = _STRUCTURE.search(text, j)
        if match is None:
            return len(text)
        char, j = match.group(), match.end()
        if char == '"':
            rest = _STRING_REST.match(text, j)
            if rest is None:
                return len(text)
            j = rest.end()
            continue
        depth += 1 if char in "[{" else -1
        if depth == 0:
            return j


def _skip_space(text: str, i: int) -> int:
    return _SPACE.match(text, i).end()


def _parse(text: str, start: int, end: int, index: int, positions: _Positions) -> Record:
    line, column = positions.of(start)
    try:
        return Record(index, line, column, orjson.loads(text[start:end]))
    except orjson.JSONDecodeError as error:
        fault = start + min(error.pos, max(end - start - 1, 0))
        line, column = positions.of(fault)
        return Record(index, line, column, None,
                      f"line {line}, column {column}: not valid JSON: {error.msg}")


def _array_records(text: str, open_at: int, positions: _Positions) -> list[Record]:
    records: list[Record] = []
    i = _skip_space(text, open_at + 1)
    while i < len(text) and text[i] != "]":
        end = _value_end(text, i)
        records.append(_parse(text, i, end, len(records), positions))
        i = _skip_space(text, end)
        if i < len(text) and text[i] == ",":
            i = _skip_space(text, i + 1)
        elif i < len(text) and text[i] != "]":
            line, column = positions.of(i)
            records[-1] = Record(records[-1].index, line, column, None,
                                 f"line {line}, column {column}: expected ',' or ']' after "
                                 f"this record")
    if i >= len(text):
        line, column = positions.of(len(text))
        raise _refusal(f"line {line}, column {column}: the array never ends (no ']')")
    return records


def _line_records(text: str, positions: _Positions) -> list[Record]:
    records = []
    offset = 0
    for line in text.split("\n"):
        start = offset + len(line) - len(line.lstrip())
        if line.strip():
            records.append(_parse(text, start, offset + len(line.rstrip()), len(records),
                                  positions))
        offset += len(line) + 1
    return records


def _refusal(message: str) -> BadRequest:
    return BadRequest(f"the document cannot be read: {message}",
                      [FieldViolation("data", message)])


def split(data: bytes) -> list[Record]:
    """The document's records in order; BadRequest when it has no recognizable shape."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise _refusal(f"byte {error.start} is not UTF-8") from None
    positions = _Positions(text)
    start = _skip_space(text, 0)
    if start == len(text):
        raise _refusal("it is empty")
    if text[start] == "[":
        return _array_records(text, start, positions)
    if text[start] != "{":
        line, column = positions.of(start)
        raise _refusal(f"line {line}, column {column}: expected a JSON object, an array of "
                       f"them, newline-delimited JSON, or a document with an 'items' array")
    end = _value_end(text, start)
    if _skip_space(text, end) < len(text):
        return _line_records(text, positions)  # more than one value: NDJSON
    items = _items_array(text, start, end)
    if items is not None:
        return _array_records(text, items, positions)
    return [_parse(text, start, end, 0, positions)]


def _items_array(text: str, start: int, end: int) -> int | None:
    """Where the `items` array of a response document opens, if the object at [start, end) has
    one at its top level."""
    depth, j = 0, start
    while j < end:
        match = _STRUCTURE.search(text, j, end)
        if match is None:
            return None
        char, j = match.group(), match.end()
        if char == '"':
            if depth == 1:
                key = _ITEMS_KEY.match(text, match.start())
                if key:
                    return key.end() - 1
            rest = _STRING_REST.match(text, j)
            if rest is None:
                return None
            j = rest.end()
            continue
        depth += 1 if char in "[{" else -1
    return None
