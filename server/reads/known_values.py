"""What a read may assume the scope's tracked columns hold, and whether that still held when it
ended: the read side of server/column_values.py, for querylang/known_values.py.

A read takes the values with a token of the state they were read at. The compiler answers a test
for a value outside them as FALSE without a scan; such an answer is kept only if the token is
the same once the query has read its snapshot (`unchanged`), otherwise the read runs again
without the values (reads/plan.py). Rare: a value new to the scope arrived meanwhile.

An embedded catalog needs only the values given to this server: DuckDB locks the catalog's file,
so no other process writes to it, and the lake holds what this server found there at start or
stored since. A shared catalog adds what other servers stored: the lake table, read again when
its version moved (column_values.LakeValues).

An embedded catalog also knows every DeviceId of the scope (device_ids.py). New devices arrive
with nearly every batch, so their generation is checked only when a test found a device
missing, not whenever a query relied on the other columns' values.
"""
from __future__ import annotations

from typing import Callable

from querylang import KnownValues

from ..column_values import GivenValues, LakeValues, combined
from ..device_ids import DeviceIds


class ScopeValues:
    def __init__(self, given: GivenValues, shared_cursor: Callable[[], object] | None,
                 devices: DeviceIds | None = None):
        """`given`: the writer's values of the events given to this server. `shared_cursor`: a
        new cursor on the store, when the catalog is shared with other servers; else None.
        `devices`: the writer's DeviceIds of the scopes, on an embedded catalog."""
        self._given = given
        self._shared_cursor = shared_cursor
        self._devices = devices
        self._lake = LakeValues()
        self.refresh()

    @property
    def whole_when_taken(self) -> bool:
        """Whether the values of a scope, when taken, hold every value a read could then see.
        Only on an embedded catalog: a shared one's values of other servers are read again
        when a read checks them (`unchanged`)."""
        return self._shared_cursor is None

    def of_scope(self, scope: str) -> tuple[tuple, KnownValues]:
        """(token, column -> every value it may hold) for a read of `scope` starting now."""
        token, known = self._tracked(scope)
        devices = self._devices.of_scope(scope) if self._devices is not None else None
        if devices is not None:
            known = {**known, "DeviceId": devices}
        return (token, devices), known

    def _tracked(self, scope: str) -> tuple[tuple, dict]:
        generation, given = self._given.of_scope(scope)
        if self._shared_cursor is None:
            return (None, generation), {c: v for c, v in given.items() if v is not None}
        version, in_lake = self._lake.of_scope(scope)
        return (version, generation), combined(in_lake, given)

    def refresh(self) -> None:
        """Reads the lake table again if another server may have changed it."""
        if self._shared_cursor is None:
            return
        cursor = self._shared_cursor()
        try:
            self._lake.refresh(cursor)
        finally:
            cursor.close()

    def unchanged(self, scope: str, token: tuple) -> bool:
        """Whether the values of `scope` are still those of `token` (read after the query)."""
        tracked, devices = token
        self.refresh()
        return self._tracked(scope)[0] == tracked and (devices is None or devices.unchanged())
