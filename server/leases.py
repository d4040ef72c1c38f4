"""One server at a time for a named job (a segment refresh, a scheduled export run).

Servers sharing a catalog agree through the lake table `leases` ("Name", "Holder", "Until").
A claim, in one DuckLake transaction, reads the rows of the name, gives up if another holder's
lease has not run out, and otherwise deletes every row of the name and inserts its own. Two
claims that overlap both delete the row(s) they saw; DuckLake refuses the second commit of two
transactions that deleted from the same data file (or the same table's inlined rows), so at most
one of them wins. A name's first claim has no row to delete: `claim` first inserts an expired
placeholder when it sees none. Of two servers claiming a new name together, at least one sees
the other's placeholder (each claim starts after its own placeholder is committed, so they
cannot both start before the other's commit) and deletes it, as its owner does: they conflict.

Holders that stop without releasing leave a lease that runs out after its time to live.
"""
from __future__ import annotations

import datetime as dt

import duckdb

from .lake import LAKE, rollback, table_names

LEASES_TABLE = f"{LAKE}.main.leases"
_EXPIRED = dt.datetime(1970, 1, 1)


def ensure_table(cursor: duckdb.DuckDBPyConnection, _inline_row_limit: int = 0) -> None:
    """The store-format step that adds the table (server/store.py)."""
    if "leases" not in table_names(cursor):
        cursor.execute(f'CREATE TABLE {LEASES_TABLE} '
                       f'("Name" VARCHAR, "Holder" VARCHAR, "Until" TIMESTAMP)')


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def claim(cursor: duckdb.DuckDBPyConnection, name: str, holder: str, seconds: float) -> bool:
    """True when `holder` holds the lease on `name` for `seconds` from now (a new claim, or its
    own lease renewed); False when another holder's lease is current or a concurrent claim won.
    The cursor must not be inside a transaction."""
    if not _held_rows(cursor, name):
        _insert(cursor, name, "", _EXPIRED)
    cursor.execute("BEGIN")
    try:
        rows = _held_rows(cursor, name)
        now = _now()
        if any(other != holder and until > now for other, until in rows):
            rollback(cursor)
            return False
        cursor.execute(f'DELETE FROM {LEASES_TABLE} WHERE "Name" = ?', [name])
        cursor.execute(f"INSERT INTO {LEASES_TABLE} VALUES (?, ?, ?)",
                       [name, holder, now + dt.timedelta(seconds=seconds)])
        cursor.execute("COMMIT")
        return True
    except duckdb.TransactionException:
        rollback(cursor)  # another server's claim committed first
        return False
    except BaseException:
        rollback(cursor)
        raise


def release(cursor: duckdb.DuckDBPyConnection, name: str, holder: str) -> None:
    """Ends `holder`'s lease on `name` early, so another server may claim it at once. Losing a
    race here is harmless: the lease runs out anyway."""
    cursor.execute("BEGIN")
    try:
        if any(other == holder for other, _ in _held_rows(cursor, name)):
            cursor.execute(f'DELETE FROM {LEASES_TABLE} WHERE "Name" = ?', [name])
            cursor.execute(f"INSERT INTO {LEASES_TABLE} VALUES (?, ?, ?)", [name, "", _EXPIRED])
        cursor.execute("COMMIT")
    except duckdb.TransactionException:
        rollback(cursor)
    except BaseException:
        rollback(cursor)
        raise


def holder_of(cursor: duckdb.DuckDBPyConnection, name: str) -> str | None:
    """Who holds a current lease on `name`, if anyone."""
    now = _now()
    return next((holder for holder, until in _held_rows(cursor, name) if until > now), None)


def _held_rows(cursor: duckdb.DuckDBPyConnection, name: str) -> list[tuple[str, dt.datetime]]:
    return cursor.execute(f'SELECT "Holder", "Until" FROM {LEASES_TABLE} WHERE "Name" = ?',
                          [name]).fetchall()


def _insert(cursor: duckdb.DuckDBPyConnection, name: str, holder: str,
            until: dt.datetime) -> None:
    cursor.execute(f"INSERT INTO {LEASES_TABLE} VALUES (?, ?, ?)", [name, holder, until])
