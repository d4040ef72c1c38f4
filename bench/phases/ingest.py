"""Ingest: events/s through gRPC into the scope "ingest", by path, batch size, payload form and
client threads, beside the gRPC no-op ceiling for batch 1."""
from __future__ import annotations

import concurrent.futures
import time
from typing import Callable

import grpc
import pyarrow as pa

import generate
from harness import Live, NoopServer, Rpc, Run, error_text, ms, stream_events
from profiles import Profiler
from suite import (INGEST_IDS_SCOPE, INGEST_SCOPE, TARGET_BATCH1_8, TARGET_INGEST_JSON,
                   TARGET_INGEST_STRUCT)
from trackstore.v1 import trackevents_pb2 as pb

UNARY_SINGLES = 20_000  # distinct batch-1 requests, sent round-robin


def measure(run: Run, live: Live) -> dict:
    """The ingest figures, in the order of the report's table. Their events come from a seed of
    their own, so no row repeats the load's."""
    table = _source_table(run)
    figures = _Figures(run, live)
    json_requests = _stream_figures(figures, table, run.args)
    singles = generate.encode_requests(
        table.slice(0, min(table.num_rows, UNARY_SINGLES)), 1, INGEST_SCOPE)
    figures.record("Track, batch 1, 1 thread", 1, 1, "json", figures.unary(live.rpc, singles, 1))
    _beside_noop_ceiling(figures, singles, run.args.batch1_rounds)
    _shares_of_ceiling(figures.rows)
    for threads in (1, 8):
        figures.record(f"Track, batch 1000, {_threads(threads)}", 1000, threads, "json",
                       figures.unary(live.rpc, json_requests, threads))
    return {"ingest": figures.rows}


def _source_table(run: Run) -> pa.Table:
    args = run.args
    events = max(args.ingest_events, args.struct_events, 1000)
    source = generate.Config(events=events, seed=run.cfg.seed + 1000, chunk_rows=events,
                             scope=INGEST_SCOPE)
    return generate.make_chunk(source, 0, generate.event_times(source))


def _threads(count: int) -> str:
    return f"{count} thread{'s' if count > 1 else ''}"


class _Figures:
    """The ingest rows in the order measured; a figure that fails is its row's error."""

    def __init__(self, run: Run, live: Live):
        self.run = run
        self.live = live
        self.rows: list[dict] = []

    def record(self, name: str, batch: int, threads: int, payload: str,
               measure: Callable[[], dict], target: int | None = None) -> None:
        log = self.run.log
        log(f"ingest: {name} ...")
        entry = {"name": name, "batch": batch, "threads": threads, "payload": payload,
                 "target": target}
        try:
            entry.update(measure())
            log(f"ingest: {name}: {entry['events_per_s']:,.0f} events/s")
        except Exception as error:  # noqa: BLE001 - recorded, the run goes on
            entry["error"] = error_text(error)
            log(f"ingest: {name}: ERROR {entry['error']}")
        self.rows.append(entry)

    def profiled(self) -> Profiler:
        """py-spy on the server for the figure being recorded (profiles.summarize_profiles
        names it after this row)."""
        return Profiler(self.run.profile_dir, self.live.server.pid, f"ingest-{len(self.rows)}")

    def stream(self, requests: list[bytes], events: int, scope: str) -> Callable[[], dict]:
        """One TrackStream timed until its events are in the lake: flushes run beside
        acknowledgements, so a stream ends with up to 4 commits' worth of events acknowledged
        but not yet flushed."""
        def measure() -> dict:
            with self.profiled():
                seconds, ids = stream_events(self.live.rpc, requests)
                barrier = lake_barrier(self.live.rpc, scope)
            assert len(ids) == events, f"{len(ids)} ids for {events} events"
            return {"events": events, "seconds": seconds + barrier, "lake_wait_seconds": barrier,
                    "events_per_s": events / (seconds + barrier),
                    "acknowledged_per_s": events / seconds}
        return measure

    def unary(self, rpc: Rpc, requests: list[bytes], threads: int,
              profiled: bool = True) -> Callable[[], dict]:
        def measure() -> dict:
            if not profiled:
                return unary_events(rpc, requests, threads, self.run.args.unary_seconds)
            with self.profiled():
                return unary_events(rpc, requests, threads, self.run.args.unary_seconds)
        return measure


def _stream_figures(figures: _Figures, table: pa.Table, args) -> list[bytes]:
    """The TrackStream rows; returns the JSON-text requests, which Track with batch 1000 sends
    again."""
    n_stream, n_struct = args.ingest_events, args.struct_events
    json_requests = generate.encode_requests(table.slice(0, n_stream), 1000, INGEST_SCOPE)
    figures.record("TrackStream, JSON text", 1000, 1, "json",
                   figures.stream(json_requests, n_stream, INGEST_SCOPE), TARGET_INGEST_JSON)
    with_ids = generate.encode_requests(table.slice(0, n_stream), 1000, INGEST_IDS_SCOPE,
                                        with_track_ids=True)
    figures.record("TrackStream, JSON text, client TrackIds", 1000, 1, "json",
                   figures.stream(with_ids, n_stream, INGEST_IDS_SCOPE))
    del with_ids
    struct_requests = generate.struct_requests(table.slice(0, n_struct), 1000, INGEST_SCOPE)
    figures.record("TrackStream, Struct", 1000, 1, "struct",
                   figures.stream(struct_requests, n_struct, INGEST_SCOPE), TARGET_INGEST_STRUCT)
    return json_requests


def _beside_noop_ceiling(figures: _Figures, singles: list[bytes], rounds: int) -> None:
    """The batch-1 client against a server that does nothing, how far from that ceiling we are:
    1 thread once; 8 threads in `rounds` rounds of ours then the no-op server, each row the
    figures of its median round with every round's rate beside (a drift of this shared machine
    weighs on both sides)."""
    ours_8 = f"Track, batch 1, {_threads(8)}"
    try:
        noop = NoopServer()
    except Exception as error:  # noqa: BLE001 - recorded, the run goes on
        figures.run.log(f"ingest: no-op server: ERROR {error_text(error)}")
        figures.record(ours_8, 1, 8, "json", figures.unary(figures.live.rpc, singles, 8),
                       TARGET_BATCH1_8)
        return
    noop_rpc = Rpc(noop.target)
    try:
        figures.record(f"gRPC no-op ceiling, batch 1, {_threads(1)}", 1, 1, "none",
                       figures.unary(noop_rpc, singles, 1, profiled=False))
        pairs: list[tuple[dict, dict]] = []

        def alternate() -> dict:
            for _ in range(rounds):
                pairs.append((figures.unary(figures.live.rpc, singles, 8)(),
                              figures.unary(noop_rpc, singles, 8, profiled=False)()))
            return _median_round([ours for ours, _ in pairs])

        figures.record(ours_8, 1, 8, "json", alternate, TARGET_BATCH1_8)
        if pairs:
            figures.record(f"gRPC no-op ceiling, batch 1, {_threads(8)}", 1, 8, "none",
                           lambda: _median_round([ceiling for _, ceiling in pairs]))
    finally:
        noop_rpc.close()
        noop.stop()


def _median_round(rounds: list[dict]) -> dict:
    ordered = sorted(rounds, key=lambda r: r["events_per_s"])
    return ordered[len(ordered) // 2] | {"rounds": [r["events_per_s"] for r in rounds]}


def _shares_of_ceiling(rows: list[dict]) -> None:
    by_name = {r["name"]: r for r in rows}
    for threads in (1, 8):
        suffix = f"batch 1, {_threads(threads)}"
        ours = by_name.get(f"Track, {suffix}", {})
        ceiling = by_name.get(f"gRPC no-op ceiling, {suffix}", {})
        if ours.get("events_per_s") and ceiling.get("events_per_s"):
            ours["of_ceiling"] = ours["events_per_s"] / ceiling["events_per_s"]


def lake_barrier(rpc: Rpc, scope: str) -> float:
    """Seconds until every acknowledged event is in the lake: the server flushes everything
    acknowledged before it runs a Delete, and a Delete of an unknown id changes nothing."""
    started = time.perf_counter()
    try:
        rpc.delete(pb.DeleteRequest(scope=scope, track_id="bench-lake-barrier"), timeout=600)
    except grpc.RpcError as error:
        if error.code() != grpc.StatusCode.NOT_FOUND:
            raise
    return time.perf_counter() - started


def unary_events(rpc: Rpc, requests: list[bytes], threads: int, duration: float) -> dict:
    """Sends `requests` round-robin from `threads` threads until `duration` seconds passed."""
    counts = [0] * threads
    latencies: list[list[float]] = [[] for _ in range(threads)]
    stop_at = time.perf_counter() + duration
    errors: list[str] = []

    def worker(index: int) -> None:
        position = index
        while time.perf_counter() < stop_at:
            request = requests[position % len(requests)]
            position += threads
            began = time.perf_counter()
            try:
                response = rpc.track(request, timeout=60)
            except grpc.RpcError as error:
                errors.append(error_text(error))
                return
            latencies[index].append(time.perf_counter() - began)
            counts[index] += len(response.track_ids)

    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        list(pool.map(worker, range(threads)))
    elapsed = time.perf_counter() - started
    if errors and not sum(counts):
        raise RuntimeError(errors[0])
    all_latencies = [x for sub in latencies for x in sub]
    return {
        "events": sum(counts), "calls": len(all_latencies), "seconds": elapsed,
        "events_per_s": sum(counts) / elapsed,
        "call_p50_ms": ms(all_latencies, 0.5), "call_p95_ms": ms(all_latencies, 0.95),
        "errors": len(errors),
    }
