"""The batching tracker's throughput: 8 threads each calling `tracker.track(one_event)` in a loop.

    .venv/bin/python bench/tracker.py                   # 8 threads, 10 s, max_batch 1000 and 10000
    .venv/bin/python bench/tracker.py --threads 8 --seconds 20 --max-batch 2000 --senders 2

For each `--max-batch` (default: the tracker's 1000, then the server's limit of 10,000), starts
`trackstore serve` on a fresh temporary data dir (trackstore_client.local), makes one
`trackstore.Client(...).tracker(...)`, runs the threads for `--seconds`, then flushes. The
figure is events delivered: acknowledged by the server (durable), counted from the first track()
until flush() returned, and checked against the server's own count. It also prints the CPU
seconds the client (this process) and the server spent, and the share of the run's wall time
each was busy, which is what says where the limit is: on 2 cores, a client near one core is
the limit (the GIL: every track() and every batch's encoding run on one core at a time).
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import sys
import tempfile
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "clients" / "python"))

import trackstore  # noqa: E402
from trackstore_client.local import LocalServer  # noqa: E402

TARGET_EVENTS_PER_SECOND = 100_000


def one_event(thread: int, n: int) -> dict:
    return {"EventType": "pageview", "DeviceId": f"device-{thread}",
            "PageUri": "https://example.com/p/1", "Payload": {"sku": "a-1", "n": n}}


def producer(tracker: trackstore.Tracker, thread: int, stop: threading.Event,
             counts: list[int]) -> None:
    track = tracker.track
    n = 0
    while not stop.is_set():
        for _ in range(100):
            track(one_event(thread, n))
            n += 1
    counts[thread] = n


def server_cpu_seconds(pid: int) -> float:
    import psutil

    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


def run(server: LocalServer, args, max_batch: int) -> dict:
    client = trackstore.Client(server.target)
    tracker = client.tracker(max_batch=max_batch, max_delay=args.max_delay,
                             senders=args.senders, max_queue=args.max_queue)
    stop = threading.Event()
    counts = [0] * args.threads
    threads = [threading.Thread(target=producer, args=(tracker, n, stop, counts))
               for n in range(args.threads)]
    server_cpu = server_cpu_seconds(server.process.pid)
    client_cpu = time.process_time()
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    time.sleep(args.seconds)
    stop.set()
    for thread in threads:
        thread.join()
    tracker.flush()
    elapsed = time.perf_counter() - started
    client_cpu = time.process_time() - client_cpu
    server_cpu = server_cpu_seconds(server.process.pid) - server_cpu
    stats = tracker.stats()
    tracker.close()
    stored = client.preview("Events | count")[0]["Count"]
    client.close()
    return {
        "threads": args.threads, "seconds": round(elapsed, 2), "tracked": sum(counts),
        "acknowledged": stats["acknowledged"], "stored": stored, "failed": stats["failed"],
        "events_per_second": round(stats["acknowledged"] / elapsed),
        "client_cpu_share": round(client_cpu / elapsed, 2),
        "server_cpu_share": round(server_cpu / elapsed, 2),
        "max_batch": max_batch, "senders": args.senders, "cores": os.cpu_count(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--max-batch", type=int, action="append",
                        help="a tracker max_batch to measure (repeatable; default 1000 and 10000)")
    parser.add_argument("--max-delay", type=float, default=0.2)
    parser.add_argument("--max-queue", type=int, default=100_000)
    parser.add_argument("--senders", type=int, default=8)
    args = parser.parse_args()
    results = []
    for max_batch in args.max_batch or [1000, 10_000]:
        with tempfile.TemporaryDirectory(prefix="trackstore-bench-tracker-") as folder:
            with LocalServer(pathlib.Path(folder) / "data") as server:
                results.append(run(server, args, max_batch))
    print(json.dumps({"load_average": os.getloadavg(), "runs": results}, indent=2))
    failed = 0
    for result in results:
        verdict = "meets" if result["events_per_second"] >= TARGET_EVENTS_PER_SECOND else \
            "misses"
        print(f"max_batch {result['max_batch']:>6,}: {result['events_per_second']:,} events/s "
              f"delivered by {args.threads} threads ({verdict} {TARGET_EVENTS_PER_SECOND:,}); "
              f"client busy {result['client_cpu_share']:.0%} of a core, server "
              f"{result['server_cpu_share']:.0%}")
        if result["stored"] != result["acknowledged"]:
            print(f"  the server stores {result['stored']} events, not {result['acknowledged']}")
            failed = 1
    return failed


if __name__ == "__main__":
    sys.exit(main())
