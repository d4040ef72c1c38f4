"""Preview: p50/p95 of the query suite through the server beside the hand-written SQL by raw
DuckDB on the Parquet file, and the fixed cost of a Preview that reads no rows."""
from __future__ import annotations

import time
from typing import Callable

import psutil

from harness import Live, Rpc, Run, error_text, jsonable, ms, raw_events, time_alternately
from profiles import Profiler
from suite import FLOOR_KQL, FLOOR_SQL, QUERIES, RPC_MS, RPC_ROW_MS, Query
from trackstore.v1 import trackevents_pb2 as pb


def measure(run: Run, live: Live) -> dict:
    """{"preview": a row a query, "preview_floor": the fixed cost} (the floor only if measured)."""
    figures: dict = {}
    with Profiler(run.profile_dir, live.server.pid, "preview"):
        raw = raw_events(run.parquet_path)
        try:
            figures["preview"] = [_query_row(query, raw, live, run) for query in QUERIES]
        finally:
            raw.close()
        try:
            figures["preview_floor"] = _floor(run, live)
        except Exception as error:  # noqa: BLE001 - recorded, the run goes on
            run.log(f"preview floor: ERROR {error_text(error)}")
    return figures


def _query_row(query: Query, raw, live: Live, run: Run) -> dict:
    """Ours and raw called in turn `runs` times, after a first call of each that is their
    warm-up and where an error shows. The server's CPU time is taken around each call: during
    ours it is the query's cost, during raw it is the server's own background work (merges,
    index upkeep), which takes a core from both sides on this 2-core machine. The server's peak
    RSS is taken over all of the query's calls."""
    live.sampler.open_window()
    rpc = live.rpc
    entry = {"name": query.name, "kql": query.kql, "sql": query.sql, "payload": query.payload,
             "what": query.what}
    sides = {name: call for name, call in (("raw", _raw_side(raw, query.sql, entry)),
                                           ("ours", _our_side(rpc, run.cfg.scope, query, entry)))
             if call is not None}
    server = psutil.Process(live.server.pid)
    cpu = {name: [] for name in sides}
    sides = {name: _counting_server_cpu(call, server, cpu[name]) for name, call in sides.items()}
    for side, times in time_alternately(sides, run.args.runs).items():
        entry[f"{side}_p50_ms"] = ms(times, 0.5)
        entry[f"{side}_p95_ms"] = ms(times, 0.95)
        entry[f"server_cpu_{side}_p50_ms"] = ms(cpu[side], 0.5)
    if "ours_p50_ms" in entry and "raw_p50_ms" in entry:
        entry["ratio"] = entry["ours_p50_ms"] / entry["raw_p50_ms"]
        # issue 24's ratio: raw DuckDB given what an RPC adds (1 ms, 13 us a returned row)
        entry["ratio_rpc"] = entry["ours_p50_ms"] / (
            entry["raw_p50_ms"] + RPC_MS + RPC_ROW_MS * entry.get("raw_rows", 0))
        entry["same_answer"] = _same_answer(entry)
    live.sampler.sample()
    entry["server_peak_rss_bytes"] = live.sampler.window_peak
    try:  # what holds the memory once the query is over (DuckDB keeps its buffers cached)
        entry["server_memory_after"] = rpc.stats().get("memory", {})
    except Exception as error:  # noqa: BLE001 - recorded, the run goes on
        entry["server_memory_after"] = {"error": error_text(error)}
    run.log(f"preview: {query.name}: ours {entry.get('ours_p50_ms', float('nan')):.1f} ms, "
            f"raw {entry.get('raw_p50_ms', float('nan')):.1f} ms; server CPU "
            f"{entry.get('server_cpu_ours_p50_ms', float('nan')):.0f} ms in ours, "
            f"{entry.get('server_cpu_raw_p50_ms', float('nan')):.0f} ms during raw; "
            f"server peak RSS {entry['server_peak_rss_bytes'] / 2**20:,.0f} MiB"
            + (f" ERROR {entry['error'][:120]}" if "error" in entry else ""))
    return entry


def _counting_server_cpu(call: Callable[[], object], server: psutil.Process,
                         spent: list[float]) -> Callable[[], object]:
    def counted():
        before = server.cpu_times()
        try:
            return call()
        finally:
            after = server.cpu_times()
            # rounded: the sums of clock ticks differ by float noise when nothing ran
            spent.append(round(after.user + after.system - before.user - before.system, 3))
    return counted


def _raw_side(raw, sql: str, entry: dict) -> Callable[[], object] | None:
    try:
        rows = raw.execute(sql).fetchall()
    except Exception as error:  # noqa: BLE001 - recorded, the run goes on
        entry["raw_error"] = error_text(error)
        return None
    names = [d[0] for d in raw.description]
    entry["raw_rows"] = len(rows)
    entry["raw_first"] = jsonable(dict(zip(names, rows[0])) if rows else {})
    return lambda: raw.execute(sql).fetchall()


def _our_side(rpc: Rpc, scope: str, query: Query, entry: dict) -> Callable[[], object] | None:
    request = pb.PreviewRequest(scope=scope, query=query.kql)
    try:
        began = time.perf_counter()
        response = rpc.preview(request, timeout=600)
    except Exception as error:  # noqa: BLE001 - recorded, the run goes on
        entry["error"] = error_text(error)
        return None
    # The first call of a shape: a top-N by EventTime or by a promoted key reads the whole
    # scope there and sizes the later reads from its answer (server/reads/newest_first.py,
    # server/reads/top_by_key.py), so it is shown beside the p50 of those.
    entry["ours_first_ms"] = 1000 * (time.perf_counter() - began)
    entry["ours_rows"] = response.count
    entry["ours_first"] = jsonable(
        {k: _value(v) for k, v in response.items[0].fields.items()} if response.items else {})
    return lambda: rpc.preview(request, timeout=600)


def _value(v):
    kind = v.WhichOneof("kind")
    if kind == "number_value":
        return v.number_value
    if kind == "string_value":
        return v.string_value
    if kind == "bool_value":
        return v.bool_value
    return None


def _same_answer(entry: dict) -> bool | None:
    """Row counts agree, and for one-row answers every shared numeric value agrees."""
    if entry.get("ours_rows") != entry.get("raw_rows"):
        return False
    if entry.get("ours_rows") == 1:
        ours, raw = entry.get("ours_first", {}), entry.get("raw_first", {})
        for key, value in raw.items():
            other = ours.get(key)
            if isinstance(value, (int, float)) and isinstance(other, (int, float)):
                if abs(value - other) > 1e-6 * max(1.0, abs(value)):
                    return False
    return True


def _floor(run: Run, live: Live) -> dict:
    raw = raw_events(run.parquet_path)
    request = pb.PreviewRequest(scope=run.cfg.scope, query=FLOOR_KQL)
    try:
        sides = {"raw": lambda: raw.execute(FLOOR_SQL).fetchall(),
                 "ours": lambda: live.rpc.preview(request, timeout=600)}
        for call in sides.values():
            call()  # warm-up
        times = time_alternately(sides, run.args.runs)
    finally:
        raw.close()
    return {"kql": FLOOR_KQL, "sql": FLOOR_SQL,
            "ours_p50_ms": ms(times["ours"], 0.5), "raw_p50_ms": ms(times["raw"], 0.5)}

