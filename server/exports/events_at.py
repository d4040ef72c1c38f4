"""A SELECT of one scope's events as a DuckLake snapshot held them: what the paged export and
the file export runs read. Conditions are fixed SQL text; every value is a parameter."""
from __future__ import annotations

from ..event_schema import COLUMN_NAMES
from ..lake import EVENTS_TABLE

COLUMNS = ", ".join(f'"{name}"' for name in COLUMN_NAMES)


class EventsAt:
    def __init__(self, prefix: str, scope: str, snapshot: int):
        """Parameters are named `<prefix><name>`, apart from any others of the statement."""
        self._prefix = prefix
        self.params: dict = {}
        self._where = [f'"Scope" = {self.param("scope", scope)}']
        self._snapshot = self.param("snapshot", int(snapshot))

    def param(self, name: str, value) -> str:
        """Binds `value`; its placeholder."""
        self.params[self._prefix + name] = value
        return f"${self._prefix}{name}"

    def where(self, condition: str) -> None:
        self._where.append(condition)

    def one_of(self, column: str, values) -> None:
        """Only events whose `column` is one of `values` (no condition when there are none)."""
        if values:
            self.where(f'list_contains({self.param(column, list(values))}, "{column}")')

    def sql(self, tail: str = "") -> str:
        return (f"SELECT {COLUMNS} FROM {EVENTS_TABLE} AT (VERSION => {self._snapshot}) "
                f"WHERE {' AND '.join(self._where)} {tail}").rstrip()
