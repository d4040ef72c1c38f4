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
"""
from __future__ import annotations

from typing import Callable

from querylang import KnownValues

from ..column_values import GivenValues, LakeValues, combined


class ScopeValues:
    def __init__(self, given: GivenValues, shared_cursor: Callable[[], object] | None):
        """`given`: the writer's values of the events given to this server. `shared_cursor`: a
        new cursor on the store, when the catalog is shared with other servers; else None."""
        self._given = given
        self._shared_cursor = shared_cursor
        self._lake = LakeValues()
        self.refresh()

    def of_scope(self, scope: str) -> tuple[tuple, KnownValues]:
        """(token, column -> every value it may hold) for a read of `scope` starting now."""
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
        self.refresh()
        return self.of_scope(scope)[0] == token
