"""Mixed load: N clients calling Track, TrackStream, Preview, List, Export and Delete at once;
latency per method, the server's memory, and the store's count against what clients were told.

    .venv/bin/python bench/mixed_load.py                        # 32 clients, 45 s, 200,000 events
    .venv/bin/python bench/mixed_load.py --clients 16 --seconds 30 --json out.json
    .venv/bin/python bench/mixed_load.py --clients 16 --mix Track=0.4,Preview=0.1,List=0.2,Delete=0.3

Starts `trackstore serve` on a fresh temporary data dir (trackstore_client.local) with its
defaults (flush every 5 s, light compaction every 10 minutes), loads `--events` events, then
runs `--clients` threads for `--seconds`, each with its own channel, each call one of: Track (a
batch of 10 events), TrackStream (two batches of 10), Preview (a count by EventType over a day),
List (a filtered page of 20), Export (the first page of 100 and the next, on one snapshot) or
Delete (half of the deletes an event tracked before the run, the other half one this client
tracked last, likely still unflushed). It prints p50/p99 per method, every status other than
OK (RESOURCE_EXHAUSTED, a query refused with a retry delay when every slot and queue place is
taken, is expected; any other is not), the data files of the store and the Parquet files on
disk, the server's peak resident memory (sampled every 0.2 s), and checks that the server
counts the events the clients were told are stored (loaded + tracked - deleted) and that the
peak stays under `--max-rss-mb`. tests/hostile/test_load.py runs it for 30 s.
"""
from __future__ import annotations

import argparse
import collections
import json
import pathlib
import random
import statistics
import sys
import tempfile
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "clients" / "python"))

import grpc  # noqa: E402

from trackstore.v1 import export_pb2  # noqa: E402
from trackstore.v1.export_pb2_grpc import ExportServiceStub  # noqa: E402
from trackstore_client import TrackstoreError  # noqa: E402
from trackstore_client.local import LocalServer  # noqa: E402

SCOPE = "mixed"
METHODS = ("Track", "TrackStream", "Preview", "List", "Export", "Delete")
WEIGHTS = (0.3, 0.1, 0.1, 0.15, 0.1, 0.25)
# Issue 20's load for its Delete target (16 clients): no TrackStream and no Export.
ISSUE_20_MIX = "Track=0.4,Preview=0.1,List=0.2,Delete=0.3"


def parse_mix(text: str) -> tuple[float, ...]:
    """`Method=weight,...` (methods left out weigh 0) as weights in METHODS order."""
    weights = dict.fromkeys(METHODS, 0.0)
    for part in text.split(","):
        name, _, weight = part.partition("=")
        if name.strip() not in weights:
            raise argparse.ArgumentTypeError(f"unknown method {name.strip()!r} in --mix")
        weights[name.strip()] = float(weight)
    return tuple(weights.values())
# A refusal the load may cause by design: a query finding every slot and queue place taken.
EXPECTED_STATUSES = {"RESOURCE_EXHAUSTED"}
# The server's resident memory under this load stays below (MiB): docs/reliability.md.
MAX_RSS_MIB = 1536


def make_event(rng: random.Random, n: int) -> dict:
    return {"EventType": rng.choice(("pageview", "click", "purchase")),
            "DeviceId": f"device-{rng.randrange(1000)}", "City": rng.choice(("Oslo", "Paris")),
            "EventTime": f"2024-05-{1 + n % 28:02d}T{n % 24:02d}:00:00Z",
            "Payload": {"sku": f"sku-{rng.randrange(500)}", "price": rng.randrange(10_000)}}


def load(client, events: int) -> list[str]:
    rng, ids = random.Random(1), []
    for start in range(0, events, 10_000):
        ids += client.track(SCOPE, [make_event(rng, n) for n in range(start, start + 10_000)])
    return ids


class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.seconds = collections.defaultdict(list)
        self.statuses = collections.Counter()
        self.tracked = self.deleted = 0

    def add(self, method: str, seconds: float, status: str, tracked=0, deleted=0) -> None:
        with self.lock:
            self.seconds[method].append(seconds)
            if status != "OK":
                self.statuses[f"{method} {status}"] += 1
            self.tracked += tracked
            self.deleted += deleted


def one_call(client, exports, method: str, rng: random.Random, old: list[str], mine: list[str]):
    """Makes one call; returns (what it was, events tracked, events deleted)."""
    if method in ("Track", "TrackStream"):
        batches = [[make_event(rng, rng.randrange(10**6)) for _ in range(10)]
                   for _ in range(1 if method == "Track" else 2)]
        ids = (client.track(SCOPE, batches[0]) if method == "Track"
               else client.track_stream(SCOPE, batches))
        mine.extend(ids)
        return method, len(ids), 0
    if method == "Export":
        first = exports.Export(export_pb2.ExportRequest(scope=SCOPE, page_size=100))
        if first.next_cursor:
            exports.Export(export_pb2.ExportRequest(scope=SCOPE, page_size=100,
                                                    cursor=first.next_cursor))
        return method, 0, 0
    if method == "Preview":
        day = rng.randrange(1, 29)
        client.preview(SCOPE, f"Events | where EventTime between (datetime(2024-05-{day:02d}) .. "
                              f"1d) | summarize count() by EventType")
        return method, 0, 0
    if method == "List":
        client.list(SCOPE, filter=f"DeviceId eq 'device-{rng.randrange(1000)}'", top=20)
        return method, 0, 0
    if mine and rng.random() < 0.5:  # the event this client tracked last: likely unflushed
        client.delete(SCOPE, mine.pop())
        return "Delete (tracked last)", 0, 1
    client.delete(SCOPE, old.pop(rng.randrange(len(old))))
    return "Delete (loaded before)", 0, 1


def client_loop(server, seed: int, old: list[str], until: float, tally: Tally,
                weights: tuple[float, ...] = WEIGHTS) -> None:
    rng, mine = random.Random(seed), []
    with server.client() as client, server.channel() as channel:
        exports = ExportServiceStub(channel)
        while time.monotonic() < until:
            method = rng.choices(METHODS, weights)[0]
            began = time.perf_counter()
            try:
                kind, tracked, deleted = one_call(client, exports, method, rng, old, mine)
                status = "OK"
            except (TrackstoreError, grpc.RpcError) as error:
                kind, tracked, deleted, status = method, 0, 0, _code(error).name
            seconds = time.perf_counter() - began
            tally.add(method, seconds, status, tracked, deleted)
            if kind != method:
                tally.add(kind, seconds, status)


def _code(error) -> grpc.StatusCode:
    return error.code if isinstance(error, TrackstoreError) else error.code()


class PeakMemory:
    """The peak resident memory of a process, sampled every 0.2 s until `stop`."""

    def __init__(self, pid: int):
        self.pid, self.peak_kib, self._stop = pid, 0, threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(0.2):
            self.peak_kib = max(self.peak_kib, resident_kib(self.pid))

    def stop(self) -> float:
        """The peak, in MiB."""
        self._stop.set()
        self._thread.join()
        return round(self.peak_kib / 1024, 1)


def resident_kib(pid: int) -> int:
    try:
        status = pathlib.Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    return next((int(line.split()[1]) for line in status.splitlines()
                 if line.startswith("VmRSS:")), 0)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def report(tally: Tally, seconds: float) -> dict:
    methods = {}
    for method in sorted(tally.seconds):
        values = tally.seconds[method]
        if values:
            methods[method] = {"calls": len(values), "per_s": round(len(values) / seconds, 1),
                               "p50_ms": round(statistics.median(values) * 1000, 1),
                               "p99_ms": round(percentile(values, 0.99) * 1000, 1)}
    unexpected = {name: n for name, n in tally.statuses.items()
                  if name.rsplit(" ", 1)[1] not in EXPECTED_STATUSES}
    return {"methods": methods, "other_statuses": dict(tally.statuses),
            "unexpected_statuses": unexpected}


def run(args) -> dict:
    data_dir = pathlib.Path(tempfile.mkdtemp(prefix="mixed-load-")) / "data"
    with LocalServer(data_dir) as server:
        with server.client() as client:
            old = load(client, args.events)
            random.Random(2).shuffle(old)
            files_before = client.stats()["data_files"]
        tally, memory = Tally(), PeakMemory(server.process.pid)
        until = time.monotonic() + args.seconds
        threads = [threading.Thread(target=client_loop,
                                    args=(server, seed, old, until, tally, args.mix))
                   for seed in range(args.clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        with server.client() as client:
            stats = client.stats()
        figures = report(tally, args.seconds)
        figures["server_rss_peak_mib"] = memory.stop()
        figures["rss_within_bound"] = figures["server_rss_peak_mib"] <= args.max_rss_mb
        figures.update(clients=args.clients, seconds=args.seconds, loaded=args.events,
                       mix=dict(zip(METHODS, args.mix)),
                       data_files_before=files_before, data_files_after=stats["data_files"],
                       parquet_files_on_disk=len(list(data_dir.rglob("*.parquet"))),
                       pending_deletions=stats["pending_deletions"])
        expected = args.events + tally.tracked - tally.deleted
        figures["counts_agree"] = stats["events"] == expected
        figures["events"] = {"server": stats["events"], "clients_were_told": expected}
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=45.0)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--max-rss-mb", type=float, default=MAX_RSS_MIB,
                        help="the server's resident memory must stay under this (MiB)")
    parser.add_argument("--mix", type=parse_mix, default=WEIGHTS,
                        help="the share of each method, e.g. the Delete target's load: "
                             f"--clients 16 --mix {ISSUE_20_MIX}")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    figures = run(args)
    print(json.dumps(figures, indent=2))
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")
    if not figures["counts_agree"]:
        sys.exit("the server's count differs from what the clients were told")
    if figures["unexpected_statuses"] or not figures["rss_within_bound"]:
        sys.exit("unexpected statuses, or the server's memory beyond its bound")


if __name__ == "__main__":
    main()
