"""The scope's columns without a row: what a query reads instead of the events when the compiler
proved its answer does not depend on them (querylang's CompiledQuery.reads_no_rows, such as a
`where` on an event type the scope never had). Reading the lake, even with `WHERE FALSE`, costs
DuckLake's catalog reads and scan planning, more than raw DuckDB's whole answer from one file
(bench/NOTES.md#fixed-cost-of-a-query); this source costs DuckDB no more than a constant.

The columns and their types come from DuckDB's own binding of the source, once for each source
(the source changes when keys are promoted), so every column a compiled query may name is there
with the type it has in the lake.
"""
from __future__ import annotations

import threading
from typing import Callable

from querylang.sqltext import quote_ident

from ..bound_parameters import SCOPE


KEPT_SOURCES = 4


class EmptySources:
    def __init__(self, cursor: Callable[[], object]):
        """`cursor`: a new cursor on the store."""
        self._cursor = cursor
        self._lock = threading.Lock()
        # Source SQL -> its empty twin, for the latest sources: reads take two at a time (with
        # and without the promoted keys, Engine._read), and keys change rarely.
        self._known: dict[str, str] = {}

    def of(self, source_sql: str) -> str:
        """SQL of a relation with `source_sql`'s columns and no row, reading nothing."""
        known = self._known.get(source_sql)
        if known is not None:
            return known
        with self._lock:
            cursor = self._cursor()
            try:
                # Any scope binds the same columns.
                described = cursor.execute(f"SELECT * FROM {source_sql} LIMIT 0",
                                           {SCOPE: ""}).description
            finally:
                cursor.close()
            columns = ", ".join(f"CAST(NULL AS {type_code}) AS {quote_ident(name)}"
                                for name, type_code, *_ in described)
            empty = f"(SELECT {columns} LIMIT 0)"
            if len(self._known) >= KEPT_SOURCES:
                self._known = {}
            self._known = {**self._known, source_sql: empty}  # readers see one dict or the next
            return empty
