"""A query whose answer does not depend on the rows (a `where` on a value the scope never held)
reads a source with no row instead of the lake (server/reads/empty_source.py), and answers as
the lake would: the same columns, also those compaction promoted, and the rows once the value
arrives."""
from __future__ import annotations

import json

from trackstore.v1 import trackevents_pb2 as pb
from trackstore_server.engine import Engine


def track(engine: Engine, event_type: str, n: int, first: int = 0) -> None:
    engine.track("shop", [pb.TrackEvent(
        track_id=f"{event_type}-{first + i}", event_type=event_type, device_id=f"d{i % 3}",
        country_code="SE", payload_json=json.dumps({"price": i * 1.5, "sku": f"s{i}"}))
        for i in range(n)])


def preview(engine: Engine, query: str):
    columns, rows, truncated = engine.preview("shop", query)
    return columns, rows.items()


def test_a_value_never_held_is_answered_without_reading_the_lake(engine, statements):
    track(engine, "view", 30)
    engine.compact()  # Payload.price and .sku promoted: the source has their columns too
    assert engine.stats()["promoted_keys"]
    for query, answer in [
        ("Events | where EventType == 'signup' | count", [{"Count": 0}]),
        ("Events | where EventType == 'signup' | summarize n = count(), "
         "total = sum(todouble(Payload.price)) by DeviceId", []),
        ("Events | where CountryCode == 'NO' | project TrackId, Payload.sku | take 5", []),
    ]:
        statements.clear()
        assert preview(engine, query)[1] == answer
        assert statements and not any("lake.main.events" in sql for sql in statements)
    statements.clear()
    assert preview(engine, "Events | where EventType == 'view' | count")[1] == [{"Count": 30}]
    assert any("lake.main.events" in sql for sql in statements)


def test_the_answer_has_the_columns_and_types_of_one_that_reads_rows(engine, statements):
    track(engine, "view", 10)
    engine.compact()
    for query in ["Events | where EventType == '{}' | take 3",
                  "Events | where EventType == '{}' | extend p = todouble(Payload.price) "
                  "| project TrackId, EventTime, p, Payload"]:
        empty_columns, empty_rows = preview(engine, query.format("signup"))
        columns, rows = preview(engine, query.format("view"))
        assert empty_columns == columns and empty_rows == [] and len(rows) >= 3


def test_a_value_read_as_it_arrives_is_found(engine, statements):
    track(engine, "view", 10)
    engine.compact()
    assert preview(engine, "Events | where EventType == 'signup' | count")[1] == [{"Count": 0}]
    track(engine, "signup", 2)  # acknowledged, not flushed: the value is known at once
    assert preview(engine, "Events | where EventType == 'signup' | count")[1] == [{"Count": 2}]
