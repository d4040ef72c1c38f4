"""Where an export run's time goes, in process: the same snapshot of N generated events written
to local Parquet (zstd level 1, as runs write it) three ways, and read alone.

    python bench/export_parts.py [--events 10000000] [--data-dir DIR]

- `two instances`: the lake's query handed as an Arrow stream to a second DuckDB instance that
  writes the file (what an S3 destination's run does: that instance alone holds the secret);
- `one pipeline`: COPY on the lake's own connection (what a local destination's run does);
- `one pipeline, no order`: the same with `preserve_insertion_order` off for the session.
"""
from __future__ import annotations

import argparse
import pathlib
import resource
import sys
import tempfile
import time

import duckdb

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import generate  # noqa: E402
from export import load  # noqa: E402
from trackstore_server.config import Settings  # noqa: E402
from trackstore_server.event_schema import COLUMN_NAMES  # noqa: E402
from trackstore_server.lake import EVENTS_TABLE  # noqa: E402
from trackstore_server.store import open_store  # noqa: E402

COPY_OPTIONS = "FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1, ROW_GROUP_SIZE 122880"


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--data-dir", type=pathlib.Path, default=None)
    args = parser.parse_args(argv)
    root = args.data_dir or pathlib.Path(tempfile.mkdtemp(prefix="export-parts-"))
    if not (root / "data").exists():
        print(f"loaded in {load(root / 'data', generate.Config(events=args.events)):.1f} s")
    conn = open_store(Settings(data_dir=str(root / "data")))
    lake = conn.cursor()
    select = f"SELECT {', '.join(chr(34) + c + chr(34) for c in COLUMN_NAMES)} FROM {EVENTS_TABLE}"
    target = str(root / "out.parquet")

    def two_instances():
        out = duckdb.connect()
        out.register("rows", lake.execute(select).fetch_record_batch(122_880))
        out.execute(f"COPY (SELECT * FROM rows) TO '{target}' ({COPY_OPTIONS})")
        out.close()

    def one_pipeline():
        lake.execute(f"COPY ({select}) TO '{target}' ({COPY_OPTIONS})")

    def one_pipeline_no_order():
        lake.execute("SET SESSION preserve_insertion_order = false")
        one_pipeline()
        lake.execute("SET SESSION preserve_insertion_order = true")

    def read_alone():
        lake.execute(f"SELECT count(*) FROM ({select}) "
                     f"WHERE length(\"Payload\") >= 0 AND length(\"User\") >= 0").fetchall()

    for name, run in [("two instances", two_instances), ("one pipeline", one_pipeline),
                      ("one pipeline, no order", one_pipeline_no_order),
                      ("read alone", read_alone)]:
        began_cpu, began = cpu_seconds(), time.perf_counter()
        run()
        wall = time.perf_counter() - began
        print(f"{name:24s} {wall:6.1f} s wall {cpu_seconds() - began_cpu:6.1f} CPU s "
              f"{args.events / wall:12,.0f} events/s", flush=True)
    conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
