"""Segments (issue 22): IsInSegment's server time and calls/s beside the gRPC no-op ceiling, with
20 segments of 1,000,000 devices loaded; the memory a (segment, device) pair takes; and the
refresh of a 90-day segment beside the same query in raw DuckDB on a plain Parquet copy.

    .venv/bin/python bench/segments.py --events 1000000      # the issue's figure: 10000000

One fresh `trackstore serve` on a temporary data dir. The refresh figure loads N generated events
(bench/generate.py, their times over the last 90 days) into the scope "bench"; the membership
figures track one event for each of `--devices` + 1/20 more devices into the scope "members" and
make `--segments` segments of `--devices` devices each (segment k leaves out the devices of
slice k). Writes RESULTS-segments.json beside `--out` (default bench/RESULTS.md) and renders
`--out` again from it and RESULTS.json (report.py, section "Segments").
"""
from __future__ import annotations

import argparse
import concurrent.futures
import datetime as dt
import json
import pathlib
import re
import shutil
import sys
import tempfile
import time

BENCH_DIR = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

import generate  # noqa: E402
import harness  # noqa: E402
import report  # noqa: E402
import grpc  # noqa: E402
import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402

from google.protobuf import duration_pb2  # noqa: E402
from trackstore.v1 import segments_pb2 as spb  # noqa: E402
from trackstore.v1 import segments_pb2_grpc as sgrpc  # noqa: E402

BENCH_SCOPE = "bench"
MEMBERS_SCOPE = "members"
WINDOW = dt.timedelta(days=90)
REFRESH_QUERY = "Events | where EventTime > ago({{window}}) and EventType == {{eventType}}"
RAW_REFRESH_SQL = ("SELECT DISTINCT \"DeviceId\" FROM events WHERE \"EventTime\" > ? AND "
                   "\"EventType\" = ? AND \"DeviceId\" IS NOT NULL AND \"DeviceId\" <> ''")
MEMBERS_QUERY = "Events | where EventType == 'visit' and Payload.slice != {{slice}}"
NOOP_TRACK = "/trackstore.v1.TrackEventsService/Track"
IS_IN = "/trackstore.v1.SegmentService/IsInSegment"
ACCESS = re.compile(r'"method":"IsInSegment".*"ms":([0-9.]+)')
REFRESHED = re.compile(r"segment (\S+)/(\S+) refreshed: generation \d+, (\d+) devices in "
                       r"([0-9.]+) s, loaded in ([0-9.]+) s")
ROUNDS = 4  # of the calls/s figures, ours and the no-op's in turn


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="trackstore segments benchmark (issue 22)")
    parser.add_argument("--events", type=int, default=1_000_000,
                        help="events of the refresh figure (the issue's: 10,000,000)")
    parser.add_argument("--segments", type=int, default=20)
    parser.add_argument("--devices", type=int, default=1_000_000, help="devices per segment")
    parser.add_argument("--threads", type=int, default=8, help="clients of the calls/s figure")
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds per calls/s figure")
    parser.add_argument("--runs", type=int, default=3, help="timed refreshes and raw queries")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", default=str(BENCH_DIR / "RESULTS.md"))
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    return parser.parse_args(argv)


class Calls:
    """The segment services on one channel."""

    def __init__(self, target: str, scope: str):
        self.channel = grpc.insecure_channel(target)
        self.definitions = sgrpc.FilterDefinitionServiceStub(self.channel)
        self.segments = sgrpc.SegmentServiceStub(self.channel)
        self.scope = scope

    def define(self, name: str, query: str, **types: str) -> None:
        self.definitions.CreateFilterDefinition(spb.CreateFilterDefinitionRequest(
            scope=self.scope, filter_definition=spb.FilterDefinition(name=name, query=query,
                parameters=[spb.FilterParameter(name=n, type=spb.ParameterType.Value(
                    f"PARAMETER_TYPE_{t.upper()}")) for n, t in types.items()])), timeout=60)

    def create(self, name: str, definition: str, **values: spb.ParameterValue) -> None:
        self.segments.CreateSegment(spb.CreateSegmentRequest(scope=self.scope, segment=spb.Segment(
            name=name, filter_definition=definition, parameters=values)), timeout=60)

    def segment(self, name: str) -> spb.Segment:
        return self.segments.GetSegment(spb.GetSegmentRequest(scope=self.scope, name=name),
                                        timeout=60).segment

    def refresh(self, name: str) -> None:
        self.segments.RefreshSegment(spb.RefreshSegmentRequest(scope=self.scope, name=name),
                                     timeout=60)


def refreshed(live: harness.Live, scope: str, name: str, before: int,
              timeout: float = 3600) -> None:
    """Waits until the server's log tells of more refreshes of the segment than `before`. The
    log, not GetSegment: a call every few milliseconds would take the CPU the refresh needs."""
    deadline = time.monotonic() + timeout
    while refreshes(live, scope, name) <= before:
        if time.monotonic() > deadline or "refresh failed" in live.server.log()[-2000:]:
            raise RuntimeError(f"segment {scope}/{name} was not refreshed")
        time.sleep(0.02)


def refreshes(live: harness.Live, scope: str, name: str) -> int:
    return len(refresh_lines(live.server.log(), scope, name))


def refresh_lines(log: str, scope: str, name: str) -> list[re.Match]:
    return [m for m in REFRESHED.finditer(log) if (m.group(1), m.group(2)) == (scope, name)]


# -- the refresh of a 90-day segment --------------------------------------------------------------

def load_events(live: harness.Live, cfg: generate.Config, parquet: pathlib.Path, log) -> None:
    """The N events into the scope "bench" (one stream per chunk) and into a Parquet file."""
    times = generate.event_times(cfg)
    for index, table in enumerate(generate.chunks(cfg, times)):
        harness.stream_events(live.rpc, generate.encode_requests(table, 1000, BENCH_SCOPE))
        if index % 10 == 9:
            log(f"refresh: {(index + 1) * cfg.chunk_rows:,} events loaded")
    generate.write_parquet(cfg, parquet, times)


def refresh_figures(live: harness.Live, cfg: generate.Config, parquet: pathlib.Path, runs: int,
                    log) -> dict:
    """Our refreshes (the server's own time from its log: the query and the lake write, then
    the load into memory) and the raw query, called in turn after one untimed call of each."""
    calls = Calls(live.server.target, BENCH_SCOPE)
    calls.define("recent-type", REFRESH_QUERY, window="timespan", eventType="string")
    window = spb.ParameterValue(timespan_value=duration_pb2.Duration(
        seconds=int(WINDOW.total_seconds())))
    calls.create("recent-pageviews", "recent-type", window=window,
                 eventType=spb.ParameterValue(string_value="pageview"))
    refreshed(live, BENCH_SCOPE, "recent-pageviews", 0)
    raw = harness.raw_events(parquet)
    since = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) - WINDOW

    def ours() -> None:
        before = refreshes(live, BENCH_SCOPE, "recent-pageviews")
        calls.refresh("recent-pageviews")
        refreshed(live, BENCH_SCOPE, "recent-pageviews", before)

    times = harness.time_alternately({
        "ours": ours, "raw": lambda: raw.execute(RAW_REFRESH_SQL, [since, "pageview"]).arrow()},
        runs + 1)
    timed = refresh_lines(live.server.log(), BENCH_SCOPE, "recent-pageviews")[-runs:]
    figures = {
        "events": cfg.events, "devices": calls.segment("recent-pageviews").device_count,
        "raw_devices": len(raw.execute(RAW_REFRESH_SQL, [since, "pageview"]).fetchall()),
        "runs": runs, "ours_wall_s": times["ours"][1:], "raw_s": times["raw"][1:],
        "ours_lake_s": [float(m.group(4)) for m in timed],
        "ours_load_s": [float(m.group(5)) for m in timed],
    }
    figures["ratio"] = (harness.percentile(figures["ours_lake_s"], 0.5)
                        / harness.percentile(figures["raw_s"], 0.5))
    log(f"refresh: {figures['ratio']:.2f}x raw ({figures['devices']:,} devices)")
    return figures


# -- membership: memory and the hot path ----------------------------------------------------------

def member_ids(count: int) -> pa.Array:
    index = np.arange(count, dtype=np.uint64)
    return generate.uuid_strings(generate._mix(index, 31), generate._mix(index, 32))


def member_requests(devices: pa.Array, slices: int) -> list[bytes]:
    """One "visit" event per device, its Payload.slice the device's index modulo `slices`."""
    n = len(devices)
    now_us = int(time.time() * 1_000_000)
    empty = pa.nulls(n, pa.string())
    columns = {name: empty for name in generate.COLUMNS}
    columns.update({
        "DeviceId": devices, "EventType": pa.array(["visit"] * n, pa.string()),
        "Payload": pa.array([f'{{"slice": {i % slices}}}' for i in range(n)], pa.string()),
        "EventTime": pa.array(np.full(n, now_us), pa.timestamp("us")),
    })
    table = pa.Table.from_arrays([columns[c] for c in generate.COLUMNS],
                                 schema=generate.ARROW_SCHEMA)
    return generate.encode_requests(table, 1000, MEMBERS_SCOPE)


def load_segments(live: harness.Live, args, log) -> tuple[dict, pa.Array]:
    """The segments of `args.devices` devices each; the server's memory before and after."""
    total = args.devices * (args.segments + 1) // args.segments
    devices = member_ids(total)
    harness.stream_events(live.rpc, member_requests(devices, args.segments + 1), timeout=3600)
    before = _settled_rss(live)
    calls = Calls(live.server.target, MEMBERS_SCOPE)
    calls.define("all-but-slice", MEMBERS_QUERY, slice="long")
    started = time.perf_counter()
    for k in range(args.segments):
        calls.create(f"seg-{k:02d}", "all-but-slice", slice=spb.ParameterValue(long_value=k))
    for k in range(args.segments):
        refreshed(live, MEMBERS_SCOPE, f"seg-{k:02d}", 0)
    counts = [calls.segment(f"seg-{k:02d}").device_count for k in range(args.segments)]
    seconds = time.perf_counter() - started
    after = _settled_rss(live)
    stats = live.rpc.stats()
    pairs = stats.get("segment_devices", 0)
    log(f"membership: {pairs:,} pairs in {seconds:.0f} s, RSS +{(after - before) / 2**20:,.0f} MiB")
    return {"segments": args.segments, "device_counts": counts, "pairs": pairs,
            "index_bytes": stats.get("segment_memory_bytes", 0), "rss_before": before,
            "rss_after": after, "refresh_all_s": seconds,
            "index_bytes_per_pair": stats.get("segment_memory_bytes", 0) / max(pairs, 1),
            "rss_bytes_per_pair": (after - before) / max(pairs, 1)}, devices


def _settled_rss(live: harness.Live) -> int:
    time.sleep(3)
    return live.sampler.process.memory_info().rss


def lookup_requests(devices: pa.Array, segments: int, count: int, seed: int) -> list[bytes]:
    """IsInSegment requests of one segment each (segment k of request i is i mod `segments`):
    the first half for devices in their segment (not of its slice k), the second half for
    devices the store never saw."""
    rng = np.random.default_rng(seed)
    slices = segments + 1
    picks = rng.integers(0, len(devices) - 1, count // 2)
    kinds = np.arange(len(picks)) % segments
    picks = np.where(picks % slices == kinds, picks + 1, picks)  # the next one's slice is k+1
    known = devices.take(pa.array(picks)).to_pylist()
    unknown = [f"stranger-{i}" for i in rng.integers(0, 10**12, count - len(known))]
    return [spb.IsInSegmentRequest(scope=MEMBERS_SCOPE, device_id=device,
                                   segments=[f"seg-{i % segments:02d}"]).SerializeToString()
            for i, device in enumerate(known + unknown)]


def calls_per_second(target: str, path: str, requests: list[bytes], threads: int,
                     seconds: float) -> dict:
    """`requests` round-robin from `threads` clients (a channel each) for `seconds`, raw bytes
    both ways so that the client's cost is the same for every server."""
    channels = [grpc.insecure_channel(target) for _ in range(threads)]
    calls = [channel.unary_unary(path) for channel in channels]
    latencies: list[list[float]] = [[] for _ in range(threads)]
    stop_at = time.perf_counter() + seconds

    def client(index: int) -> None:
        position = index
        while time.perf_counter() < stop_at:
            began = time.perf_counter()
            calls[index](requests[position % len(requests)], timeout=60)
            latencies[index].append(time.perf_counter() - began)
            position += threads

    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        list(pool.map(client, range(threads)))
    elapsed = time.perf_counter() - started
    for channel in channels:
        channel.close()
    every = [x for sub in latencies for x in sub]
    return {"calls": len(every), "seconds": elapsed, "calls_per_s": len(every) / elapsed,
            "client_p50_ms": harness.ms(every, 0.5), "client_p99_ms": harness.ms(every, 0.99)}


def _served(live: harness.Live, requests: list[bytes], threads: int,
            seconds: float) -> tuple[dict, list[float]]:
    """Calls/s from `threads` clients, and each call's time in the server (its access log)."""
    logged = len(live.server.log())
    figures = calls_per_second(live.server.target, IS_IN, requests, threads, seconds)
    return figures, [float(m.group(1)) for m in ACCESS.finditer(live.server.log()[logged:])]


def _in_turn(live: harness.Live, noop: harness.NoopServer, requests: list[bytes], args):
    """Ours and the no-op ceiling from `args.threads` clients, in turn for ROUNDS rounds of
    `args.seconds` / ROUNDS each: the machine's speed drifts (it is shared), and a drift then
    weighs on both alike. Returns (ours, ceiling, our server times)."""
    slice_seconds = args.seconds / ROUNDS
    ours, ceiling, server_ms = [], [], []
    for _ in range(ROUNDS):
        figures, times = _served(live, requests, args.threads, slice_seconds)
        ours.append(figures)
        server_ms += times
        ceiling.append(calls_per_second(noop.target, NOOP_TRACK, requests, args.threads,
                                        slice_seconds))
    return _summed(ours), _summed(ceiling), server_ms


def _summed(rounds: list[dict]) -> dict:
    calls, seconds = sum(r["calls"] for r in rounds), sum(r["seconds"] for r in rounds)
    return {"calls": calls, "seconds": seconds, "calls_per_s": calls / seconds,
            "rounds_calls_per_s": [r["calls_per_s"] for r in rounds],
            "client_p50_ms": harness.percentile([r["client_p50_ms"] for r in rounds], 0.5),
            "client_p99_ms": max(r["client_p99_ms"] for r in rounds)}


def hot_path(live: harness.Live, devices: pa.Array, args, log) -> dict:
    requests = lookup_requests(devices, args.segments, 20_000, args.seed)
    half = len(requests) // 2
    with live.server.channel() as channel:  # the first half members, the second strangers
        is_in = channel.unary_unary(IS_IN)
        answers = [spb.IsInSegmentResponse.FromString(is_in(request, timeout=60)).in_segment[0]
                   for request in requests[half - 100:half + 100]]
    alone, alone_ms = _served(live, requests, 1, args.seconds)
    noop = harness.NoopServer()
    try:
        ours, ceiling, server_ms = _in_turn(live, noop, requests, args)
    finally:
        noop.stop()
    figures = {"threads": args.threads, "ours": ours, "ceiling": ceiling, "alone": alone,
               "server_p50_ms": harness.percentile(alone_ms, 0.5),
               "server_p99_ms": harness.percentile(alone_ms, 0.99),
               "server_calls": len(alone_ms),
               "loaded_server_p50_ms": harness.percentile(server_ms, 0.5),
               "loaded_server_p99_ms": harness.percentile(server_ms, 0.99),
               "members_found": sum(answers[:100]),
               "strangers_found": sum(answers[100:]),
               "of_ceiling": ours["calls_per_s"] / ceiling["calls_per_s"]}
    log(f"IsInSegment: {ours['calls_per_s']:,.0f} calls/s ({figures['of_ceiling']:.0%} of the "
        f"no-op's {ceiling['calls_per_s']:,.0f}), server p99 {figures['server_p99_ms']:.3f} ms")
    return figures


# -- the run --------------------------------------------------------------------------------------

def measure(args, work: pathlib.Path, log) -> dict:
    start = (dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) - WINDOW
             + dt.timedelta(hours=1))
    cfg = generate.Config(events=args.events, seed=args.seed, start=start, scope=BENCH_SCOPE)
    run = harness.Run(args, cfg, work, log)
    results: dict = {}
    flags = ["--compaction-interval-seconds", "0", "--merge-interval-seconds", "0"]
    with harness.serving(run, flags) as live:
        parquet = work / "events.parquet"
        load_events(live, cfg, parquet, log)
        live.rpc.compact(harness.admin_pb.CompactRequest(), timeout=3600)
        results["refresh"] = refresh_figures(live, cfg, parquet, args.runs, log)
        results["membership"], devices = load_segments(live, args, log)
        results["hot_path"] = hot_path(live, devices, args, log)
    results["memory"] = live.memory
    return results


def main(argv=None) -> int:
    args = parse_args(argv)
    out = pathlib.Path(args.out).resolve()
    work = pathlib.Path(tempfile.mkdtemp(prefix="trackstore-segments-"))
    started = time.time()

    def log(message: str) -> None:
        print(f"[{time.time() - started:7.1f}s] {message}", flush=True)

    try:
        results = {"date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                   "machine": harness.machine(), "revision": harness.git_revision(),
                   "command": "bench/segments.py " + " ".join(sys.argv[1:] if argv is None
                                                               else argv),
                   **measure(args, work, log), "run_seconds": 0.0}
        results["run_seconds"] = time.time() - started
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    segments_json = out.with_name(out.stem + "-segments.json")
    segments_json.write_text(json.dumps(harness.jsonable(results), indent=2) + "\n")
    main_json = out.with_suffix(".json")
    if main_json.exists():
        report.write_markdown(json.loads(main_json.read_text()), out)
    log(f"wrote {segments_json} and {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
