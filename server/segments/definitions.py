"""Filter definitions: create, get, list, replace, delete and preview.

A definition is stored only once its template is sound (querylang.templates.check): every
placeholder declared, every declared parameter used, and the query compiling with values of the
declared types. A definition that segments use keeps working for them: replacing it with one
their values no longer fit, or deleting it, is FAILED_PRECONDITION naming them.
"""
from __future__ import annotations

import dataclasses
from typing import Callable, Mapping

import querylang
from querylang import templates
from querylang.schema import EVENTS_SCHEMA, STRING, Schema

from ..errors import (BadQuery, BadRequest, DefinitionInUse, FieldViolation,
                      PreconditionFailed, StaleEtag)
from . import catalog, values
from .catalog import CatalogWrites, created, new_etag, now
from .model import FilterDefinition, Segment, Value, check_definition_fields
from .named import Named
from .paging import PageTokens

DEVICE_COLUMN = "DeviceId"


def check_definition(field: str, definition: FilterDefinition) -> querylang.CompiledQuery:
    """The definition compiled with sample values; BadRequest naming the field at fault."""
    check_definition_fields(field, definition)
    try:
        return templates.check(definition.query, definition.declared)
    except querylang.QueryError as error:
        raise BadQuery(str(error), f"{field}.query", error.line, error.column) from None
    except templates.ParameterError as error:
        names = [p.name for p in definition.parameters]
        where = (f"{field}.parameters[{names.index(error.parameter)}]"
                 if error.parameter in names else f"{field}.parameters")
        raise BadRequest(f"{where}: {error.message}", [FieldViolation(where, error.message)],
                         reason="PARAMETER_INVALID") from None


def compile_segment(definition: FilterDefinition, parameters: Mapping[str, Value], field: str,
                    schema: Schema = EVENTS_SCHEMA,
                    source_sql: str = '"events"') -> querylang.CompiledQuery:
    """The definition's query with a segment's values over `source_sql`; BadRequest naming
    `field` (the segment) when the values do not fit or the result has no DeviceId column."""
    bound = values.bind(definition, parameters, f"{field}.parameters")
    try:
        compiled = querylang.compile(definition.query, schema=schema, source_sql=source_sql,
                                     parameters=bound)
    except querylang.QueryError as error:  # e.g. a negative value for `take {{n}}`
        raise BadQuery(str(error), f"{field}.parameters", error.line,
                       error.column) from None
    if not any(c.name == DEVICE_COLUMN and c.type == STRING for c in compiled.columns):
        message = (f"the result of filter definition '{definition.name}' has no "
                   f"{DEVICE_COLUMN} column; a segment holds the DeviceIds of its rows")
        raise BadRequest(message, [FieldViolation(f"{field}.filter_definition", message)])
    return compiled


def check_etag(given: str, current: str, what: str) -> None:
    if given and given != current:
        raise StaleEtag(f"{what} was changed since etag {given} was read (it is now {current}); "
                        f"read it again and retry")


class Definitions(Named[FilterDefinition]):
    def __init__(self, engine, writes: CatalogWrites, tokens: PageTokens,
                 on_change: Callable[[str], None]):
        super().__init__(engine, tokens, "filter definition", catalog.definition,
                         catalog.definitions_page, lambda found: found.name)
        self._writes = writes
        self._on_change = on_change  # told the scope whose definitions changed

    def create(self, scope: str, definition: FilterDefinition) -> FilterDefinition:
        check_definition("filter_definition", definition)

        def change(cursor) -> FilterDefinition:
            self.absent(cursor, scope, definition.name)
            catalog.insert_definition(cursor, scope, stored := created(definition))
            return stored

        return self._writes.run(scope, change)

    def replace(self, scope: str, definition: FilterDefinition) -> FilterDefinition:
        check_definition("filter_definition", definition)

        def change(cursor) -> FilterDefinition:
            current = self.current(cursor, scope, definition.name)
            check_etag(definition.etag, current.etag, f"filter definition '{definition.name}'")
            for user in catalog.segments_using(cursor, scope, definition.name):
                _still_fits(definition, user)
            stored = dataclasses.replace(definition, create_time=current.create_time,
                                         update_time=now(), etag=new_etag())
            catalog.delete_definition(cursor, scope, definition.name)
            catalog.insert_definition(cursor, scope, stored)
            return stored

        stored = self._writes.run(scope, change)
        self._on_change(scope)  # its segments are refreshed with the new query
        return stored

    def delete(self, scope: str, name: str, etag: str) -> None:
        def change(cursor) -> None:
            current = self.current(cursor, scope, name)
            check_etag(etag, current.etag, f"filter definition '{name}'")
            users = [s.name for s in catalog.segments_using(cursor, scope, name)]
            if users:
                raise DefinitionInUse(
                    f"filter definition '{name}' is used by the segments {', '.join(users)}; "
                    f"delete them, or point them at another definition, first")
            catalog.delete_definition(cursor, scope, name)

        self._writes.run(scope, change)

    def preview(self, scope: str, name: str, inline: FilterDefinition | None,
                parameters: Mapping[str, Value], timeout_seconds: float | None = None,
                on_cancel: Callable | None = None):
        """Preview's answer (columns, rows, truncated) for a stored or an inline definition."""
        if inline is None and not name:
            raise BadRequest("name a stored definition, or give an inline_definition",
                             [FieldViolation("name", "is required without inline_definition")])
        if inline is not None:
            inline = dataclasses.replace(inline, name=inline.name or "inline")  # unsaved
            check_definition("inline_definition", inline)
            definition, field = inline, "inline_definition.query"
        else:
            definition, field = self.get(scope, name), "name"
        bound = values.bind(definition, parameters, "parameters")
        try:
            return self._engine.preview(scope, definition.query, timeout_seconds, on_cancel,
                                        parameters=bound)
        except querylang.QueryError as error:  # e.g. `take {{n}}` with a negative n
            raise BadQuery(str(error), field, error.line, error.column) from None


def _still_fits(definition: FilterDefinition, user: Segment) -> None:
    try:
        compile_segment(definition, user.parameters, "segment")
    except BadRequest as error:
        raise PreconditionFailed(
            f"segment '{user.name}' uses filter definition '{definition.name}' and would no "
            f"longer work with this one: {error.message}; replace the segment first") from None
