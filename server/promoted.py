"""Hot Payload/User keys kept as typed columns beside the JSON.

Any filter or sort on a JSON property parses every row's JSON; the same filter on a typed column
reads a few compressed numbers (bench/NOTES.md#promoted-keys). Compaction samples the stored
events, and keys present in a good share of them with one scalar type become columns: added to
the table, filled for stored rows, and computed for every new row on insert. The compiler then
reads the column wherever the answer is provably the same (querylang/sqlgen.py `_promoted`).

A promoted column holds exactly what the compiler's JSON expression yields for that type, built
by the same `json_path`, so answers cannot differ: numbers are
`TRY_CAST(json_extract_string(col, path) AS DOUBLE)`, strings `json_extract_string(col, path)`.

Keys are also shredded at write time: a flush that finds a key frequent in its events (or read
by queries) adds its column and fills it from that flush on, so a store is typed within a
flush interval rather than after the daily compaction (`shred`). The rows stored before have
no value in it. As Parquet's VARIANT shredding and ClickHouse's JSON type decide per file
whether a path is a typed subcolumn, each row records which keys its flush filled: the
generation column holds the newest key generation when it was written, and a key registered at
generation g (`PromotedKey.generation`) is filled in exactly the rows whose generation is at
least g. The lake relation reads (`lake_select`) takes such a key from its column in those rows
and from the JSON in the others, in separate branches whose generation bounds Parquet's
statistics check, so the branch for older rows reads nothing once compaction has filled them
(`promote`). A key registered while the table was empty is filled everywhere (generation 0).
"""
from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field, replace
from typing import Callable

import duckdb

from querylang.schema import EVENTS_SCHEMA, PromotedKey, Schema
from querylang.sqlgen import json_path, quote_ident

from .lake import (
    EVENTS_TABLE, PROMOTED_KEYS_TABLE, REWRITE_SLICE_ROWS, column_names_of, quote_literal,
    rewrite_rows, rollback, scalar, time_slices,
)

log = logging.getLogger(__name__)

DYNAMIC_COLUMNS = ("Payload", "User")
# Per row: the newest key generation when it was written (NULL in rows from before format 7).
GENERATION_COLUMN = "__key_generation"
# Per row: TRUE once compaction has written it in time order (NULL as a flush writes it).
ORDERED_COLUMN = "__time_ordered"
QUERIED_MIN_SHARE = 0.01
# The column a UNION ALL of reads begins with. A query that needs no column of it (a count)
# still reads a set operation's first one: TrackId, 36 random bytes a row, made a filtered
# count over two generation ranges 1.6 times as slow as with EventType, about a byte a row
# (bench/NOTES.md#counts-through-a-union-2026-12-07).
SCAN_FIRST = "EventType"
_SIMPLE_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,40}$")
_SQL_TYPE = {"real": "DOUBLE", "string": "VARCHAR"}
# json_tree's type names -> the KQL type of the column that can hold them all.
_JSON_TYPES = {"BIGINT": "real", "UBIGINT": "real", "DOUBLE": "real", "VARCHAR": "string"}


# An order column's key: floor(value * ORDER_SCALE), within a BIGINT. Non-decreasing in the
# value (clamping is, and DuckDB sorts NaN above +inf), so sorting on (key, value) is sorting on
# the value; values closer than 1/ORDER_SCALE share a key and the value breaks the tie.
ORDER_SCALE = 1024
_ORDER_LIMIT = "9.2e18"


def load(cursor: duckdb.DuckDBPyConnection) -> tuple[PromotedKey, ...]:
    rows = cursor.execute(
        f'SELECT "DynamicColumn", "Path", "Column", "Type", coalesce("OrderColumn", \'\'), '
        f'CASE WHEN "Complete" THEN 0 ELSE coalesce("Generation", 0) END '
        f'FROM {PROMOTED_KEYS_TABLE} ORDER BY "Column"'
    ).fetchall()
    return tuple(PromotedKey(d, tuple(path.split(".")), c, t, o, g)
                 for d, path, c, t, o, g in rows)


def ensure_generations(cursor: duckdb.DuckDBPyConnection, _inline_row_limit: int = 0) -> None:
    """The store-format step of write-time shredding: each key's generation and whether every
    row holds it, each row's generation (NULL in the rows already stored), and whether
    compaction has written the row in time order (so it rewrites only the rows flushes wrote
    since, and rows already stored once at the first compaction)."""
    if "Generation" not in column_names_of(cursor, "promoted_keys"):
        cursor.execute(f'ALTER TABLE {PROMOTED_KEYS_TABLE} ADD COLUMN "Generation" INTEGER')
        cursor.execute(f'ALTER TABLE {PROMOTED_KEYS_TABLE} ADD COLUMN "Complete" BOOLEAN')
    existing = column_names_of(cursor, "events")
    for name, sql_type in ((GENERATION_COLUMN, "INTEGER"), (ORDERED_COLUMN, "BOOLEAN")):
        if name not in existing:
            cursor.execute(f"ALTER TABLE {EVENTS_TABLE} ADD COLUMN {quote_ident(name)} {sql_type}")


def row_generation(keys: tuple[PromotedKey, ...]) -> int:
    """The generation a row written now records: it holds every key of `keys`."""
    return max((k.generation for k in keys), default=0)


def schema_with(promoted: tuple[PromotedKey, ...]) -> Schema:
    return Schema(EVENTS_SCHEMA.table, EVENTS_SCHEMA.columns, promoted)


def column_names(keys: tuple[PromotedKey, ...]) -> list[str]:
    return ([c.name for c in EVENTS_SCHEMA.columns] + [k.column for k in keys]
            + [k.order_column for k in keys if k.order_column])


def order_key_sql(value: str) -> str:
    """The order column's value for the real value `value` (a column or expression)."""
    return (f"CASE WHEN {value} IS NOT NULL THEN CAST(least(greatest(floor({value} * "
            f"{ORDER_SCALE}), -{_ORDER_LIMIT}), {_ORDER_LIMIT}) AS BIGINT) END")


def select_sql(keys: tuple[PromotedKey, ...], relation: str, where: str = "",
               generation: int | None = None, ordered: bool = False) -> tuple[str, str]:
    """(column list, SELECT) giving the table's columns from `relation`'s base columns, and
    the generation column when `generation` is given (an INSERT into the table), and the
    ordered column, TRUE, when `ordered` (compaction's copy in time order).

    Each JSON column is parsed once for all its promoted paths (`json_extract_string` with a
    list of paths), with the values of one extraction per key at a fraction of its cost
    (bench/NOTES.md#promoted-keys).
    """
    columns = [quote_ident(name) for name in column_names(keys)]
    extracted, value_of = [], {}
    for dynamic in DYNAMIC_COLUMNS:
        mine = [k for k in keys if k.dynamic_column == dynamic]
        if not mine:
            continue
        alias = quote_ident(f"__{dynamic}_values")
        paths = ", ".join(quote_literal(json_path(k.path)) for k in mine)
        extracted.append(f"json_extract_string({quote_ident(dynamic)}, [{paths}]) AS {alias}")
        for position, key in enumerate(mine, start=1):
            value = f"{alias}[{position}]"
            value_of[key] = value if key.type == "string" else (
                f"TRY_CAST({value} AS {_SQL_TYPE[key.type]})")
    values = columns[:len(EVENTS_SCHEMA.columns)] + [
        f"{value_of[key]} AS {quote_ident(key.column)}" for key in keys]
    inner = f"SELECT *{''.join(', ' + e for e in extracted)} FROM {relation} {where}".rstrip()
    typed = f"SELECT {', '.join(values)} FROM ({inner})"
    extra = [order_key_sql(quote_ident(key.column)) for key in keys if key.order_column]
    if generation is not None:
        columns.append(quote_ident(GENERATION_COLUMN))
        extra.append(f"{int(generation)}")
    if ordered:
        columns.append(quote_ident(ORDERED_COLUMN))
        extra.append("TRUE")
    if not extra:
        return ", ".join(columns), typed
    return ", ".join(columns), f"SELECT *, {', '.join(extra)} FROM ({typed})"


def _json_value(key: PromotedKey) -> str:
    """The key's value extracted from the JSON, as the column holds it."""
    text = (f"json_extract_string({quote_ident(key.dynamic_column)}, "
            f"{quote_literal(json_path(key.path))})")
    return text if key.type == "string" else f"TRY_CAST({text} AS {_SQL_TYPE[key.type]})"


def scan_order(names: list[str]) -> list[str]:
    """`names` with SCAN_FIRST first: the order of the SELECTs a read's UNION ALL joins."""
    return [SCAN_FIRST] + [name for name in names if name != SCAN_FIRST]


def lake_select(keys: tuple[PromotedKey, ...], condition: str) -> str:
    """SELECT of the table's columns (promoted ones included, in scan_order) for the stored
    rows matching `condition`, every promoted column exact in every row: one branch per range
    of row generations, each reading a key from its column where that range holds it and from
    the JSON where not (see the module's docstring)."""
    names = scan_order(column_names(keys))
    generations = sorted({k.generation for k in keys if k.generation})
    if not generations:
        return f"SELECT {', '.join(quote_ident(n) for n in names)} FROM {EVENTS_TABLE} " \
               f"WHERE {condition}"
    marker = quote_ident(GENERATION_COLUMN)
    branches = []
    for low, high in zip([None, *generations], [*generations, None]):
        bounds = [f"{marker} >= {low}"] if low is not None else []
        if high is not None:
            bounds.append(f"{marker} < {high}" if low is not None
                          else f"({marker} < {high} OR {marker} IS NULL)")
        values = {}
        for key in keys:
            if key.generation == 0 or (low is not None and key.generation <= low):
                continue
            values[key.column] = _json_value(key)
            if key.order_column:
                values[key.order_column] = order_key_sql(values[key.column])
        select = ", ".join(f"{values[n]} AS {quote_ident(n)}" if n in values else quote_ident(n)
                           for n in names)
        branches.append(f"SELECT {select} FROM {EVENTS_TABLE} WHERE ({condition}) AND "
                        f"{' AND '.join(bounds)}")
    return " UNION ALL ".join(branches)


def column_name(dynamic_column: str, path: tuple[str, ...], kind: str) -> str:
    return f"__{dynamic_column}__{'__'.join(path)}__{kind}"


def with_order_column(key: PromotedKey) -> PromotedKey:
    if key.type != "real" or key.order_column:
        return key
    return replace(key, order_column=column_name(key.dynamic_column, key.path, "order"))


def discover(cursor: duckdb.DuckDBPyConnection, known: tuple[PromotedKey, ...], *,
             sample_rows: int, min_share: float, max_keys: int,
             queried: dict[tuple[str, tuple], int] | None = None,
             source: str = EVENTS_TABLE, unqueried_max: int | None = None) -> list[PromotedKey]:
    """Keys always of one scalar type in a sample of stored events, queried keys first.

    A key that queries read (`queried`: how often) needs to be in QUERIED_MIN_SHARE of the
    sample; any other key in `min_share`. Each extra key costs every flush a little per event
    (bench/NOTES.md#promoted-keys), so the slots go to the keys queries use, then to the most
    common ones.
    """
    queried = queried or {}
    taken = {(k.dynamic_column, k.path) for k in known}
    room = max_keys - len(known)
    if room <= 0:
        return []
    found: list[tuple[int, PromotedKey]] = []
    for dynamic in DYNAMIC_COLUMNS:
        rows = cursor.execute(
            f"""
            WITH sample AS (
                SELECT {quote_ident(dynamic)}::JSON AS doc FROM {source}
                USING SAMPLE {int(sample_rows)} ROWS
            ), leaves AS (
                SELECT t.fullkey, t.type
                FROM sample, json_tree(sample.doc) AS t
                WHERE t.atom IS NOT NULL AND t.type <> 'NULL' AND t.fullkey NOT LIKE '%[%'
                  AND t.fullkey NOT LIKE '%"%'
            )
            SELECT fullkey, list(DISTINCT type) AS types, count(*) AS n,
                   (SELECT count(*) FROM sample) AS total
            FROM leaves GROUP BY fullkey
            """
        ).fetchall()
        for fullkey, types, count, total in rows:
            path = tuple(fullkey[2:].split(".")) if fullkey.startswith("$.") else ()
            if not path or len(path) > 3 or not all(_SIMPLE_KEY.match(p) for p in path):
                continue
            kinds = {_JSON_TYPES.get(t) for t in types}
            uses = queried.get((dynamic, path), 0)
            share = count / total if total else 0.0
            if len(kinds) != 1 or None in kinds or (dynamic, path) in taken:
                continue
            if share < (QUERIED_MIN_SHARE if uses else min_share):
                continue
            kind = kinds.pop()
            key = with_order_column(
                PromotedKey(dynamic, path, column_name(dynamic, path, kind), kind))
            found.append(((-uses, -count, key.column), key))
    found.sort(key=lambda item: item[0])
    return _within_room(found, room, max_keys if unqueried_max is None
                        else unqueried_max - len(known))


def _within_room(found: list, room: int, unqueried_room: int) -> list[PromotedKey]:
    """The first `room` keys in order, of which at most `unqueried_room` no query read."""
    picked = []
    for (minus_uses, _, _), key in found:
        if len(picked) == room:
            break
        if not minus_uses:
            if unqueried_room <= 0:
                continue
            unqueried_room -= 1
        picked.append(key)
    return picked


def lacking_order_columns(keys: tuple[PromotedKey, ...]) -> list[PromotedKey]:
    """Real keys promoted before order columns existed (store format 4): `promote` fills them."""
    return [key for key in keys if with_order_column(key) != key]


def register(cursor: duckdb.DuckDBPyConnection, keys: list[PromotedKey],
             known: tuple[PromotedKey, ...]) -> None:
    """Adds the columns of `keys`, and the order columns `known` keys lack, and registers them
    at a new generation (0, complete, while the table is empty): flushes fill them from then
    on, `fill` fills the rows stored before, slice by slice, and `complete` then marks them.
    Until then the lake relation reads those rows' values from the JSON (`lake_select`), so
    the compiler never reads a column that is not filled; a crash leaves at worst an unused
    column, which the next run reuses."""
    upgraded = [with_order_column(key) for key in lacking_order_columns(known)]
    if not keys and not upgraded:
        return
    _add_columns(cursor, keys, upgraded)
    cursor.execute("BEGIN")
    generation = _new_generation(cursor)
    _register(cursor, keys, generation)
    for key in upgraded:  # the order column is read from the JSON until filled
        cursor.execute(
            f'UPDATE {PROMOTED_KEYS_TABLE} SET "OrderColumn" = ?, "Generation" = ?, '
            f'"Complete" = ? WHERE "Column" = ?',
            [key.order_column, generation, not generation, key.column])
    cursor.execute("COMMIT")
    _log_promoted(keys, upgraded)


def _unfilled(keys: tuple[PromotedKey, ...]) -> str | None:
    """The rows that lack a key's column (their generation is older than the key's)."""
    newest = max((k.generation for k in keys), default=0)
    if not newest:
        return None
    marker = quote_ident(GENERATION_COLUMN)
    return f"({marker} < {newest} OR {marker} IS NULL)"


def unfilled_slices(cursor: duckdb.DuckDBPyConnection) -> list[tuple[str, dict]]:
    """Conditions that split the rows to write again into slices of at most REWRITE_SLICE_ROWS
    events (lake.time_slices), for `fill` one at a time: the rows that lack a key's column, and
    the rows flushes wrote since the last compaction (in arrival order: a row group of them
    may span a whole month, where a filter on EventTime could skip it in time order)."""
    unfilled = _unfilled(load(cursor))
    rewrite = f"{quote_ident(ORDERED_COLUMN)} IS NULL"
    if unfilled is not None:
        rewrite = f"({unfilled} OR {rewrite})"
    slices, _ = time_slices(cursor, rewrite, {}, REWRITE_SLICE_ROWS)
    return [(f"{rewrite} AND {condition}", params) for condition, params in slices]


def fill(cursor: duckdb.DuckDBPyConnection, where: str, params: dict,
         inline_row_limit: int) -> None:
    """In one transaction: copies the rows matching `where` in time order with every key's
    column filled, the newest generation and marked ordered, and deletes the originals (lake.rewrite_rows: UPDATE of the
    partitioned table crashes DuckLake 1.4). Each slice is its own transaction, so flushes go
    on between slices and memory is bounded by a slice, whatever the store's size."""
    cursor.execute("BEGIN")
    try:
        keys = tuple(with_order_column(k) for k in load(cursor))
        generation = _issued_generation(cursor)

        def insert_of(condition: str) -> str:
            columns, select = select_sql(keys, EVENTS_TABLE, f"WHERE {condition}", generation,
                                         ordered=True)
            return f"INSERT INTO {EVENTS_TABLE} ({columns}) {select}"

        rewrite_rows(cursor, insert_of, where, params, inline_row_limit)
        cursor.execute("COMMIT")
    except BaseException:
        rollback(cursor)
        raise


def complete(cursor: duckdb.DuckDBPyConnection, shared: bool) -> None:
    """Marks the keys complete once no stored row lacks their column. Not on a catalog other
    servers write to: one that has not yet seen a key could store rows without it meanwhile;
    there the branch of older rows reads nothing once they are filled (`lake_select`)."""
    unfilled = _unfilled(load(cursor))
    if unfilled is None or shared:
        return
    cursor.execute("BEGIN")
    try:
        if not scalar(cursor, f"SELECT count(*) FROM {EVENTS_TABLE} WHERE {unfilled}"):
            cursor.execute(f'UPDATE {PROMOTED_KEYS_TABLE} SET "Complete" = TRUE')
        cursor.execute("COMMIT")
    except BaseException:
        rollback(cursor)
        raise


def _log_promoted(keys, upgraded) -> None:
    if keys:
        log.info("promoted %s", ", ".join(
            f"{k.dynamic_column}.{'.'.join(k.path)} ({k.type})" for k in keys))
    if upgraded:
        log.info("order columns added for %s", ", ".join(
            f"{k.dynamic_column}.{'.'.join(k.path)}" for k in upgraded))


def _add_columns(cursor: duckdb.DuckDBPyConnection, keys, upgraded, transaction=True) -> None:
    existing = column_names_of(cursor, "events")
    wanted = [(key.column, _SQL_TYPE[key.type]) for key in keys] + [
        (key.order_column, "BIGINT") for key in list(keys) + upgraded if key.order_column]
    missing = [(name, sql_type) for name, sql_type in wanted if name not in existing]
    if not missing:
        return
    if transaction:
        cursor.execute("BEGIN")
    for name, sql_type in missing:
        cursor.execute(f"ALTER TABLE {EVENTS_TABLE} ADD COLUMN {quote_ident(name)} {sql_type}")
    if transaction:
        cursor.execute("COMMIT")


def _register(cursor: duckdb.DuckDBPyConnection, keys, generation: int | None) -> None:
    for key in keys:
        cursor.execute(
            f'INSERT INTO {PROMOTED_KEYS_TABLE} ("DynamicColumn", "Path", "Column", "Type", '
            f'"OrderColumn", "Generation", "Complete") VALUES (?, ?, ?, ?, ?, ?, ?)',
            [key.dynamic_column, ".".join(key.path), key.column, key.type,
             key.order_column or None, generation, not generation],
        )


def _issued_generation(cursor: duckdb.DuckDBPyConnection) -> int:
    """The newest generation registered (complete keys included); 0 when none."""
    return scalar(cursor, f'SELECT coalesce(max("Generation"), 0) FROM {PROMOTED_KEYS_TABLE}')


def _new_generation(cursor: duckdb.DuckDBPyConnection) -> int:
    """The generation of keys registered now: 0 while the table holds no row (nothing to
    fill), else one above every generation issued, so no row written before counts as
    holding them."""
    empty = not scalar(cursor, f"SELECT count(*) FROM (SELECT 1 FROM {EVENTS_TABLE} LIMIT 1)")
    return 0 if empty else _issued_generation(cursor) + 1


# Events sampled from a flush to find keys to shred, and how often a server looks.
SHRED_SAMPLE_ROWS = 2000
SHRED_INTERVAL_SECONDS = 30.0
# Slots that flushes leave to keys queries read: a first flush would otherwise give every slot
# to the most frequent keys, and a key queries filter on later would find none.
QUERIED_RESERVE = 8


@dataclass
class Shredder:
    """When a flush looks for keys to shred at write time: the promotion settings, what queries
    read (`queried()`), and the time of the last look (each costs a JSON walk of a sample)."""

    min_share: float
    max_keys: int
    min_events: int
    queried: Callable[[], dict] = dict
    interval_seconds: float = SHRED_INTERVAL_SECONDS
    _last: float = field(default=float("-inf"), repr=False)

    def due(self, keys: tuple[PromotedKey, ...], events: int) -> bool:
        return (0 < self.min_events <= events and len(keys) < self.max_keys
                and time.monotonic() - self._last >= self.interval_seconds)

    def shred(self, cursor: duckdb.DuckDBPyConnection, keys: tuple[PromotedKey, ...],
              relation: str) -> tuple[PromotedKey, ...]:
        """Within a flush's transaction, before its INSERT: gives the keys frequent in
        `relation`'s events (or read by queries) their columns, filled by this flush on;
        returns every key. They take a new generation, or 0 while the table is empty."""
        self._last = time.monotonic()
        found = discover(cursor, keys, sample_rows=SHRED_SAMPLE_ROWS, min_share=self.min_share,
                         max_keys=self.max_keys, queried=self.queried(), source=relation,
                         unqueried_max=max(self.max_keys - QUERIED_RESERVE, self.max_keys // 2))
        if not found:
            return keys
        generation = _new_generation(cursor)
        _add_columns(cursor, found, [], transaction=False)
        _register(cursor, found, generation)
        log.info("shredding %s from this flush on (generation %d)", ", ".join(
            f"{k.dynamic_column}.{'.'.join(k.path)} ({k.type})" for k in found), generation)
        return load(cursor)
