"""The trackstore benchmark: one command, one fresh server, every figure of issue 6.

    .venv/bin/python bench/run.py --events 1000000

Starts `trackstore serve` on a temporary data dir and runs the phases (bench/phases/), in this
order: ingest, load, the steady state (the suite once, then a compaction), Preview beside raw
DuckDB, List; then, with the server stopped, the SQL on the lake; then, on a restarted server,
deletes and compaction. The server's memory is sampled throughout. Writes RESULTS.md and
RESULTS.json (see --out) through bench/report.py, every figure with its target beside it.
A failing query or phase is recorded as an error row, never a crash.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import pathlib
import shutil
import sys
import tempfile
import time
import traceback

BENCH_DIR = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

import generate  # noqa: E402
import harness  # noqa: E402
import report  # noqa: E402
import targets  # noqa: E402
from phases import (deletes, ingest, lake_sql, listing, load, preview, steady_state,  # noqa: E402
                    stored_ingest)
from profiles import summarize_profiles  # noqa: E402
from suite import FULL_N  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="trackstore benchmark (issue 6)")
    parser.add_argument("--events", type=int, default=1_000_000, help="events to load (N)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", default=str(BENCH_DIR / "RESULTS.md"),
                        help="results file; the JSON goes beside it with .json")
    parser.add_argument("--ingest-events", type=int, default=None,
                        help="events per TrackStream ingest figure (default min(1M, N): about "
                             "ten flushes, so the figure is the steady state)")
    parser.add_argument("--struct-events", type=int, default=None,
                        help="events for the Struct ingest figure (default min(200k, N): two "
                             "flushes, so the last flush's wait does not set the figure)")
    parser.add_argument("--unary-seconds", type=float, default=5.0,
                        help="seconds per Track figure (default 5)")
    parser.add_argument("--stored-ingest-rounds", type=int, default=3,
                        help="rounds of the three streams into the loaded scope (server ids, "
                             "client UUIDv4, client UUIDv7), taken in turn")
    parser.add_argument("--batch1-rounds", type=int, default=3,
                        help="rounds of batch-1 calls from 8 threads, ours then the no-op "
                             "server, each --unary-seconds long; the median round is reported "
                             "(default 3)")
    parser.add_argument("--runs", type=int, default=7,
                        help="timed runs per query after one warm-up (default 7)")
    parser.add_argument("--deletes", type=int, default=None,
                        help="deletes for deletes/s (default 10,000 x N / 10M, at least 20)")
    parser.add_argument("--compaction-deletes", type=int, default=None,
                        help="deletes before compaction (default 100,000 x N / 10M, at least 50)")
    parser.add_argument("--delete-budget-seconds", type=float, default=400.0,
                        help="each delete stage stops after this long (bench/NOTES.md, "
                             "\"Delete and compaction\": the time 10M's deletes take)")
    parser.add_argument("--no-compact-after-load", dest="compact_after_load",
                        action="store_false",
                        help="query the store as loaded, before any compaction")
    parser.add_argument("--settle-seconds", type=float, default=6.0,
                        help="idle wait after ingest and after the load (inlined-row flush)")
    parser.add_argument("--profile", default=None,
                        help="directory for py-spy profiles of the ingest phases")
    parser.add_argument("--render", metavar="RESULTS_JSON", default=None,
                        help="only rewrite the results file from a results JSON (and NOTES.md)")
    parser.add_argument("--keep-data", action="store_true", help="keep the temp data dir")
    parser.add_argument("--data-dir", default=None, help="work dir (default: a temp dir)")
    parser.add_argument("--threads", type=int, default=0, help="server DuckDB threads (0: all)")
    parser.add_argument("--memory-limit", default="", help="server DuckDB memory limit")
    return _with_defaults(parser.parse_args(argv))


def _with_defaults(args: argparse.Namespace) -> argparse.Namespace:
    """The defaults that scale with N."""
    n = args.events
    if args.ingest_events is None:
        args.ingest_events = max(1000, min(1_000_000, n) // 1000 * 1000)
    if args.struct_events is None:
        args.struct_events = max(1000, min(200_000, n) // 1000 * 1000)
    if args.deletes is None:
        args.deletes = max(20, 10_000 * n // FULL_N)
    if args.compaction_deletes is None:
        args.compaction_deletes = max(50, 100_000 * n // FULL_N)
    return args


def server_flags(args: argparse.Namespace) -> list[str]:
    """No scheduled compaction (the run compacts when it measures it), and room for every
    pending delete the run makes."""
    flags = ["--compaction-interval-seconds", "0",
             "--max-pending-deletes", str(max(1_000_000, args.compaction_deletes * 2))]
    if args.threads:
        flags += ["--threads", str(args.threads)]
    if args.memory_limit:
        flags += ["--memory-limit", args.memory_limit]
    return flags


def measure(run: harness.Run, results: dict) -> None:
    """Every phase in order, its figures into `results` as each ends (so a fatal error keeps
    what was measured before it)."""
    flags = server_flags(run.args)
    with harness.serving(run, flags) as first:
        track_ids = _before_restart(run, first, results)
    # The lake as the queries saw it, before deletes and compaction change its files: the
    # server holds the catalog, so the lake is read here between two servers.
    if run.parquet_path.exists() and "preview" in results:
        results.update(lake_sql.measure(run))
    with harness.serving(run, flags) as second:
        results.update(deletes.measure(run, second, track_ids))
        second.sampler.enter("ingest at N stored")
        results.update(stored_ingest.measure(run, second))
    results["memory"] = harness.memory_figures([first.memory, second.memory])


def _before_restart(run: harness.Run, live: harness.Live, results: dict) -> list[str]:
    """The phases on the first server; returns the TrackIds the delete phase deletes."""
    live.sampler.enter("ingest")
    results.update(ingest.measure(run, live))
    harness.settle(run)
    live.sampler.enter("load")
    loaded = load.measure(run, live)
    track_ids = loaded.pop("track_ids")
    results.update(loaded)
    harness.settle(run)
    results.update(load.store_after(run, live))
    if run.args.compact_after_load:
        results.update(steady_state.measure(run, live))
    live.sampler.enter("preview")
    if run.parquet_path.exists():
        results.update(preview.measure(run, live))
    live.sampler.enter("list")
    results.update(listing.measure(run, live))
    return track_ids


def main(argv=None) -> int:
    args = parse_args(argv)
    out_path = pathlib.Path(args.out).resolve()
    if args.render:
        report.write_markdown(json.loads(pathlib.Path(args.render).read_text()), out_path)
        return 0
    began = time.perf_counter()

    def log(message: str) -> None:
        print(f"[{time.perf_counter() - began:7.1f}s] {message}", file=sys.stderr, flush=True)

    work = pathlib.Path(args.data_dir or tempfile.mkdtemp(prefix="trackstore-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    run = harness.Run(args, generate.Config(events=args.events, seed=args.seed), work, log)
    results = _header(args, argv)
    results["disk_used_before_bytes"] = shutil.disk_usage(work).used
    try:
        measure(run, results)
    except Exception as error:  # noqa: BLE001 - the report says so
        results["fatal"] = traceback.format_exc()
        log(f"FATAL: {error}")
    if run.profile_dir:
        results["profiles"] = summarize_profiles(run.profile_dir, results.get("ingest", []))
    results["wall_seconds"] = time.perf_counter() - began
    server_log = harness.Server(run.data_dir).log_path
    results["server_log_tail"] = harness.log_tail(server_log)
    results["server_errors"] = harness.log_errors(server_log)
    results["targets"] = targets.evaluate(results)
    report.write(results, out_path)
    log(f"wrote {out_path} and {out_path.with_suffix('.json')}")
    if not args.keep_data and not args.data_dir:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if "fatal" in results else 0


def _header(args: argparse.Namespace, argv) -> dict:
    """What the run was: when, on what, at which revision, with which settings."""
    return {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "events": args.events, "machine": harness.machine(), "revision": harness.git_revision(),
        "command": "bench/run.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "settings": {k: v for k, v in vars(args).items() if k not in ("out",)},
    }


if __name__ == "__main__":
    sys.exit(main())
