"""Batch-1 Track calls from 8 client threads against trackstore and the gRPC no-op server,
alternating round by round, so a drift of this shared machine weighs on both sides.

    .venv/bin/python bench/batch1.py --rounds 5 --seconds 5

Prints each round's calls/s, the share of the no-op ceiling, and each server's CPU per call
(from /proc: less noisy than the rate when other work shares the machine); then the medians
and the load average. `make bench` measures the same figures in its ingest phase; this is the
quick loop for changes on the Track path (bench/NOTES.md#batch-1-at-half-the-no-op-ceiling).
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import statistics
import sys
import tempfile

BENCH_DIR = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

import generate  # noqa: E402
from harness import NoopServer, Rpc, Server  # noqa: E402
from phases.ingest import UNARY_SINGLES, unary_events  # noqa: E402
from suite import INGEST_SCOPE  # noqa: E402

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU of process `pid` so far."""
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


def measured(rpc: Rpc, pid: int, requests: list[bytes], threads: int, seconds: float) -> dict:
    before = cpu_seconds(pid)
    figures = unary_events(rpc, requests, threads, seconds)
    figures["server_cpu_us_per_call"] = (
        (cpu_seconds(pid) - before) * 1e6 / max(figures["calls"], 1))
    return figures


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--json", help="also write every round's figures here")
    parser.add_argument("--variant", action="append", default=[], metavar="NAME:VAR=VALUE",
                        help="also measure a server started with environment variable VAR set "
                             "(an experiment's switch), in turn with the others each round")
    args = parser.parse_args(argv)
    source = generate.Config(events=UNARY_SINGLES, seed=1042, chunk_rows=UNARY_SINGLES,
                             scope=INGEST_SCOPE)
    table = generate.make_chunk(source, 0, generate.event_times(source))
    singles = generate.encode_requests(table, 1, INGEST_SCOPE)
    sides = [("ours", {})] + [_variant(text) for text in args.variant]
    rounds = []
    with tempfile.TemporaryDirectory() as work:
        servers = {name: Server(pathlib.Path(work) / name, "--compaction-interval-seconds", "0",
                                env=env).start() for name, env in sides}
        noop = NoopServer()
        pids = {name: server.pid for name, server in servers.items()} | {
            "noop": noop.process.pid}
        rpcs = {name: Rpc(server.target) for name, server in servers.items()} | {
            "noop": Rpc(noop.target)}
        try:
            for name, _ in sides:
                unary_events(rpcs[name], singles, args.threads, 1.0)  # warm-up
            for index in range(args.rounds):
                figures = {name: measured(rpc, pids[name], singles, args.threads, args.seconds)
                           for name, rpc in rpcs.items()}
                rounds.append(_round(index, figures))
        finally:
            for rpc in rpcs.values():
                rpc.close()
            noop.stop()
            for server in servers.values():
                server.stop()
    _summary(rounds)
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(rounds, indent=1))
    return 0


def _variant(text: str) -> tuple[str, dict]:
    name, _, assignment = text.partition(":")
    variable, _, value = assignment.partition("=")
    return name, {variable: value}


def _round(index: int, figures: dict[str, dict]) -> dict:
    ceiling = figures["noop"]["events_per_s"]
    for side in figures.values():
        side["share"] = side["events_per_s"] / ceiling
    load = os.getloadavg()[0]
    print(f"round {index + 1}, load {load:.2f}: " + "; ".join(
        f"{name} {side['events_per_s']:,.0f}/s ({side['share']:.1%}, "
        f"{side['server_cpu_us_per_call']:.0f} µs CPU a call, p50 {side['call_p50_ms']:.2f} ms)"
        for name, side in figures.items()), flush=True)
    return {"figures": figures, "loadavg": load}


def _summary(rounds: list[dict]) -> None:
    def median(side: str, key: str) -> float:
        return statistics.median(r["figures"][side][key] for r in rounds)

    print(f"median of {len(rounds)} rounds (load average "
          f"{statistics.median(r['loadavg'] for r in rounds):.2f}): " + "; ".join(
              f"{name} {median(name, 'events_per_s'):,.0f}/s ({median(name, 'share'):.1%}, "
              f"{median(name, 'server_cpu_us_per_call'):.0f} µs CPU a call)"
              for name in rounds[0]["figures"]))


if __name__ == "__main__":
    sys.exit(main())
