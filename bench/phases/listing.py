"""List: latency of one $filter and $orderby page at growing skips."""
from __future__ import annotations

from harness import Live, Run, error_text, ms, timed_runs
from profiles import Profiler
from suite import LIST_FILTER, LIST_ORDERBY, LIST_SKIPS, LIST_TOP
from trackstore.v1 import trackevents_pb2 as pb


def measure(run: Run, live: Live) -> dict:
    """{"list": a row a skip}: p50/p95 of `runs` calls after a warm-up, and the rows."""
    rows = []
    with Profiler(run.profile_dir, live.server.pid, "list"):
        for skip in LIST_SKIPS:
            entry = {"skip": skip, "top": LIST_TOP, "filter": LIST_FILTER,
                     "orderby": LIST_ORDERBY}
            request = pb.ListRequest(scope=run.cfg.scope, filter=LIST_FILTER,
                                     orderby=LIST_ORDERBY, skip=skip, top=LIST_TOP)
            try:
                times, response = timed_runs(lambda: live.rpc.list(request, timeout=600),
                                             run.args.runs)
                entry.update(p50_ms=ms(times, 0.5), p95_ms=ms(times, 0.95), rows=response.count)
                run.log(f"list: skip {skip}: {entry['p50_ms']:.1f} ms")
            except Exception as error:  # noqa: BLE001 - recorded, the run goes on
                entry["error"] = error_text(error)
                run.log(f"list: skip {skip}: ERROR {entry['error'][:160]}")
            rows.append(entry)
    return {"list": rows}
