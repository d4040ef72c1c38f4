"""GetStoreStats' memory: where the server's memory is, so that an operator sees which part
grows (DuckDB's buffers are bounded by --memory-limit; the indexes and malloc's heaps are not)."""
from __future__ import annotations

from helpers import event


def test_the_memory_split_shows_the_track_id_index_grow_with_the_events(start_server):
    server = start_server()
    with server.client() as client:
        before = client.stats()["memory"]
        for first in range(0, 20_000, 1000):
            client.track("shop", [event(i, TrackId=f"id-{i}") for i in range(first, first + 1000)])
        assert client.preview("shop", "Events | count")["items"][0]["Count"] == 20_000
        after = client.stats()["memory"]
    assert after.track_id_index_bytes >= 20_000 * 8 > before.track_id_index_bytes
    assert after.device_id_index_bytes > 0
    assert after.resident_bytes > after.malloc_in_use_bytes > after.track_id_index_bytes
    assert after.duckdb_bytes > 0  # the catalog's tables, at least
    assert after.duckdb_spilled_bytes == 0
    # the parts are in the resident set, each counted once (DuckDB and Arrow allocate apart
    # from malloc, which holds the indexes)
    assert after.resident_bytes > after.duckdb_bytes + after.arrow_bytes + after.malloc_in_use_bytes
