"""A promoted real key's order column: sorting on (order key, value) is sorting on the value."""
from __future__ import annotations

import random

import duckdb
import pytest

from trackstore_server.promoted import ORDER_SCALE, order_key_sql

EDGES = ["'nan'", "'inf'", "'-inf'", "-0.0", "0.0", "1e300", "-1e300", "1e-300", "-1e-300",
         "9.2e18", "-9.2e18", "1.7976931348623157e308", "4.9e-324", "NULL"]


@pytest.fixture
def values():
    con = duckdb.connect()
    rng = random.Random(7)
    numbers = [rng.uniform(-1e6, 1e6) for _ in range(500)] + [rng.randrange(-50, 50) / 7
                                                               for _ in range(500)]
    # neighbours closer than 1/ORDER_SCALE share an order key
    numbers += [3.0 + i / (ORDER_SCALE * 16) for i in range(40)]
    rows = [f"({e}::DOUBLE)" for e in EDGES] + [f"({n!r}::DOUBLE)" for n in numbers]
    con.execute(f"CREATE TABLE t AS SELECT x, {order_key_sql('x')} AS k "
                f"FROM (VALUES {', '.join(rows)}) v(x)")
    return con


@pytest.mark.parametrize("direction", ["ASC NULLS LAST", "DESC NULLS LAST", "ASC NULLS FIRST",
                                       "DESC NULLS FIRST"])
def test_sorting_on_the_key_then_the_value_is_sorting_on_the_value(values, direction):
    by_value = values.execute(f"SELECT x FROM t ORDER BY x {direction}").fetchall()
    by_key = values.execute(f"SELECT x FROM t ORDER BY k {direction}, x {direction}").fetchall()
    # compare as text: NaN never equals itself
    assert [repr(x) for x, in by_key] == [repr(x) for x, in by_value]


def test_the_key_is_null_exactly_where_the_value_is_and_groups_close_values(values):
    assert values.execute("SELECT count(*) FROM t WHERE (x IS NULL) <> (k IS NULL)").fetchone() == (0,)
    keys = values.execute("SELECT count(DISTINCT k) FROM t WHERE x BETWEEN 3 AND 3.003").fetchone()
    assert keys == (3,)  # 40 values, 1/16 of a key step apart
    extremes = values.execute("SELECT min(k), max(k) FROM t").fetchone()
    assert extremes == (-9_200_000_000_000_000_000, 9_200_000_000_000_000_000)
