"""What the `trackstore` command reads: events from newline-delimited JSON, a query from an
argument, a file or standard input. A bad input raises `InputError` naming the file and line."""
from __future__ import annotations

import sys
from typing import Iterator

import orjson

from trackstore.events import to_message


class InputError(Exception):
    """Local input the command cannot use: `FILE:LINE: reason` (exit status 2)."""


def _open(source: str):
    if source == "-":
        return sys.stdin
    try:
        return open(source, encoding="utf-8")
    except OSError as error:
        raise InputError(f"{source}: cannot read: {error.strerror or error}") from None


def _lines(source: str) -> Iterator[tuple[int, str]]:
    name = "<stdin>" if source == "-" else source
    handle = _open(source)
    with handle:
        try:
            yield from enumerate(handle, start=1)
        except UnicodeDecodeError as error:
            raise InputError(f"{name}: not UTF-8 text: {error.reason}") from None


def read_events(source: str) -> list:
    """Every event of an .ndjson file (or `-`: standard input) as a TrackEvent, checked before
    anything is sent, so a bad line stores nothing."""
    name = "<stdin>" if source == "-" else source
    events = []
    for number, line in _lines(source):
        if not line.strip():
            continue
        try:
            document = orjson.loads(line)
        except orjson.JSONDecodeError as error:
            raise InputError(f"{name}:{number}: not valid JSON (column {error.colno}): "
                             f"{error.msg}") from None
        try:
            events.append(to_message(document, assign_id=False))
        except ValueError as error:
            raise InputError(f"{name}:{number}: {error}") from None
    return events


def read_query(argument: str | None, file: str | None) -> str:
    """The query from the argument, `-f FILE`, or standard input (`-` as either)."""
    if (argument is None) == (file is None):
        raise InputError("give the query as an argument, or -f FILE (- reads standard input)")
    if argument is not None and argument != "-":
        return argument
    source = "-" if argument == "-" else file
    name = "<stdin>" if source == "-" else source
    query = "".join(line for _, line in _lines(source))
    if not query.strip():
        raise InputError(f"{name}: holds no query")
    return query
