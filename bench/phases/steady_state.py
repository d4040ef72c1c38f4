"""The state the queries meet: a day of queries, then the daily compaction, which merges the
small files and promotes the hot Payload/User keys to typed columns."""
from __future__ import annotations

import time

import grpc

from harness import Live, Run, disk_bytes, error_text
from phases import preview
from suite import LIST_FILTER, LIST_ORDERBY, LIST_TOP, QUERIES
from trackstore.v1 import admin_pb2 as admin_pb
from trackstore.v1 import trackevents_pb2 as pb


def measure(run: Run, live: Live) -> dict:
    """Promotion favours the keys queries read, so the suite runs before the compaction, as a
    day of queries would before the nightly one: timed beside raw DuckDB (keys shredded at
    write time, issue 24: the store as a new user meets it), then the List request once."""
    live.sampler.enter("queries before compaction")
    figures = {}
    if run.parquet_path.exists():
        before = preview.measure(run, live)
        figures["preview_before_compaction"] = before.get("preview", [])
    else:
        _queries_once(run, live)
    _list_once(run, live)
    live.sampler.enter("compact after load")
    run.log("compaction after load ...")
    try:
        began = time.perf_counter()
        response = live.rpc.compact(admin_pb.CompactRequest(), timeout=3600)
        compaction = {"seconds": time.perf_counter() - began,
                      "server_seconds": response.seconds, "stats": live.rpc.stats(),
                      "data_dir_bytes": disk_bytes(run.data_dir)}
        run.log(f"compaction after load: {compaction['seconds']:.1f} s")
    except Exception as error:  # noqa: BLE001 - recorded, the run goes on
        compaction = {"error": error_text(error)}
        run.log(f"compaction after load: ERROR {error_text(error)[:200]}")
    return {**figures, "compaction_after_load": compaction}


def _queries_once(run: Run, live: Live) -> None:
    scope = run.cfg.scope
    run.log("queries before compaction: the suite once, untimed ...")
    for query in QUERIES:
        try:
            live.rpc.preview(pb.PreviewRequest(scope=scope, query=query.kql), timeout=600)
        except grpc.RpcError as error:
            run.log(f"queries before compaction: {query.name}: {error_text(error)[:200]}")


def _list_once(run: Run, live: Live) -> None:
    scope = run.cfg.scope
    try:
        live.rpc.list(pb.ListRequest(scope=scope, filter=LIST_FILTER, orderby=LIST_ORDERBY,
                                     top=LIST_TOP), timeout=600)
    except grpc.RpcError as error:
        run.log(f"queries before compaction: list: {error_text(error)[:200]}")
