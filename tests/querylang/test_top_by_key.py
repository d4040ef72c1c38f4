"""Which queries are answered from beyond an order key bound, and that doing so is exact."""
from __future__ import annotations

import pytest
from ql_data import NOW, promoted_connection, promoted_schema

from querylang import compile, compile_list
from querylang.top_by_key import BOUND_PARAMETER, ORDER_KEY_OUTPUT

ORDERED = promoted_schema(order_column=True)
UNORDERED = promoted_schema()


@pytest.fixture(scope="module")
def db():
    return promoted_connection(order_column=True)


@pytest.mark.parametrize("query, descending, rows, depth", [
    ("Events | where City != 'x' | top 3 by todouble(Payload.price) desc | project TrackId",
     True, 3, 3),
    ("Events | sort by todouble(Payload.price) asc nulls last, TrackId | take 4", False, 4, 4),
    ("Events | top 2 by todouble(Payload.price) | extend d = 1", True, 2, 2),
    # the property itself: its numbers sort first, in the order column's order
    ("Events | top 5 by Payload.price desc", True, 5, 5),
])
def test_a_top_n_by_a_promoted_key_is_answered_from_beyond_a_bound(query, descending, rows, depth):
    hint = compile(query, schema=ORDERED, now=NOW).top_by_key
    assert (hint.order_column, hint.descending, hint.rows, hint.depth) == (
        "p_price_order", descending, rows, depth)


def test_a_list_page_by_a_promoted_key_needs_a_full_page():
    hint = compile_list("", "Payload/price desc", skip=40, top=10, schema=ORDERED).top_by_key
    assert (hint.descending, hint.rows, hint.depth) == (True, 10, 50)


@pytest.mark.parametrize("query", [
    "Events | top 3 by todouble(Payload.price) asc",  # nulls first: they are not beyond a bound
    "Events | top 3 by todouble(Payload.price) desc nulls first",
    "Events | top 3 by todouble(Payload.price) desc | where City != 'x'",
    "Events | top 3 by todouble(Payload.price) desc | take 2",
    "Events | top 3 by todouble(Payload.price) desc | summarize count()",
    "Events | top 3 by tostring(Payload.price) desc",
    "Events | extend Payload = User | top 3 by todouble(Payload.price) desc",
    "Events | top 3 by City desc",
    "Events | sort by todouble(Payload.price) desc | summarize count() by City",
])
def test_other_shapes_are_read_whole(query):
    assert compile(query, schema=ORDERED, now=NOW).top_by_key is None


def test_without_an_order_column_nothing_is_bounded():
    query = "Events | top 3 by todouble(Payload.price) desc"
    assert compile(query, schema=UNORDERED, now=NOW).top_by_key is None


@pytest.mark.parametrize("query", [
    "Events | top 3 by todouble(Payload.price) desc | project TrackId",
    "Events | top 4 by todouble(Payload.price) asc nulls last | project TrackId, City",
    "Events | where EventType != 'click' | top 2 by todouble(Payload.price) desc",
    "Events | top 4 by Payload.price desc | project TrackId",
])
def test_the_bounded_query_at_the_learned_key_gives_the_same_rows(db, query):
    whole = compile(query, schema=ORDERED, source_sql="events", now=NOW, order_key_output=True)
    plain = compile(query, schema=ORDERED, source_sql="events", now=NOW)
    rows = db.execute(whole.sql, whole.params).fetchall()
    names = [d[0] for d in db.description]
    assert names[-1] == ORDER_KEY_OUTPUT and ORDER_KEY_OUTPUT not in plain.sql
    assert [r[:-1] for r in rows] == db.execute(plain.sql, plain.params).fetchall()
    bound = rows[-1][-1]
    hint = whole.top_by_key
    bounded = compile(query, schema=ORDERED, source_sql=hint.restricted("events"), now=NOW,
                      order_key_output=True)
    params = {**bounded.params, BOUND_PARAMETER: bound}
    assert db.execute(bounded.sql, params).fetchall() == rows
    # One step further reads fewer events than the answer needs: short, never a wrong answer.
    beyond = bound + (1 if hint.descending else -1)
    short = db.execute(bounded.sql, {**bounded.params, BOUND_PARAMETER: beyond}).fetchall()
    assert len(short) < hint.rows
