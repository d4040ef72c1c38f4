"""Which queries can be answered from the events with the largest (or smallest) sort key alone.

A query whose answer is its first n rows sorted by a promoted real key (schema.PromotedKey),
after row-wise operators only, sorts on (order column, value). Restricted to the events whose
order column is at least some b (at most b, ascending), it has the same answer as long as it
still returns all n rows: each event it leaves out has a smaller order key than each one it
keeps, so none of them could rank among the first n, whatever the later sort keys say. Events
without the value sort last (nulls last) and are left out too; a nulls-first sort is not
answered this way.

With `$srv_bound` in the scan, Parquet min/max statistics skip the row groups whose order keys
stay below it, where DuckDB 1.4's own top-N reads them all for the statistics of commerce events
in general, not of the rows a query's filter keeps. The server learns b from an exact answer:
the order key of its last row, returned in a hidden last column (server/reads/top_by_key.py).
"""
from __future__ import annotations

from dataclasses import dataclass

from .sqltext import quote_ident

# The hidden last output column holding each row's order key, when the compiler is asked for it.
ORDER_KEY_OUTPUT = "__srv_order_key"
BOUND_PARAMETER = "srv_bound"


@dataclass(frozen=True)
class TopByKey:
    order_column: str  # the SQL column of the order key
    descending: bool
    rows: int  # the restricted query is exact when it returns this many rows
    depth: int  # how many of the first matching events that takes (with an offset: skip + top)

    def restricted(self, source_sql: str) -> str:
        """`source_sql` restricted to the events at or beyond `$srv_bound` in sort order."""
        test = ">=" if self.descending else "<="
        return (f"(SELECT * FROM {source_sql} AS _all WHERE {quote_ident(self.order_column)} "
                f"{test} ${BOUND_PARAMETER})")
