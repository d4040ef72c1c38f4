"""How the reading commands print their answer: `--format json|ndjson|table|csv`.

json (the default, for scripts) is the whole answer as one document; ndjson one row a line;
csv a header and one row a line; table an aligned table for people (rich), as wide as the
terminal. In csv and table, dynamic values (User, Payload, bags and arrays) are compact JSON.
"""
from __future__ import annotations

import csv
import sys

import orjson

FORMATS = ("json", "ndjson", "table", "csv")


def print_json(document) -> None:
    sys.stdout.write(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode() + "\n")


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return orjson.dumps(value).decode()  # numbers, booleans, dynamic values: compact JSON


def _ndjson(rows: list[dict]) -> None:
    for row in rows:
        sys.stdout.write(orjson.dumps(row).decode() + "\n")


def _csv(names: list[str], rows: list[dict]) -> None:
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(names)
    for row in rows:
        writer.writerow([_cell(row.get(name)) for name in names])


def _table(names: list[str], rows: list[dict], caption: str | None = None) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(*names, caption=caption, show_lines=False)
    for row in rows:
        table.add_row(*[_cell(row.get(name)) for name in names])
    Console(soft_wrap=False).print(table)


def print_rows(document: dict, names: list[str], rows: list[dict], form: str,
               caption: str | None = None) -> None:
    """The answer `document` in `form`: json prints it whole; the others print `rows` in the
    order of the column `names`."""
    if form == "json":
        print_json(document)
    elif form == "ndjson":
        _ndjson(rows)
    elif form == "csv":
        _csv(names, rows)
    else:
        _table(names, rows, caption)
