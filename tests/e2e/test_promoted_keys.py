"""Hot Payload/User keys become typed columns at compaction; answers stay identical."""
from __future__ import annotations

from helpers import event

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
