"""The data files' layout: compaction writes rows in time order, so row groups cover short time
ranges and EventTime filters skip the others by their min/max statistics; row groups of 16,384
rows in Parquet's version 2 encodings, also in a store made before those options."""
from __future__ import annotations

import datetime as dt
import random

import duckdb

from helpers import count, event, live_data_files
from trackstore_server.config import Settings
from trackstore_server.lake import LAKE
from trackstore_server.store import STORE_FORMAT_TABLE, open_store

START = dt.datetime(2024, 3, 1)
DAYS = 28


def _event_time_row_groups(data_dir, fields: str) -> list[tuple]:
    """`fields` of parquet_metadata for EventTime in each row group of the live data files (the
    server stopped)."""
    conn = duckdb.connect()
    return [row for path in live_data_files(data_dir)
            for row in conn.execute(
                f"SELECT {fields} FROM parquet_metadata(?) WHERE path_in_schema = 'EventTime'",
                [path]).fetchall()]


def _row_group_spans(data_dir) -> list[float]:
    """Hours between the least and greatest EventTime of each row group of the live files."""
    return [(high - low).total_seconds() / 3600 for low, high in _event_time_row_groups(
        data_dir, "stats_min::TIMESTAMP, stats_max::TIMESTAMP")]


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
        newest = client.list("order", top=1)["items"][0]["EventTime"]
    server.stop()
    after = _row_group_spans(tmp_path / "data")
    whole = DAYS * 24
    # In arrival order each row group would span about the whole month.
    assert len(after) >= 3 and sum(after) / len(after) < 0.5 * whole
    assert newest == max(times).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_a_store_of_version_1_files_writes_its_new_files_in_version_2(start_server, tmp_path):
    data_dir = tmp_path / "data"
    old = open_store(Settings(data_dir=str(data_dir)))
    # A store of format 2, made with other options: version 1, DuckDB's default row groups and
    # DuckLake's default compression.
    old.execute(f"CALL {LAKE}.set_option('parquet_version', 1)")
    old.execute(f"CALL {LAKE}.set_option('parquet_row_group_size', 122880)")
    old.execute(f"CALL {LAKE}.set_option('parquet_compression', 'snappy')")
    old.execute(f'DELETE FROM {STORE_FORMAT_TABLE} WHERE "Version" >= 3')
    old.close()
    server = start_server(data_dir=data_dir)
    with server.client() as client:
        client.track_stream("layout", (
            [event(i, EventTime=(START + dt.timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%SZ"))
             for i in range(b, b + 10_000)] for b in range(0, 40_000, 10_000)))
        client.compact()
        assert count(client, "layout") == 40_000
    server.stop()
    chunks = _event_time_row_groups(data_dir, "row_group_num_rows, encodings, compression")
    assert chunks and sum(rows for rows, _, _ in chunks) == 40_000
    assert max(rows for rows, _, _ in chunks) == 16_384
    assert {encodings for _, encodings, _ in chunks} == {"DELTA_BINARY_PACKED"}
    assert {compression for _, _, compression in chunks} == {"ZSTD"}
