"""What shredding at write time costs a flush: CPU per event of the flush's INSERT of N bench
events into a new store, without promoted keys, with the keys the data makes frequent
(extracted from the JSON as the flush does), and with the same keys already typed (what is
left when the extraction is free: writing the extra Parquet columns).

    python bench/shred_cost.py [--events 100000] [--repeats 4]

The figure is the least CPU (all threads) of `--repeats` INSERTs, in µs an event.
"""
from __future__ import annotations

import argparse
import pathlib
import resource
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import generate  # noqa: E402
from trackstore_server import promoted, store  # noqa: E402
from trackstore_server.config import Settings  # noqa: E402
from trackstore_server.event_batch import with_json_types  # noqa: E402
from trackstore_server.lake import EVENTS_TABLE  # noqa: E402

RELATION = "flushed_events"


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def least_cpu_per_event(cursor, sql: str, events: int, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        began = cpu_seconds()
        cursor.execute("BEGIN")
        cursor.execute(sql)
        cursor.execute("COMMIT")
        best = min(best, cpu_seconds() - began)
    return round(best / events * 1e6, 2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=4)
    args = parser.parse_args(argv)
    cfg = generate.Config(events=args.events, chunk_rows=args.events)
    events = generate.make_chunk(cfg, 0, generate.event_times(cfg))
    conn = store.open_store(Settings(data_dir=tempfile.mkdtemp(prefix="shred-cost-"),
                                     inline_row_limit=0))
    cursor = conn.cursor()
    cursor.register(RELATION, with_json_types(events))

    def insert(keys, relation=RELATION, generation=None) -> str:
        columns, select = promoted.select_sql(keys, relation, generation=generation)
        return f"INSERT INTO {EVENTS_TABLE} ({columns}) {select}"

    figures = {"no keys": least_cpu_per_event(cursor, insert(()), args.events, args.repeats)}
    found = promoted.discover(cursor, (), sample_rows=2000, min_share=0.2, max_keys=24,
                              source=RELATION)
    cursor.execute("BEGIN")
    promoted._add_columns(cursor, found, [], transaction=False)
    promoted._register(cursor, found, 1)
    cursor.execute("COMMIT")
    keys = promoted.load(cursor)
    shredding = insert(keys, generation=1)
    figures[f"{len(found)} keys extracted"] = least_cpu_per_event(
        cursor, shredding, args.events, args.repeats)
    cursor.execute(f"CREATE TEMP TABLE typed AS {shredding.split(') ', 1)[1]}")
    columns = shredding.split("(", 1)[1].split(")", 1)[0]
    figures[f"{len(found)} keys already typed"] = least_cpu_per_event(
        cursor, f"INSERT INTO {EVENTS_TABLE} ({columns}) SELECT * FROM typed", args.events,
        args.repeats)
    for name, micros in figures.items():
        print(f"{name:28s} {micros:6.2f} µs an event")
    conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
