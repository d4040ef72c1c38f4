"""Which DuckLake partitioning serves `where EventTime between ... and EventType == ...` best?

Loads the same generated events into one DuckLake per layout and times the segment-style
queries on each (median of several runs). Writes bench/LAYOUTS.md.

    python bench/layouts.py --events 2000000
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import pathlib
import platform
import statistics
import sys
import tempfile
import time

import duckdb

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import generate  # noqa: E402

from trackstore_server import extensions  # noqa: E402
from trackstore_server.lake import events_table_ddl  # noqa: E402

MONTH = '"Scope", year("EventTime"), month("EventTime")'
DAY = '"Scope", year("EventTime"), month("EventTime"), day("EventTime")'
# name -> (partition key, Parquet row group size or None for DuckDB's default of 122,880)
LAYOUTS = {
    "none": (None, None),
    "scope, year, month": (MONTH, None),
    "scope, year, month, day": (DAY, None),
    "scope, year, month; row groups of 16,384": (MONTH, 16_384),
    "scope, year, month, day; row groups of 16,384": (DAY, 16_384),
}


def queries(start: dt.datetime) -> dict[str, str]:
    day = start + dt.timedelta(days=45)
    return {
        "1 day + EventType, take 1000": (
            f"SELECT * FROM lake.main.events WHERE \"Scope\" = 'bench' AND \"EventTime\" BETWEEN "
            f"TIMESTAMP '{day}' AND TIMESTAMP '{day + dt.timedelta(days=1)}' "
            f"AND \"EventType\" = 'pageview' LIMIT 1000"
        ),
        "7 days + EventType, count": (
            f"SELECT count(*) FROM lake.main.events WHERE \"Scope\" = 'bench' AND \"EventTime\" "
            f"BETWEEN TIMESTAMP '{day}' AND TIMESTAMP '{day + dt.timedelta(days=7)}' "
            f"AND \"EventType\" = 'add_to_cart'"
        ),
        "30 days + EventType, count by day": (
            f"SELECT date_trunc('day', \"EventTime\") d, count(*) FROM lake.main.events "
            f"WHERE \"Scope\" = 'bench' AND \"EventTime\" BETWEEN TIMESTAMP '{day}' AND "
            f"TIMESTAMP '{day + dt.timedelta(days=30)}' AND \"EventType\" = 'purchase' GROUP BY d"
        ),
        "all time, count by day": (
            "SELECT date_trunc('day', \"EventTime\") d, count(*) FROM lake.main.events "
            "WHERE \"Scope\" = 'bench' GROUP BY d"
        ),
    }


def build(root: pathlib.Path, partition: str | None, row_group_size: int | None,
          parquet: pathlib.Path) -> tuple[duckdb.DuckDBPyConnection, float, int]:
    conn = duckdb.connect(config=dict(extensions.NO_DOWNLOADS))
    extensions.load(conn, "ducklake")
    (root / "data").mkdir(parents=True)
    conn.execute(f"ATTACH 'ducklake:{root}/catalog.ducklake' AS lake (DATA_PATH '{root}/data/')")
    conn.execute(events_table_ddl())
    if partition:
        conn.execute(f"ALTER TABLE lake.main.events SET PARTITIONED BY ({partition})")
    if row_group_size:
        conn.execute(f"CALL lake.set_option('parquet_row_group_size', {row_group_size})")
    started = time.perf_counter()
    conn.execute(f"INSERT INTO lake.main.events BY NAME SELECT * FROM read_parquet('{parquet}')")
    load_seconds = time.perf_counter() - started
    files = conn.execute("SELECT count(*) FROM ducklake_list_files('lake', 'events')").fetchone()[0]
    return conn, load_seconds, files


def timed(conn, sql: str, runs: int) -> float:
    conn.execute(sql).fetchall()  # warm the catalog and OS caches
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        conn.execute(sql).fetchall()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", default=str(pathlib.Path(__file__).parent / "LAYOUTS.md"))
    args = parser.parse_args()
    cfg = generate.Config(events=args.events, scope="bench")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        parquet = tmp / "events.parquet"
        generate.write_parquet(cfg, parquet)
        suite = queries(cfg.start)
        rows = []
        for number, (name, (partition, row_groups)) in enumerate(LAYOUTS.items()):
            conn, load_seconds, files = build(tmp / f"layout-{number}", partition, row_groups, parquet)
            timings = [timed(conn, sql, args.runs) for sql in suite.values()]
            rows.append((name, files, load_seconds, timings))
            conn.close()
    lines = [
        "# Partition layouts",
        "",
        f"{args.events:,} generated events over {cfg.days} days, DuckDB {duckdb.__version__}, "
        f"{os.cpu_count()} cores, {platform.machine()}, {dt.date.today()}. "
        f"Median of {args.runs} runs, milliseconds. `python bench/layouts.py --events {args.events}`.",
        "",
        "| layout | files | load s | " + " | ".join(suite) + " |",
        "| --- | ---: | ---: | " + " | ".join("---:" for _ in suite) + " |",
    ]
    for name, files, load_seconds, timings in rows:
        lines.append(f"| {name} | {files} | {load_seconds:.1f} | "
                     + " | ".join(f"{t:.1f}" for t in timings) + " |")
    pathlib.Path(args.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
