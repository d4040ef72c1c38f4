"""Compaction writes rows in time order, so row groups cover short time ranges and EventTime
filters skip the others by their min/max statistics."""
from __future__ import annotations

import datetime as dt
import random

import duckdb

from helpers import event, parquet_files

START = dt.datetime(2024, 3, 1)
DAYS = 28


def _row_group_spans(data_dir) -> list[float]:
    """Hours between the least and greatest EventTime of each row group of the live files."""
    conn = duckdb.connect()
    spans = []
    for path in parquet_files(data_dir):
        if path.endswith("-delete.parquet"):
            continue
        rows = conn.execute(
            "SELECT stats_min::TIMESTAMP, stats_max::TIMESTAMP FROM parquet_metadata(?) "
            "WHERE path_in_schema = 'EventTime'", [path]).fetchall()
        spans += [(high - low).total_seconds() / 3600 for low, high in rows]
    return spans


def test_compaction_writes_each_month_in_time_order(start_server, tmp_path):
    rng = random.Random(7)
    times = [START + dt.timedelta(seconds=rng.randrange(DAYS * 86400)) for _ in range(60_000)]
    server = start_server(data_dir=tmp_path / "data")
    with server.client() as client:
        # Arrival order is random, as a backfill from several sources would be.
        client.track_stream("order", (
            [event(i, EventTime=times[i].strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
             for i in range(b, b + 5000)] for b in range(0, len(times), 5000)))
        client.compact()  # promotes the Payload keys: every row is written again
        assert client.stats()["promoted_keys"]
        after = _row_group_spans(tmp_path / "data")
        newest = client.list("order", top=1)["items"][0]["EventTime"]
    whole = DAYS * 24
    # In arrival order each row group would span about the whole month.
    assert len(after) >= 3 and sum(after) / len(after) < 0.5 * whole
    assert newest == max(times).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
