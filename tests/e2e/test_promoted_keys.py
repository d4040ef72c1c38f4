"""Hot Payload/User keys become typed columns at compaction; answers stay identical."""
from __future__ import annotations

from helpers import event
from trackstore_server.config import Settings
from trackstore_server.lake import EVENTS_TABLE, PROMOTED_KEYS_TABLE, attach
from trackstore_server.promoted import order_key_sql
from trackstore_server.store import STORE_FORMAT_TABLE

QUERIES = [
    "Events | where Payload.price > 100 | count",
    "Events | where Payload.price between (10 .. 50) | count",
    "Events | where Payload.nested.n < 77 and Payload.sku startswith 'sku-1' | count",
    "Events | where tostring(Payload.sku) == 'sku-42' | project TrackId",
    "Events | where User.Email != '' | count",
    "Events | where isempty(User.Email) | count",
    "Events | summarize total = sum(todouble(Payload.price)) by EventType | order by EventType asc",
    "Events | top 3 by todouble(Payload.price) desc | project TrackId",
    "Events | where Payload.kind == 'odd' | count",
]
FILTERS = [
    ("Payload/price gt 100", "Payload/price desc"),
    ("User/Email ne null and Payload/nested/n le 30", "Payload/nested/n asc"),
    ("Payload/kind eq 'odd'", "Payload/price asc"),
]


def _answers(client):
    previews = [client.preview("p", q)["items"] for q in QUERIES]
    lists = [[i["TrackId"] for i in client.list("p", filter=f, orderby=o, top=50)["items"]]
             for f, o in FILTERS]
    return previews, lists


def test_answers_are_identical_after_promotion_and_for_new_events(start_server):
    server = start_server()
    with server.client() as client:
        # 'kind' is a string on some events and a number on others: never promoted.
        client.track("p", [event(i, Payload={"price": i * 1.5, "sku": f"sku-{i}", "nested": {"n": i},
                                             "kind": "odd" if i % 2 else i}) for i in range(400)])
        before = _answers(client)
        assert client.stats()["promoted_keys"] == []
        client.compact()
        promoted = client.stats()["promoted_keys"]
        assert {"Payload.price:real", "Payload.nested.n:real", "Payload.sku:string",
                "User.Email:string"} <= set(promoted)
        assert not any(k.startswith("Payload.kind") for k in promoted)
        assert _answers(client) == before
        # Events tracked after promotion fill the columns on insert.
        client.track("p", [event(i, Payload={"price": 1000.0 + i, "sku": f"new-{i}", "nested": {"n": i},
                                             "kind": "odd"}) for i in range(10)])
        assert client.preview("p", "Events | where Payload.price >= 1000 | count")["items"] == [
            {"Count": 10}]
        assert client.preview("p", "Events | where Payload.sku startswith 'new-' | count")["items"] == [
            {"Count": 10}]
    server.stop()
    # The promotion survives a restart.
    again = start_server()
    with again.client() as client:
        assert client.stats()["promoted_keys"] == promoted
        assert client.preview("p", "Events | where Payload.price >= 1000 | count")["items"] == [
            {"Count": 10}]


def test_promotion_can_be_switched_off(start_server):
    server = start_server("--promote-keys", "false")
    with server.client() as client:
        client.track("p", [event(i) for i in range(50)])
        client.compact()
        assert client.stats()["promoted_keys"] == []


def test_queried_keys_are_promoted_first(start_server):
    # One slot, and 'rare' is in 5% of events only (below the 20% share for unqueried keys),
    # yet a query reads it, so it takes the slot before the common keys.
    server = start_server("--max-promoted-keys", "1")
    with server.client() as client:
        client.track("p", [event(i, Payload={"common": i, **({"rare": i} if i % 20 == 0 else {})})
                           for i in range(400)])
        assert client.preview("p", "Events | where Payload.rare > 100 | count")["items"] == [
            {"Count": 14}]
        client.compact()
        assert client.stats()["promoted_keys"] == ["Payload.rare:real"]
        assert client.preview("p", "Events | where Payload.rare > 100 | count")["items"] == [
            {"Count": 14}]


ORDER_COLUMN = "__Payload__price__order"
TOP_PRICES = ["Events | top 5 by todouble(Payload.price) desc | project TrackId",
              "Events | top 5 by todouble(Payload.price) asc nulls last | project TrackId",
              "Events | where EventType == 'purchase' | top 3 by todouble(Payload.price) desc "
              "| project TrackId"]


def _order_column_state(data_dir) -> tuple:
    """(registered order column, events, events whose order key is not the one of their price)"""
    conn = attach(Settings(data_dir=str(data_dir)))
    try:
        registered = conn.execute(
            f'SELECT "OrderColumn" FROM {PROMOTED_KEYS_TABLE} WHERE "Path" = \'price\'').fetchall()
        wrong = conn.execute(
            f'SELECT count(*) FROM {EVENTS_TABLE} WHERE "{ORDER_COLUMN}" IS DISTINCT FROM '
            f'{order_key_sql(chr(34) + "__Payload__price__real" + chr(34))}').fetchone()[0]
        total = conn.execute(f"SELECT count(*) FROM {EVENTS_TABLE}").fetchone()[0]
        return registered, total, wrong
    finally:
        conn.close()


def _priced(start: int, n: int) -> list[dict]:
    # distinct prices (a top-N picks among ties at random), many closer than an order key's
    # step, negatives, and events without a price
    return [event(i, Payload={"price": (i % 37 - 9) * 0.3 + i / 65536}
                  if i % 11 else {"other": i}) for i in range(start, start + n)]


def test_a_real_key_has_an_order_column_filled_for_stored_and_new_events(start_server, tmp_path):
    data_dir = tmp_path / "data"
    server = start_server(data_dir=data_dir)
    with server.client() as client:
        client.track("p", _priced(0, 300))
        before = [client.preview("p", q)["items"] for q in TOP_PRICES]
        client.compact()
        assert "Payload.price:real" in client.stats()["promoted_keys"]
        assert [client.preview("p", q)["items"] for q in TOP_PRICES] == before
        client.track("p", _priced(300, 40))
        after = [client.preview("p", q)["items"] for q in TOP_PRICES]
    server.stop()
    assert _order_column_state(data_dir) == ([(ORDER_COLUMN,)], 340, 0)

    # As a release of format 3 left it: the real key promoted, without its order column.
    conn = attach(Settings(data_dir=str(data_dir)))
    try:
        conn.execute(f'ALTER TABLE {EVENTS_TABLE} DROP COLUMN "{ORDER_COLUMN}"')
        conn.execute(f'ALTER TABLE {PROMOTED_KEYS_TABLE} DROP COLUMN "OrderColumn"')
        conn.execute(f'DELETE FROM {STORE_FORMAT_TABLE} WHERE "Version" >= 4')
    finally:
        conn.close()
    server = start_server(data_dir=data_dir)
    with server.client() as client:
        assert [client.preview("p", q)["items"] for q in TOP_PRICES] == after
        client.compact()  # fills the order column of the stored events
        assert [client.preview("p", q)["items"] for q in TOP_PRICES] == after
    server.stop()
    assert _order_column_state(data_dir) == ([(ORDER_COLUMN,)], 340, 0)


def test_a_repeated_top_by_a_promoted_key_follows_deletes_and_new_events(start_server):
    server = start_server()
    top = "Events | top 5 by todouble(Payload.price) desc | project TrackId"
    with server.client() as client:
        ids = client.track("p", _priced(0, 300))
        client.compact()
        price_of = {track_id: (i % 37 - 9) * 0.3 + i / 65536 for i, track_id in enumerate(ids)
                    if i % 11}
        by_price = sorted(price_of, key=price_of.get, reverse=True)

        def answer(query=top):
            return [row["TrackId"] for row in client.preview("p", query)["items"]]

        assert answer() == answer() == by_price[:5]  # the second read is bounded by the first
        # The fifth is deleted: beyond the learned bound only four are left, so it reads again.
        client.delete("p", by_price[4])
        assert answer() == by_price[:4] + by_price[5:6]
        client.delete("p", by_price[0])
        assert answer() == by_price[1:4] + by_price[5:7]
        # Larger prices tracked since (still unflushed, and then in the lake) rank first.
        new = client.track("p", [event(1000 + i, Payload={"price": 100.0 + i}) for i in range(2)])
        assert answer() == [new[1], new[0]] + by_price[1:4]
        assert answer() == [new[1], new[0]] + by_price[1:4]
        page = [i["TrackId"] for i in client.list("p", orderby="Payload/price desc", skip=2,
                                                       top=4)["items"]]
        assert page == by_price[1:4] + by_price[5:6]
