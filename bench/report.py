"""RESULTS.md from the figures of a run (RESULTS.json): one function a section.

The text is a function of the figures alone, so `run.py --render RESULTS.json` rewrites a report
from an older run's JSON. The checked-in bench/RESULTS.md appends bench/NOTES.md, the
hand-written analysis.
"""
from __future__ import annotations

import json
import pathlib

from harness import BENCH_DIR, jsonable, percentile
from suite import (BATCH_DELETE_SIZE, LIST_FILTER, LIST_ORDERBY, LIST_TOP, QUERIES,
                   TARGET_BYTES_PER_PAIR, TARGET_IS_IN_CALLS, TARGET_IS_IN_P99_MS,
                   TARGET_IS_IN_SHARE_OF_CEILING, TARGET_REFRESH_RATIO)


def write(results: dict, out_path: pathlib.Path) -> None:
    """RESULTS.md at `out_path`, and the figures as RESULTS.json beside it."""
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.with_suffix(".json").write_text(json.dumps(jsonable(results), indent=2) + "\n")
    write_markdown(results, out_path)


def write_markdown(results: dict, out_path: pathlib.Path) -> None:
    out_path.write_text(render(results, notes_for(out_path), segments_for(out_path)))


def segments_for(out_path: pathlib.Path) -> dict | None:
    """The figures of bench/segments.py written beside `out_path` (RESULTS-segments.json)."""
    path = out_path.with_name(out_path.stem + "-segments.json")
    return json.loads(path.read_text()) if path.exists() else None


def notes_for(out_path: pathlib.Path) -> str | None:
    """The hand-written analysis (bench/NOTES.md) belongs to the checked-in results only."""
    notes = BENCH_DIR / "NOTES.md"
    if notes.exists() and out_path == (BENCH_DIR / "RESULTS.md").resolve():
        return notes.read_text()
    return None


def render(results: dict, notes: str | None, segments: dict | None = None) -> str:
    out = _header(results)
    for section in (_targets, _ingest, _load, _stored_ingest, _preview, _preview_before,
                    _list, _delete, _server_errors, _memory, _profiles):
        out += section(results)
    if segments:
        out += _segments(segments)
    if notes:
        out += [notes.strip(), ""]
    return "\n".join(out)


def _fmt(value, digits=1):
    if value is None:
        return "—"
    if isinstance(value, float):
        if value != value:
            return "—"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _mb(value):
    return "—" if not value else f"{value / 2**20:,.0f} MiB"


def _gb(value):
    return f"{value / 2**30:,.1f} GiB"


def _disk(stats: dict) -> str:
    """The data directory's size and bytes an event, when the run measured them."""
    size, events = stats.get("data_dir_bytes"), stats.get("events")
    if not size:
        return ""
    per_event = f", {size / events:,.0f} bytes an event" if events else ""
    return f" Data directory (catalog, WAL, Parquet files): {_mb(size)}{per_event}."


def _header(results: dict) -> list[str]:
    m = results.get("machine", {})
    out = [
        "# trackstore benchmark results",
        "",
        "Written by `bench/run.py` (see `bench/README.md`); `results.json` beside it holds the raw "
        "figures. Regenerate with `.venv/bin/python bench/run.py --events N`.",
        "",
        "| | |",
        "|---|---|",
        f"| Date | {results.get('date')} |",
        f"| Events (N) | {results.get('events', 0):,} |",
        f"| Machine | {m.get('cores')} cores, {m.get('memory_gb')} GB RAM, {m.get('cpu')} |",
        f"| Software | DuckDB {m.get('duckdb')}, Python {m.get('python')}, pyarrow "
        f"{m.get('pyarrow')}, grpcio {m.get('grpcio')}, {m.get('os')} |",
        f"| Revision | {results.get('revision')} |",
        f"| Command | `{results.get('command')}` |",
        f"| Run time | {results.get('wall_seconds', 0):.0f} s |",
        "",
        "Client and server share the machine; the client sends pre-serialized requests so that "
        "its own cost stays small.",
        "",
    ]
    if results.get("fatal"):
        out += ["**The run failed:**", "", "```", results["fatal"].strip(), "```", ""]
    return out


def _targets(results: dict) -> list[str]:
    out = ["## Targets (issue 6)", "",
           "| Target | Goal | Measured | Status | Margin | Note |",
           "|---|---|---|---|---|---|"]
    for t in results.get("targets", []):
        at_least = "speed-up" in t["target"] or "Ingest" in t["target"]
        goal = ("≥ " if at_least else "≤ ") + _fmt(t["goal"]) + f" {t['unit']}"
        measured = "—" if t["measured"] is None else _fmt(t["measured"], 2) + f" {t['unit']}"
        out.append(f"| {t['target']} | {goal} | {measured} | {t['status']} | "
                   f"{t.get('margin', '')} | {t.get('note', '')} |")
    return out + [""]


def _ingest(results: dict) -> list[str]:
    out = ["## 1. Ingest", "",
           "Scope `ingest`, events from the generator (seed + 1000). TrackStream: one stream of "
           "batches of 1000, timed until its events are in the lake (flushes run beside "
           "acknowledgements; a Delete of an unknown id after the stream answers once everything "
           "acknowledged is flushed); *Acknowledged/s* leaves that wait out. Track: unary calls "
           "for the stated seconds, requests round-robin. *gRPC no-op ceiling*: the same client "
           "against a server with our gRPC settings whose Track does nothing "
           "(`bench/noop_server.py`), the most calls/s Python gRPC serves on this machine; "
           "*Of ceiling* is our batch-1 figure as a share of it. From 8 threads the two are "
           "measured in turn, round by round; each row is its median round, with every "
           "round's figure below the table.",
           "",
           "| Path | Batch | Client threads | Payload | Events | Seconds | Events/s | "
           "Acknowledged/s | Of ceiling | Call p50 ms | Call p95 ms |",
           "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results.get("ingest", []):
        if "error" in r:
            out.append(f"| {r['name']} | {r['batch']} | {r['threads']} | {r['payload']} | "
                       f"error: {r['error'][:150]} | | | | | | |")
            continue
        share = f"{r['of_ceiling']:.0%}" if r.get("of_ceiling") else "—"
        out.append(f"| {r['name']} | {r['batch']} | {r['threads']} | {r['payload']} | "
                   f"{_fmt(r['events'])} | {_fmt(r['seconds'], 2)} | {_fmt(r['events_per_s'])} | "
                   f"{_fmt(r.get('acknowledged_per_s'))} | {share} | "
                   f"{_fmt(r.get('call_p50_ms'))} | {_fmt(r.get('call_p95_ms'))} |")
    rounds = [f"{r['name']}: " + ", ".join(_fmt(rate) for rate in r["rounds"])
              for r in results.get("ingest", []) if r.get("rounds")]
    if rounds:
        out += ["", "Events/s of each round, in the order run: " + "; ".join(rounds) + "."]
    return out + [""]


def _load(results: dict) -> list[str]:
    """The load paragraph and the compaction after it (both under the ingest section)."""
    load = results.get("load", {})
    out = []
    if "error" in load:
        out.append(f"Load of the N events failed: {load['error']}")
    elif load:
        store = results.get("store_after_load", {})
        out.append(
            f"Load of the N events (TrackStream, JSON text, one stream per 100,000 events): "
            f"{_fmt(load['events_per_s'])} events/s ({_fmt(load['send_seconds'])} s sending; "
            f"generating and encoding {_fmt(load['generate_seconds'])} s, not counted). "
            f"Store after load: {_fmt(store.get('events'))} events in "
            f"{_fmt(store.get('data_files'))} data files. Plain Parquet file: "
            f"{_mb(load.get('parquet_bytes'))}." + _disk(store))
    compaction = results.get("compaction_after_load")
    if compaction and "error" in compaction:
        out += ["", "Compaction after the load (before the queries): failed: "
                f"{compaction['error'][:300]}"]
    elif compaction:
        stats = compaction.get("stats", {})
        keys = stats.get("promoted_keys") or []
        out += ["", f"Compaction after the load (before the queries, so they meet the steady "
                f"state): {_fmt(compaction['seconds'], 1)} s; then {_fmt(stats.get('data_files'))} "
                f"data files; {len(keys)} promoted keys: "
                + (", ".join(f"`{k}`" for k in keys) or "none") + "." + _disk(stats | {
                    "data_dir_bytes": compaction.get("data_dir_bytes")})]
    return out + [""]


def _preview(results: dict) -> list[str]:
    out = ["## 2. Preview vs raw DuckDB", "",
           f"p50/p95 over {results.get('settings', {}).get('runs')} runs after one warm-up. "
           "*Ours*: the Preview RPC (compile, DuckLake scan with the scope filter, rows to "
           "Structs, gRPC). *Raw*: the hand-written SQL below by DuckDB on the plain Parquet "
           "file, in this process. *Lake SQL*: the same hand-written SQL on the DuckLake table "
           "(scope filtered) after the server stopped; it separates the storage layout's cost "
           "(lake SQL / raw) from translation and RPC (ours / lake SQL). *Compiled SQL*: the SQL "
           "our compiler makes of the KQL, run the same way: compiled / lake SQL is the "
           "translation's cost, ours / compiled the RPC's and row conversion's. *Ours first*: the "
           "warm-up Preview, where a top-N by EventTime or by a promoted key reads the whole scope "
           "and learns where the later ones start (server/reads/newest_first.py, server/reads/top_by_key.py). "
           "*Server CPU ms*: the server's CPU time (p50) during our call / during the raw call; "
           "the second is the server's background work (merges, index upkeep), which takes a "
           "core from both sides. *Peak MiB*: the server's RSS at its highest over the query's "
           "calls (sampled every 0.1 s).",
           "",
           "| Query | Ours p50 ms | Ours p95 ms | Ours first ms | Raw p50 ms | Raw p95 ms | "
           "Ratio ours/raw | Ratio (issue 24) | Lake SQL p50 ms | Compiled SQL p50 ms | "
           "Rows ours/raw | Same answer | Server CPU ms | Peak MiB |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    lake = results.get("lake_sql", {})
    for r in results.get("preview", []):
        out.append(_preview_row(r, lake.get(r["name"], {}) if isinstance(lake, dict) else {}))
    errors = [r for r in results.get("preview", []) if "error" in r]
    if errors:
        out += ["", "Preview errors:", ""]
        out += [f"- `{r['name']}`: {r['error'][:300]}" for r in errors]
    floor = results.get("preview_floor")
    if floor:
        out += ["", f"Fixed cost of a Preview that reads no rows (`{floor['kql']}`: gRPC, compile, "
                f"admission, DuckLake catalog reads and scan planning): ours "
                f"{_fmt(floor['ours_p50_ms'])} ms p50, raw DuckDB `{floor['sql']}` "
                f"{_fmt(floor['raw_p50_ms'])} ms."]
    out += ["", "<details><summary>The queries</summary>", "",
            "| Query | KQL | Hand-written SQL |", "|---|---|---|"]
    for query in QUERIES:
        out.append(f"| {query.name} | `{query.kql.replace('|', '&#124;')}` | "
                   f"`{query.sql.replace('|', '&#124;')}` |")
    return out + ["", "</details>", ""]


_STORED_INGEST = (
    "### Ingest into the loaded scope (issue 24)",
    "Run last, on the restarted server: TrackStreams into the scope that holds the N events, "
    "each timed until its events are in the lake, the three kinds in turn, round by round; a "
    "row is the kind's median round, its cost the median of its rounds' costs against the "
    "server ids' stream of the same round. Client TrackIds take the duplicate check against "
    "the whole scope. *Per 100,000 events*: acknowledgement seconds of each slice of the "
    "median round's stream, in order (flat: the cost does not grow with the store).",
    ["TrackIds", "Stored before", "Events", "Seconds", "Events/s", "Acknowledged/s",
     "Cost vs server ids", "Per 100,000 events (s)"])
_PREVIEW_BEFORE = (
    "### Preview before any compaction (issue 24)",
    "The same suite right after the load, before the compaction: the keys shredded at write "
    "time are all the typed columns there are. *Ratio (issue 24)*: ours / (raw + 1 ms + 13 µs "
    "a returned row).",
    ["Query", "Ours p50 ms", "Ours first ms", "Raw p50 ms", "Ratio ours/raw",
     "Ratio (issue 24)", "Rows ours/raw", "Same answer", "Server CPU ms", "Peak MiB"])


def _table_start(title: str, text: str, columns: list[str]) -> list[str]:
    return [title, "", text, "", "| " + " | ".join(columns) + " |",
            "|" + "---|" * len(columns)]


def _stored_ingest(results: dict) -> list[str]:
    rows = results.get("stored_ingest") or []
    out = _table_start(*_STORED_INGEST) if rows else []
    for r in rows:
        if "error" in r:
            out.append(f"| {r['name']} | {_fmt(r.get('stored_before'))} | error: "
                       f"{r['error'][:150]} | | | | | |")
            continue
        cost = f"{r['cost_vs_server_ids']:.1%}" if "cost_vs_server_ids" in r else "—"
        slices = ", ".join(f"{x:.2f}" for x in r.get("slice_seconds", []))
        out.append(f"| {r['name']} | {_fmt(r.get('stored_before'))} | {_fmt(r['events'])} | "
                   f"{_fmt(r['seconds'], 2)} | {_fmt(r['events_per_s'])} | "
                   f"{_fmt(r['acknowledged_per_s'])} | {cost} | {slices} |")
    rounds = [f"{r['name']}: " + ", ".join(_fmt(x) for x in r["round_events_per_s"])
              + (" (costs " + ", ".join(f"{c:.1%}" for c in r["round_costs"]) + ")"
                 if r.get("round_costs") else "")
              for r in rows if len(r.get("round_events_per_s") or []) > 1]
    if rounds:
        out += ["", "Events/s of each round, in the order run: " + "; ".join(rounds) + "."]
    return out + [""]


def _preview_before(results: dict) -> list[str]:
    rows = results.get("preview_before_compaction") or []
    out = _table_start(*_PREVIEW_BEFORE) if rows else []
    for r in rows:
        name = r["name"] + (" (Payload)" if r["payload"] else "")
        out.append(f"| {name} | {_fmt(r.get('ours_p50_ms'))} | {_fmt(r.get('ours_first_ms'))} | "
                   f"{_fmt(r.get('raw_p50_ms'))} | {_fmt(r.get('ratio'), 2)} | "
                   f"{_fmt(r.get('ratio_rpc'), 2)} | {_fmt(r.get('ours_rows'))}/"
                   f"{_fmt(r.get('raw_rows'))} | {'yes' if r.get('same_answer') else 'NO'} | "
                   f"{_server_cpu(r)} |")
    return out + [""]


def _preview_row(r: dict, lake_row: dict) -> str:
    lake_ms = _fmt(lake_row.get("p50_ms")) if "p50_ms" in lake_row else "—"
    lake_ms += " | " + (_fmt(lake_row.get("compiled_p50_ms")) if "compiled_p50_ms" in lake_row
                        else "—")
    name = r["name"] + (" (Payload)" if r["payload"] else "")
    if "error" in r:
        return (f"| {name} | error | | | {_fmt(r.get('raw_p50_ms'))} | "
                f"{_fmt(r.get('raw_p95_ms'))} | — | — | {lake_ms} | —/{_fmt(r.get('raw_rows'))} "
                f"| — | — | — |")
    first = _fmt(r["ours_first_ms"]) if "ours_first_ms" in r else "—"
    return (f"| {name} | {_fmt(r.get('ours_p50_ms'))} | {_fmt(r.get('ours_p95_ms'))} | "
            f"{first} | {_fmt(r.get('raw_p50_ms'))} | {_fmt(r.get('raw_p95_ms'))} | "
            f"{_fmt(r.get('ratio'), 2)} | {_fmt(r.get('ratio_rpc'), 2)} | {lake_ms} | "
            f"{_fmt(r.get('ours_rows'))}/{_fmt(r.get('raw_rows'))} | "
            f"{'yes' if r.get('same_answer') else 'NO'} | {_server_cpu(r)} |")


def _server_cpu(r: dict) -> str:
    """The Server CPU ms and Peak MiB cells."""
    peak = (_fmt(r["server_peak_rss_bytes"] / 2**20) if r.get("server_peak_rss_bytes")
            else "—")
    if "server_cpu_ours_p50_ms" not in r:
        return f"— | {peak}"
    return f"{_fmt(r['server_cpu_ours_p50_ms'])} / {_fmt(r.get('server_cpu_raw_p50_ms'))} | {peak}"


def _list(results: dict) -> list[str]:
    out = ["## 3. List", "",
           f"`$filter={LIST_FILTER}`, `$orderby={LIST_ORDERBY}`, `top={LIST_TOP}`.", "",
           "| Skip | p50 ms | p95 ms | Rows |", "|---|---|---|---|"]
    for r in results.get("list", []):
        if "error" in r:
            out.append(f"| {r['skip']} | error: {r['error'][:200]} | | |")
        else:
            out.append(f"| {r['skip']} | {_fmt(r['p50_ms'])} | {_fmt(r['p95_ms'])} | {r['rows']} |")
    return out + [""]


def _delete(results: dict) -> list[str]:
    d = results.get("delete", {})
    out = ["## 4. Delete and compaction", ""]
    if not d:
        return out + [""]
    before = d.get("stats_before_compaction", {})
    out += [
        "| Figure | Value |", "|---|---|",
        f"| Sequential deletes (1 client) | {_fmt(d.get('rate_deletes'))} of "
        f"{_fmt(d.get('asked_rate_deletes'))} asked, in {_fmt(d.get('rate_seconds'), 1)} s |",
        f"| Deletes/s (1 client) | {_fmt(d.get('deletes_per_s'))} |",
        f"| Delete call p50 / p95 ms | {_fmt(d.get('delete_p50_ms'))} / "
        f"{_fmt(d.get('delete_p95_ms'))} |",
        f"| More deletes from 8 clients | {_fmt(d.get('extra_deletes'))} in "
        f"{_fmt(d.get('extra_seconds'), 1)} s ({_fmt(d.get('extra_deletes_per_s'))}/s) |",
    ]
    if "batch_deletes" in d:
        out.append(f"| More in BatchDeletes of {BATCH_DELETE_SIZE} (1 client) | "
                   f"{_fmt(d.get('batch_deletes'))} in {_fmt(d.get('batch_seconds'), 1)} s "
                   f"({_fmt(d.get('batch_deletes_per_s'))}/s; call p50 "
                   f"{_fmt(d.get('batch_call_p50_ms'))} ms) |")
    out += [
        f"| Pending deletions before compaction | {_fmt(before.get('pending_deletions'))} "
        f"(asked {_fmt(d.get('asked_compaction_deletes'))}) |",
        f"| Data files before / after compaction | {_fmt(before.get('data_files'))} / "
        f"{_fmt(d.get('stats_after_compaction', {}).get('data_files'))} |",
    ]
    if "compaction_error" in d:
        out.append(f"| Compaction | not measured: {d['compaction_error'][:200]} |")
    else:
        out.append(f"| Compaction time | {_fmt(d.get('compaction_seconds'), 2)} s "
                   f"({_fmt(d.get('compaction_applied'))} deletions applied) |")
    if d.get("errors"):
        out.append(f"| Delete errors | {d['errors']}, first: {d.get('first_error')} |")
    return out + [""]


def _server_errors(results: dict) -> list[str]:
    if not results.get("server_errors"):
        return []
    out = ["## Server errors during the run", "", "| Count | Exception |", "|---|---|"]
    for line, count in results["server_errors"]:
        out.append(f"| {count} | `{line[:250].replace('|', '/')}` |")
    return out + [""]


def _memory(results: dict) -> list[str]:
    mem = results.get("memory", {})
    out = ["## 5. Server memory", ""]
    if mem:
        phases = ", ".join(f"{k} {_mb(v)}" for k, v in mem.get("phase_peak_rss_bytes", {}).items())
        out += [f"Peak RSS {_mb(mem.get('vm_hwm_bytes') or mem.get('peak_rss_bytes'))} "
                f"(kernel high-water mark; sampled every 0.1 s: {_mb(mem.get('peak_rss_bytes'))}). "
                f"Per phase (sampled): {phases}.", ""]
    before, disk = results.get("disk_used_before_bytes"), mem.get("phase_peak_disk_used_bytes")
    if before and disk:
        grown = {name: used - before for name, used in disk.items()}
        out += [f"Disk used by the run at its peak (the data directory, the Parquet reference and "
                f"the Arrow stream it is written from; the file system's use above its use before "
                f"the run, sampled with RSS): {_gb(max(grown.values()))}. Per phase: "
                + ", ".join(f"{name} {_gb(value)}" for name, value in grown.items()) + ".", ""]
    return out


def _segments(figures: dict) -> list[str]:
    """bench/segments.py's figures (RESULTS-segments.json), against the targets of issue 22."""
    refresh, members, hot = figures["refresh"], figures["membership"], figures["hot_path"]
    p50 = lambda values: percentile(values, 0.5)  # noqa: E731
    calls_goal = min(TARGET_IS_IN_CALLS,
                     TARGET_IS_IN_SHARE_OF_CEILING * hot["ceiling"]["calls_per_s"])
    rows = [
        ("IsInSegment p99 server time, one segment a call", f"< {TARGET_IS_IN_P99_MS} ms",
         f"{hot['server_p99_ms']:.3f} ms", hot["server_p99_ms"] < TARGET_IS_IN_P99_MS,
         f"the handler's time in the access log, one client: p50 {hot['server_p50_ms']:.3f} ms, "
         f"{hot['server_calls']:,} calls; with {hot['threads']} clients p50 "
         f"{hot['loaded_server_p50_ms']:.3f} ms, p99 {hot['loaded_server_p99_ms']:.3f} ms "
         f"(threads waiting for the GIL)"),
        (f"IsInSegment calls/s, {hot['threads']} clients", f"≥ {calls_goal:,.0f}",
         f"{hot['ours']['calls_per_s']:,.0f}", hot["ours"]["calls_per_s"] >= calls_goal,
         f"{hot['of_ceiling']:.0%} of the gRPC no-op ceiling "
         f"({hot['ceiling']['calls_per_s']:,.0f} calls/s), the two in turn; rounds "
         + ", ".join(f"{a:,.0f}/{b:,.0f}" for a, b in zip(
             hot["ours"].get("rounds_calls_per_s", []),
             hot["ceiling"].get("rounds_calls_per_s", [])))
         + f"; client p50/p99 {hot['ours']['client_p50_ms']:.2f}/"
         f"{hot['ours']['client_p99_ms']:.2f} ms"),
        ("Memory per (segment, device) pair", f"≤ {TARGET_BYTES_PER_PAIR} bytes",
         f"{members['index_bytes_per_pair']:.0f} bytes",
         members["index_bytes_per_pair"] <= TARGET_BYTES_PER_PAIR,
         f"{members['pairs']:,} pairs in {members['segments']} segments and the refresh "
         f"figure's; the server's RSS grew {members['rss_bytes_per_pair']:.1f} bytes a pair"),
        ("Refresh of a 90-day segment / raw DuckDB", f"≤ {TARGET_REFRESH_RATIO}x",
         f"{refresh['ratio']:.2f}x", refresh["ratio"] <= TARGET_REFRESH_RATIO,
         f"{refresh['events']:,} events (the target is for 10,000,000), "
         f"{refresh['devices']:,} devices; ours {p50(refresh['ours_lake_s']):.2f} s (query and "
         f"lake write) + {p50(refresh['ours_load_s']):.2f} s into memory, raw "
         f"{p50(refresh['raw_s']):.2f} s"),
    ]
    out = ["## 6. Segments (issue 22)", "",
           f"`{figures['command']}` on {figures['date']}, revision {figures['revision']}, "
           f"{figures['run_seconds']:,.0f} s. The machine was shared with other work while it "
           f"ran: the figures are of a busy machine. Medians of {refresh['runs']} refreshes "
           f"and raw queries, called in turn.", "",
           "| Figure | Target | Measured | Status | Note |", "|---|---|---|---|---|"]
    out += [f"| {name} | {goal} | {value} | {'pass' if ok else 'MISS'} | {note} |"
            for name, goal, value, ok, note in rows]
    return out + [""]


def _profiles(results: dict) -> list[str]:
    profiles = results.get("profiles")
    if not profiles:
        return []
    out = ["## Profiles (py-spy, server process, busy samples only)", ""]
    for name, p in profiles.items():
        if "error" in p or not p.get("busy_samples"):
            continue
        out += [f"**{name}** ({p['busy_samples']} busy samples). Self time: "
                + "; ".join(f"{f} {pct}%" for f, pct in p["self"][:8]) + ".", "",
                "Inclusive: " + "; ".join(f"{f} {pct}%" for f, pct in p["inclusive"][:10]) + ".",
                ""]
    return out
