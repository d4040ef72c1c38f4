"""Segments as stored: create, get, list, replace, delete.

A segment is stored only when its definition exists and its values fit the definition's
parameters, and the definition's result has the DeviceId column (definitions.compile_segment).
A new segment, or one whose definition or values changed, is refreshed at once (`on_change`);
its materialisation goes with it when it is deleted (`on_delete` drops it from memory).
"""
from __future__ import annotations

import dataclasses
from typing import Callable

from ..errors import NotFound
from . import catalog
from .catalog import CatalogWrites, created, new_etag, now
from .definitions import check_etag, compile_segment
from .model import Materialization, Segment, SegmentView, check_segment_fields
from .named import Named
from .paging import PageTokens

# (scope, segment name)
Notify = Callable[[str, str], None]


class StoredSegments(Named[SegmentView]):
    def __init__(self, engine, writes: CatalogWrites, tokens: PageTokens, on_change: Notify,
                 on_delete: Notify):
        super().__init__(engine, tokens, "segment", catalog.segment, catalog.segments_page,
                         lambda found: found.segment.name)
        self._writes = writes
        self._on_change = on_change
        self._on_delete = on_delete

    def create(self, scope: str, segment: Segment) -> SegmentView:
        check_segment_fields("segment", segment)

        def change(cursor) -> Segment:
            self.absent(cursor, scope, segment.name)
            self._check_definition(cursor, scope, segment)
            catalog.insert_segment(cursor, scope, stored := created(segment))
            return stored

        stored = self._writes.run(scope, change)
        self._on_change(scope, stored.name)
        return SegmentView(stored, Materialization())

    def replace(self, scope: str, segment: Segment) -> SegmentView:
        check_segment_fields("segment", segment)

        def change(cursor) -> tuple[SegmentView, bool]:
            current = self.current(cursor, scope, segment.name)
            check_etag(segment.etag, current.segment.etag, f"segment '{segment.name}'")
            self._check_definition(cursor, scope, segment)
            stored = dataclasses.replace(segment, create_time=current.segment.create_time,
                                         update_time=now(), etag=new_etag())
            catalog.delete_segment(cursor, scope, segment.name)
            catalog.insert_segment(cursor, scope, stored)
            changed = (stored.filter_definition, stored.parameters) != (
                current.segment.filter_definition, current.segment.parameters)
            return SegmentView(stored, current.state), changed

        view, changed = self._writes.run(scope, change)
        if changed:
            self._on_change(scope, segment.name)
        return view

    def delete(self, scope: str, name: str, etag: str) -> None:
        def change(cursor) -> None:
            current = self.current(cursor, scope, name)
            check_etag(etag, current.segment.etag, f"segment '{name}'")
            catalog.delete_segment(cursor, scope, name)
            catalog.delete_materialization(cursor, scope, name)

        self._writes.run(scope, change)
        self._on_delete(scope, name)

    @staticmethod
    def _check_definition(cursor, scope: str, segment: Segment) -> None:
        definition = catalog.definition(cursor, scope, segment.filter_definition)
        if definition is None:
            raise NotFound(f"no filter definition '{segment.filter_definition}' in scope "
                           f"'{scope}' (segment.filter_definition)")
        compile_segment(definition, segment.parameters, "segment")
