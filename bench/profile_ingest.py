"""Where a group commit's time goes, measured in-process without gRPC.

    .venv/bin/python bench/profile_ingest.py [--rows 8000] [--groups 20]

Times the steps of the ingest path for groups of generated events on fresh stores:
  build_batch     server/event_batch.py, protobuf TrackEvents -> Arrow (the servicer's share)
and one DuckLake INSERT of the group into the server's table (`open_store`: partitioned, JSON
columns), then the same INSERT with one thing changed at a time: VARCHAR instead of JSON columns, no
partitioning, a plain DuckDB table, so the cost of each part of the layout shows. Then the cost
of one-row commits as the number of snapshots grows (Track with batch 1).
"""
from __future__ import annotations

import argparse
import pathlib
import shutil
import sys
import tempfile
import time

BENCH_DIR = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))
sys.path.insert(1, str(BENCH_DIR.parent))

import duckdb  # noqa: E402
import pyarrow as pa  # noqa: E402

import generate  # noqa: E402
from trackstore.v1 import trackevents_pb2 as pb  # noqa: E402
from trackstore_server import extensions  # noqa: E402
from trackstore_server.config import Settings  # noqa: E402
from trackstore_server.event_batch import build_batch  # noqa: E402
from trackstore_server.lake import events_table_ddl  # noqa: E402
from trackstore_server.store import open_store  # noqa: E402


def insert_group(cursor, batches) -> None:
    """One transaction inserting the batches, as the server's flush does (no dedupe)."""
    cursor.register("incoming", pa.concat_tables([b.table for b in batches]))
    try:
        cursor.execute("BEGIN")
        cursor.execute("INSERT INTO lake.main.events BY NAME SELECT * FROM incoming")
        cursor.execute("COMMIT")
    finally:
        cursor.unregister("incoming")


def lake(tmp: pathlib.Path, name: str, json_columns: bool, partitioned: bool):
    conn = duckdb.connect(config=dict(extensions.NO_DOWNLOADS))
    extensions.load(conn, "ducklake")
    (tmp / name / "data").mkdir(parents=True)
    conn.execute(f"ATTACH 'ducklake:{tmp / name}/catalog.ducklake' AS lake "
                 f"(DATA_PATH '{tmp / name}/data/', DATA_INLINING_ROW_LIMIT 1000)")
    ddl = events_table_ddl()
    if not json_columns:
        ddl = ddl.replace(" JSON", " VARCHAR")
    conn.execute(ddl)
    if partitioned:
        conn.execute('ALTER TABLE lake.main.events SET PARTITIONED BY ("Scope", '
                     'year("EventTime"), month("EventTime"))')
    return conn


def timed(fn, repeat: int) -> float:
    began = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - began) / repeat


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=8000, help="rows per group commit")
    parser.add_argument("--groups", type=int, default=20)
    args = parser.parse_args()
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="trackstore-ingest-profile-"))
    try:
        cfg = generate.Config(events=args.rows, chunk_rows=args.rows, scope="bench")
        requests = generate.encode_requests(next(generate.chunks(cfg)), 1000, "bench")
        events = [list(pb.TrackStreamRequest.FromString(r).events) for r in requests]
        batches = [build_batch("bench", e) for e in events]

        def per_row(seconds: float) -> str:
            return f"{seconds * 1000:8.1f} ms/group  {args.rows / seconds:10,.0f} rows/s"

        print(f"groups of {args.rows} rows ({len(batches)} batches of 1000), {args.groups} groups")
        seconds = timed(lambda: [build_batch("bench", e) for e in events], 5)
        print(f"build_batch (protobuf -> Arrow)           {per_row(seconds)}")
        conn = open_store(Settings(data_dir=str(tmp / "server")))
        cursor = conn.cursor()
        seconds = timed(lambda: insert_group(cursor, batches), args.groups)
        print(f"INSERT, the server's table (open_store)   {per_row(seconds)}")
        conn.close()
        incoming = pa.concat_tables([b.table for b in batches])
        time_layouts(tmp, incoming, args.groups, per_row)
        time_plain_duckdb(tmp, incoming, args.groups, per_row)
        time_one_row_commits(tmp, events[0], batches[0])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


def time_layouts(tmp: pathlib.Path, incoming, groups: int, per_row) -> None:
    """The INSERT into DuckLake tables that differ from the server's in one thing each."""
    variants = (
        ("JSON, partitioned (same as server)", True, True),
        ("VARCHAR instead of JSON, partitioned", False, True),
        ("JSON, not partitioned", True, False),
        ("VARCHAR, not partitioned", False, False),
    )
    for index, (label, json_columns, partitioned) in enumerate(variants):
        conn = lake(tmp, f"v{index}", json_columns, partitioned)
        conn.register("incoming", incoming)
        seconds = timed(lambda: conn.execute(
            "INSERT INTO lake.main.events BY NAME SELECT * FROM incoming"), groups)
        print(f"INSERT ducklake, {label:38s} {per_row(seconds)}")
        conn.close()


def time_plain_duckdb(tmp: pathlib.Path, incoming, groups: int, per_row) -> None:
    """The same rows without DuckLake: a table in memory, the JSON cast, one Parquet file."""
    conn = duckdb.connect()
    conn.execute(events_table_ddl().replace("lake.main.", ""))
    conn.register("incoming", incoming)
    seconds = timed(lambda: conn.execute("INSERT INTO events SELECT * FROM incoming"), groups)
    print(f"INSERT plain DuckDB table (in memory)     {per_row(seconds)}")
    seconds = timed(lambda: conn.execute(
        "SELECT count(*) FROM (SELECT \"Payload\"::JSON, \"User\"::JSON FROM incoming)").fetchall(),
        groups)
    print(f"VARCHAR -> JSON cast alone                {per_row(seconds)}")
    out = tmp / "copy.parquet"
    seconds = timed(lambda: conn.execute(
        f"COPY (SELECT * FROM incoming) TO '{out}' (FORMAT parquet)"), groups)
    print(f"COPY to one Parquet file                  {per_row(seconds)}")
    conn.close()


def time_one_row_commits(tmp: pathlib.Path, events: list, batch_of_1000) -> None:
    """One-row commits (Track, batch 1) as snapshots and inlined rows accumulate."""
    print("\none-row commits (Track, batch 1) as snapshots accumulate")
    conn = open_store(Settings(data_dir=str(tmp / "single")))
    cursor = conn.cursor()
    single = [build_batch("bench", [e]) for e in events[:1000]]
    done = 0
    for block in (100, 400, 500):
        began = time.perf_counter()
        for batch in single[done:done + block]:
            insert_group(cursor, [batch])
        done += block
        print(f"  commits {done - block:5d}..{done:5d}: "
              f"{(time.perf_counter() - began) / block * 1000:6.1f} ms/commit")
    began = time.perf_counter()
    insert_group(cursor, single[:8])
    print(f"  one commit of 8 one-event batches: {(time.perf_counter() - began) * 1000:.1f} ms")
    inlined = 0
    for rounds in (10, 20):
        lone = timed(lambda: insert_group(cursor, [batch_of_1000]), rounds)  # inlined (limit 1000)
        inlined += rounds * 1000
        one_row = timed_each(lambda batch: insert_group(cursor, [batch]), single[:50])
        print(f"  with {inlined:,} more rows inlined: a lone 1000-row batch {lone * 1000:.1f} ms, "
              f"a one-row commit {one_row * 1000:.1f} ms")
    cursor.execute("SELECT * FROM ducklake_flush_inlined_data('lake')").fetchall()
    one_row = timed_each(lambda batch: insert_group(cursor, [batch]), single[:50])
    print(f"  after flushing the inlined rows: a one-row commit {one_row * 1000:.1f} ms")
    conn.close()


def timed_each(fn, items) -> float:
    """Mean seconds of `fn` over `items`."""
    began = time.perf_counter()
    for item in items:
        fn(item)
    return (time.perf_counter() - began) / len(items)


if __name__ == "__main__":
    sys.exit(main())
