"""Hot Payload/User keys kept as typed columns beside the JSON.

Any filter or sort on a JSON property parses every row's JSON; the same filter on a typed column
reads a few compressed numbers (bench/NOTES.md#promoted-keys). Compaction samples the stored
events, and keys present in a good share of them with one scalar type become columns: added to
the table, filled for stored rows, and computed for every new row on insert. The compiler then
reads the column wherever the answer is provably the same (querylang/sqlgen.py `_promoted`).

A promoted column holds exactly what the compiler's JSON expression yields for that type, built
by the same `json_path`, so answers cannot differ: numbers are
`TRY_CAST(json_extract_string(col, path) AS DOUBLE)`, strings `json_extract_string(col, path)`.
"""
from __future__ import annotations

import logging
import re
from dataclasses import replace

import duckdb

from querylang.schema import EVENTS_SCHEMA, PromotedKey, Schema
from querylang.sqlgen import json_path, quote_ident

from .lake import (
    EVENTS_TABLE, PROMOTED_KEYS_TABLE, column_names_of, quote_literal, rewrite_rows,
)

log = logging.getLogger(__name__)

DYNAMIC_COLUMNS = ("Payload", "User")
QUERIED_MIN_SHARE = 0.01
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
        f'SELECT "DynamicColumn", "Path", "Column", "Type", coalesce("OrderColumn", \'\') '
        f'FROM {PROMOTED_KEYS_TABLE} ORDER BY "Column"'
    ).fetchall()
    return tuple(PromotedKey(d, tuple(path.split(".")), c, t, o) for d, path, c, t, o in rows)


def schema_with(promoted: tuple[PromotedKey, ...]) -> Schema:
    return Schema(EVENTS_SCHEMA.table, EVENTS_SCHEMA.columns, promoted)


def column_names(keys: tuple[PromotedKey, ...]) -> list[str]:
    return ([c.name for c in EVENTS_SCHEMA.columns] + [k.column for k in keys]
            + [k.order_column for k in keys if k.order_column])


def order_key_sql(value: str) -> str:
    """The order column's value for the real value `value` (a column or expression)."""
    return (f"CASE WHEN {value} IS NOT NULL THEN CAST(least(greatest(floor({value} * "
            f"{ORDER_SCALE}), -{_ORDER_LIMIT}), {_ORDER_LIMIT}) AS BIGINT) END")


def select_sql(keys: tuple[PromotedKey, ...], relation: str, where: str = "") -> tuple[str, str]:
    """(column list, SELECT) giving the table's columns from `relation`'s base columns.

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
    orders = [order_key_sql(quote_ident(key.column)) for key in keys if key.order_column]
    if not orders:
        return ", ".join(columns), typed
    return ", ".join(columns), f"SELECT *, {', '.join(orders)} FROM ({typed})"


def column_name(dynamic_column: str, path: tuple[str, ...], kind: str) -> str:
    return f"__{dynamic_column}__{'__'.join(path)}__{kind}"


def with_order_column(key: PromotedKey) -> PromotedKey:
    if key.type != "real" or key.order_column:
        return key
    return replace(key, order_column=column_name(key.dynamic_column, key.path, "order"))


def discover(cursor: duckdb.DuckDBPyConnection, known: tuple[PromotedKey, ...], *,
             sample_rows: int, min_share: float, max_keys: int,
             queried: dict[tuple[str, tuple], int] | None = None) -> list[PromotedKey]:
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
                SELECT {quote_ident(dynamic)} AS doc FROM {EVENTS_TABLE}
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
    return [key for _, key in found[:room]]


def lacking_order_columns(keys: tuple[PromotedKey, ...]) -> list[PromotedKey]:
    """Real keys promoted before order columns existed (store format 4): `promote` fills them."""
    return [key for key in keys if with_order_column(key) != key]


def promote(cursor: duckdb.DuckDBPyConnection, keys: list[PromotedKey],
            known: tuple[PromotedKey, ...], inline_row_limit: int) -> None:
    """Adds the columns of `keys`, and the order columns `known` keys lack, then fills them and
    registers them in one transaction.

    The stored rows are filled by copying them with the new values (lake.rewrite_rows: UPDATE
    of the partitioned table crashes DuckLake 1.4). A column is registered in that same
    transaction, so the compiler never reads a column that is not filled; a crash before it
    leaves an unused column, which the next run reuses. Compaction then drops the old files.
    """
    upgraded = [with_order_column(key) for key in lacking_order_columns(known)]
    if not keys and not upgraded:
        return
    existing = column_names_of(cursor, "events")
    wanted = [(key.column, _SQL_TYPE[key.type]) for key in keys] + [
        (key.order_column, "BIGINT") for key in list(keys) + upgraded if key.order_column]
    missing = [(name, sql_type) for name, sql_type in wanted if name not in existing]
    if missing:
        cursor.execute("BEGIN")
        for name, sql_type in missing:
            cursor.execute(
                f"ALTER TABLE {EVENTS_TABLE} ADD COLUMN {quote_ident(name)} {sql_type}")
        cursor.execute("COMMIT")
    cursor.execute("BEGIN")
    every_key = tuple(with_order_column(k) for k in known) + tuple(keys)

    def insert_of(condition: str) -> str:
        columns, select = select_sql(every_key, EVENTS_TABLE, f"WHERE {condition}")
        return f"INSERT INTO {EVENTS_TABLE} ({columns}) {select}"

    rewrite_rows(cursor, insert_of, "TRUE", {}, inline_row_limit)
    for key in keys:
        cursor.execute(
            f"INSERT INTO {PROMOTED_KEYS_TABLE} VALUES (?, ?, ?, ?, ?)",
            [key.dynamic_column, ".".join(key.path), key.column, key.type,
             key.order_column or None],
        )
    for key in upgraded:
        cursor.execute(
            f'UPDATE {PROMOTED_KEYS_TABLE} SET "OrderColumn" = ? WHERE "Column" = ?',
            [key.order_column, key.column],
        )
    cursor.execute("COMMIT")
    log.info("promoted %s", ", ".join(
        f"{k.dynamic_column}.{'.'.join(k.path)} ({k.type})" for k in keys))
    if upgraded:
        log.info("order columns filled for %s", ", ".join(
            f"{k.dynamic_column}.{'.'.join(k.path)}" for k in upgraded))
