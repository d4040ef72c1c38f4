"""EvaluateSegment: a segment's DeviceIds in ascending order, a page at a time.

From the materialisation: a page token holds the generation and the last DeviceId of its page;
the next page reads that generation after that DeviceId, in one read-only transaction with the
segment's state, so a token whose generation a refresh has replaced since is
FAILED_PRECONDITION (CURSOR_STALE), never a page of another generation.

Fresh (`fresh: true`): the definition is evaluated now over the scope's events, flushed or not,
and the materialisation is left as it is. Each page evaluates again and continues after the
last DeviceId of the page before (its token holds it, and values.fingerprint of the segment
and its definition: a token from before either changed is CURSOR_STALE). So a fresh listing never repeats
a DeviceId and never skips one that matched through it; a device that starts matching while it
is paged through appears if it sorts after the page it arrived in.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Callable

from ..errors import NotFound, StaleCursor
from ..limits import DEFAULT_EVALUATE_PAGE_SIZE, MAX_EVALUATE_PAGE_SIZE
from . import catalog
from .catalog import now
from .definitions import DEVICE_COLUMN, compile_segment
from .values import fingerprint
from .paging import PageTokens, page_size
from .refresh import distinct_devices
from .tables import MEMBERS_TABLE


@dataclass(frozen=True)
class Page:
    device_ids: list[str]
    next_page_token: str
    device_count: int
    computed_at: dt.datetime | None  # None: not computed yet


class Evaluation:
    def __init__(self, engine, tokens: PageTokens):
        self._engine = engine
        self._tokens = tokens

    def materialized(self, scope: str, name: str, size: int, token: str) -> Page:
        size = page_size(size, DEFAULT_EVALUATE_PAGE_SIZE, MAX_EVALUATE_PAGE_SIZE)
        request = {"scope": scope, "segment": name}
        generation, after = self._tokens.position("segment-members", token, request) or (0, "")

        def read(cursor) -> tuple[int, Page]:
            view = catalog.segment(cursor, scope, name)
            if view is None:
                raise NotFound(f"no segment '{name}' in scope '{scope}'")
            state = view.state
            if generation and generation != state.generation:
                raise StaleCursor(f"segment '{name}' was refreshed since this page_token's "
                                  f"page; start again without it")
            ids = [row[0] for row in cursor.execute(
                f'SELECT "{DEVICE_COLUMN}" FROM {MEMBERS_TABLE} WHERE "Scope" = ? '
                f'AND "Segment" = ? AND "Generation" = ? AND "{DEVICE_COLUMN}" > ? '
                f'ORDER BY "{DEVICE_COLUMN}" LIMIT ?',
                [scope, name, state.generation, after, size + 1]).fetchall()]
            return state.generation, Page(ids, "", state.device_count, state.computed_at)

        with self._engine.lake_cursor() as cursor:
            current, page = catalog.in_transaction(cursor, read)
        return self._paged(page, size, "segment-members", request, current)

    def fresh(self, scope: str, name: str, size: int, token: str,
              timeout_seconds: float | None = None, on_cancel: Callable | None = None) -> Page:
        size = page_size(size, DEFAULT_EVALUATE_PAGE_SIZE, MAX_EVALUATE_PAGE_SIZE)
        request = {"scope": scope, "segment": name, "fresh": True}
        version, after = self._tokens.position("segment-fresh", token, request) or ("", "")
        with self._engine.lake_cursor() as cursor:
            view = catalog.segment(cursor, scope, name)
            definition = view and catalog.definition(cursor, scope, view.segment.filter_definition)
        if view is None or definition is None:
            raise NotFound(f"no segment '{name}' in scope '{scope}'" if view is None else
                           f"no filter definition '{view.segment.filter_definition}' in scope "
                           f"'{scope}'")
        current = fingerprint(view.segment, definition.etag)
        if version and version != current:
            raise StaleCursor(f"segment '{name}' or its filter definition changed since this "
                              f"page_token's page; start again without it")

        def evaluate(cursor, source) -> list[tuple]:
            compiled = compile_segment(definition, view.segment.parameters, "segment",
                                       source.schema, source.sql)
            return cursor.execute(
                f"WITH matching AS MATERIALIZED ({distinct_devices(compiled.sql)}) "
                f'SELECT total.n, page."{DEVICE_COLUMN}" '
                f"FROM (SELECT count(*) AS n FROM matching) AS total LEFT JOIN "
                f'(SELECT "{DEVICE_COLUMN}" FROM matching WHERE "{DEVICE_COLUMN}" > $seg_after '
                f'ORDER BY "{DEVICE_COLUMN}" LIMIT $seg_limit) AS page ON TRUE '
                f'ORDER BY page."{DEVICE_COLUMN}"',
                {**compiled.params, **source.params, "seg_after": after,
                 "seg_limit": size + 1}).fetchall()

        computed_at = now()
        rows = self._engine.read_scope(scope, evaluate, timeout_seconds, on_cancel)
        page = Page([device for _, device in rows if device is not None], "", rows[0][0],
                    computed_at)
        return self._paged(page, size, "segment-fresh", request, current)

    def _paged(self, page: Page, size: int, kind: str, request: dict, version) -> Page:
        """The page cut to `size`, with the token of the next one when there is more."""
        if len(page.device_ids) <= size:
            return page
        ids = page.device_ids[:size]
        return Page(ids, self._tokens.issue(kind, request, [version, ids[-1]]),
                    page.device_count, page.computed_at)
