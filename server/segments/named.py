"""The reads every kind of named thing of a scope has (filter definitions, segments): one by
name, NOT_FOUND when absent, and List pages in name order with a name prefix (AIP-158)."""
from __future__ import annotations

from typing import Callable, Generic, TypeVar

from ..errors import AlreadyExists, NotFound
from ..limits import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from .paging import PageTokens, page_size

T = TypeVar("T")


class Named(Generic[T]):
    def __init__(self, engine, tokens: PageTokens, what: str,
                 one: Callable[[object, str, str], T | None],
                 page: Callable[[object, str, str, str, int], list[T]],
                 name_of: Callable[[T], str]):
        """`one(cursor, scope, name)` reads one; `page(cursor, scope, prefix, after, limit)`
        up to `limit` whose names start with `prefix` and follow `after`, in name order."""
        self._engine = engine
        self._tokens = tokens
        self._what = what  # "filter definition", "segment"
        self._one = one
        self._page = page
        self._name_of = name_of

    def get(self, scope: str, name: str) -> T:
        with self._engine.lake_cursor() as cursor:
            return self.current(cursor, scope, name)

    def absent(self, cursor, scope: str, name: str) -> None:
        """Within a create's transaction: ALREADY_EXISTS when the name is taken."""
        if self._one(cursor, scope, name) is not None:
            raise AlreadyExists(f"{self._what} '{name}' already exists in scope '{scope}'")

    def current(self, cursor, scope: str, name: str) -> T:
        """As `cursor` (within a write's transaction) sees it."""
        found = self._one(cursor, scope, name)
        if found is None:
            raise NotFound(f"no {self._what} '{name}' in scope '{scope}'")
        return found

    def list(self, scope: str, size: int, token: str, prefix: str) -> tuple[list[T], str]:
        """A page, and the next page's token (empty after the last)."""
        size = page_size(size, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        request = {"scope": scope, "prefix": prefix}
        after = self._tokens.position(self._what, token, request) or ""
        with self._engine.lake_cursor() as cursor:
            found = self._page(cursor, scope, prefix, after, size + 1)
        if len(found) <= size:
            return found, ""
        return found[:size], self._tokens.issue(self._what, request,
                                                self._name_of(found[size - 1]))
