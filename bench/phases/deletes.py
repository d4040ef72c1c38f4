"""Delete: deletes/s one by one, then from 8 threads (the server groups concurrent Deletes into
one commit), then BatchDeletes, then one compaction that applies them all, timed."""
from __future__ import annotations

import concurrent.futures
import itertools
import threading
import time

import grpc

from harness import Live, Rpc, Run, error_text, ms
from suite import BATCH_DELETE_SIZE
from trackstore.v1 import admin_pb2 as admin_pb
from trackstore.v1 import trackevents_pb2 as pb

MAX_ERRORS = 10  # a stage stops after more failed deletes than this
THREADS = 8


def measure(run: Run, live: Live, track_ids: list[str]) -> dict:
    """{"delete": figures}: `--deletes` sequential deletes, as many more from 8 threads, then
    BatchDeletes up to `--compaction-deletes` in all, then the compaction. Each stage stops at
    `--delete-budget-seconds`; the memory sampler gets a phase a stage."""
    args, log, stage = run.args, run.log, live.sampler.enter
    deleter = _Deleter(live.rpc, run.cfg.scope, track_ids, args.delete_budget_seconds)
    result: dict = {"asked_rate_deletes": args.deletes,
                    "asked_compaction_deletes": args.compaction_deletes}
    stage("delete, sequential")
    log(f"delete: {args.deletes} sequential deletes ...")
    result |= deleter.sequential(args.deletes)
    log(f"delete: {result['rate_deletes']} deletes, {result['deletes_per_s'] or 0:.1f}/s")

    more = min(args.deletes, max(0, args.compaction_deletes - result["rate_deletes"]))
    stage("delete, 8 threads")
    log(f"delete: {more} more deletes from {THREADS} threads ...")
    result |= deleter.threaded(more)
    log(f"delete: {result['extra_deletes']} deletes from {THREADS} threads, "
        f"{result['extra_deletes_per_s'] or 0:.1f}/s")

    wanted = max(0, args.compaction_deletes - result["rate_deletes"] - result["extra_deletes"])
    stage("delete, batches")
    log(f"delete: {wanted} more in BatchDeletes of {BATCH_DELETE_SIZE} before compaction ...")
    result |= deleter.batches(wanted)
    log(f"delete: {result['batch_deletes']} in BatchDeletes, "
        f"{result['batch_deletes_per_s'] or 0:.0f}/s")
    result |= {"errors": len(deleter.errors),
               "first_error": deleter.errors[0] if deleter.errors else None}
    try:
        result["stats_before_compaction"] = live.rpc.stats()
    except Exception as error:  # noqa: BLE001 - recorded, the run goes on
        result["stats_error"] = error_text(error)
    stage("compaction after deletes")
    result |= _compaction(live.rpc, log)
    return {"delete": result}


class _Deleter:
    """Deletes the TrackIds in order across the stages, each id once; collects the errors."""

    def __init__(self, rpc: Rpc, scope: str, track_ids: list[str], budget: float):
        self.rpc = rpc
        self.scope = scope
        self.ids = iter(track_ids)
        self.budget = budget
        self.errors: list[str] = []

    def delete_one(self, track_id: str) -> bool:
        try:
            self.rpc.delete(pb.DeleteRequest(scope=self.scope, track_id=track_id), timeout=120)
            return True
        except grpc.RpcError as error:
            self.errors.append(error_text(error))
            return False

    def sequential(self, count: int) -> dict:
        done = 0
        latencies = []
        started = time.perf_counter()
        for track_id in self.ids:
            if done >= count or time.perf_counter() - started > self.budget:
                break
            began = time.perf_counter()
            if not self.delete_one(track_id):
                if len(self.errors) > MAX_ERRORS:
                    break
                continue
            latencies.append(time.perf_counter() - began)
            done += 1
        seconds = time.perf_counter() - started
        return {"rate_deletes": done, "rate_seconds": seconds,
                "deletes_per_s": done / seconds if seconds and done else None,
                "delete_p50_ms": ms(latencies, 0.5) if latencies else None,
                "delete_p95_ms": ms(latencies, 0.95) if latencies else None}

    def threaded(self, count: int) -> dict:
        started = time.perf_counter()
        lock = threading.Lock()
        taken = [0]

        def worker() -> None:
            while time.perf_counter() - started < self.budget:
                with lock:
                    if taken[0] >= count:
                        return
                    track_id = next(self.ids, None)
                    if track_id is None:
                        return
                    taken[0] += 1
                if not self.delete_one(track_id) and len(self.errors) > MAX_ERRORS:
                    return

        with concurrent.futures.ThreadPoolExecutor(THREADS) as pool:
            for future in [pool.submit(worker) for _ in range(THREADS)]:
                future.result()
        seconds = time.perf_counter() - started
        return {"extra_deletes": taken[0], "extra_seconds": seconds,
                "extra_deletes_per_s": taken[0] / seconds if seconds and taken[0] else None}

    def batches(self, count: int) -> dict:
        done = 0
        latencies = []
        started = time.perf_counter()
        while done < count and time.perf_counter() - started < self.budget:
            chunk = list(itertools.islice(self.ids, min(BATCH_DELETE_SIZE, count - done)))
            if not chunk:
                break
            began = time.perf_counter()
            try:
                response = self.rpc.batch_delete(
                    pb.BatchDeleteRequest(scope=self.scope, track_ids=chunk), timeout=120)
            except grpc.RpcError as error:
                self.errors.append(error_text(error))
                break
            latencies.append(time.perf_counter() - began)
            done += len(response.track_ids)
        seconds = time.perf_counter() - started
        return {"batch_deletes": done, "batch_seconds": seconds,
                "batch_deletes_per_s": done / seconds if seconds and done else None,
                "batch_call_p50_ms": ms(latencies, 0.5) if latencies else None}


def _compaction(rpc: Rpc, log) -> dict:
    log("delete: compaction ...")
    figures: dict = {}
    try:
        began = time.perf_counter()
        response = rpc.compact(admin_pb.CompactRequest(), timeout=3600)
        figures.update(compaction_seconds=time.perf_counter() - began,
                       compaction_server_seconds=response.seconds,
                       compaction_applied=response.applied_deletions)
        figures["stats_after_compaction"] = rpc.stats()
        log(f"delete: compaction of {response.applied_deletions} deletions took "
            f"{figures['compaction_seconds']:.1f} s")
    except Exception as error:  # noqa: BLE001 - recorded, the run goes on
        figures["compaction_error"] = error_text(error)
        log(f"delete: compaction ERROR {figures['compaction_error'][:200]}")
    return figures
