"""Every measured figure that has a goal in issue 6, as a row: pass or MISS, and by how much."""
from __future__ import annotations

from suite import (FULL_N, TARGET_BATCH1_8, TARGET_CLIENT_ID_COST, TARGET_INGEST_JSON,
                   TARGET_INGEST_STRUCT, TARGET_LIST_MS, TARGET_PAYLOAD_SPEEDUP,
                   TARGET_PREVIEW_RATIO, TARGET_RATIO_RPC, TARGET_RATIO_RPC_BEFORE)


def evaluate(results: dict) -> list[dict]:
    rows = _ingest_rows(results)
    scale_note = ("" if results.get("events", 0) >= FULL_N else
                  f"measured at N={results.get('events', 0):,}; the target is for 10M")
    for entry in results.get("preview", []):
        ratio = entry.get("ratio")
        note = entry.get("error", "")[:100] if ratio is None else scale_note
        rows.append(_row(f"Preview ratio {entry['name']}", ratio, TARGET_PREVIEW_RATIO, False,
                         "ours/raw", note))
        if entry["payload"]:
            rows.append(_row(f"Payload speed-up {entry['name']}", 1 / ratio if ratio else None,
                             TARGET_PAYLOAD_SPEEDUP, True, "raw/ours", note))
    rows += _issue24_rows(results, scale_note)
    last_page = {r["skip"]: r for r in results.get("list", [])}.get(9900, {})
    rows.append(_row("List skip 9900", last_page.get("p50_ms"), TARGET_LIST_MS, False, "ms",
                     last_page.get("error", "")[:100] or scale_note))
    return rows


def _issue24_rows(results: dict, note: str) -> list[dict]:
    """Issue 24: the RPC-adjusted ratios after and before compaction, the Payload speed-up
    before it, and ingest with client TrackIds into the loaded scope."""
    rows = []
    for key, label, goal in (("preview", "after compaction", TARGET_RATIO_RPC),
                             ("preview_before_compaction", "before compaction",
                              TARGET_RATIO_RPC_BEFORE)):
        for entry in results.get(key, []):
            rows.append(_row(f"Ratio (issue 24) {label} {entry['name']}",
                             entry.get("ratio_rpc"), goal, False, "ours/(raw+RPC)", note))
            if key != "preview" and entry["payload"]:
                ratio = entry.get("ratio")
                rows.append(_row(f"Payload speed-up before compaction {entry['name']}",
                                 1 / ratio if ratio else None, TARGET_PAYLOAD_SPEEDUP, True,
                                 "raw/ours", note))
    for entry in results.get("stored_ingest", []):
        rows.append(_row(f"Ingest at N stored, {entry['name']}", entry.get("events_per_s"),
                         TARGET_INGEST_JSON, True, "events/s", note))
        if "cost_vs_server_ids" in entry:
            rows.append(_row(f"Cost of {entry['name']} against server TrackIds",
                             entry["cost_vs_server_ids"], TARGET_CLIENT_ID_COST,
                             False, "share of throughput", note))
    return rows


def _ingest_rows(results: dict) -> list[dict]:
    ingest = {r["name"]: r for r in results.get("ingest", [])}

    def rate(name):
        return ingest.get(name, {}).get("events_per_s")

    ceiling = rate("gRPC no-op ceiling, batch 1, 8 threads")
    share = ingest.get("Track, batch 1, 8 threads", {}).get("of_ceiling")
    ceiling_note = (f"{share:.0%} of the gRPC no-op ceiling ({ceiling:,.0f} calls/s) in this run"
                    if share else "")
    return [
        _row("Ingest TrackStream JSON, batch 1000", rate("TrackStream, JSON text"),
             TARGET_INGEST_JSON, True, "events/s"),
        _row("Ingest TrackStream Struct, batch 1000", rate("TrackStream, Struct"),
             TARGET_INGEST_STRUCT, True, "events/s"),
        _row("Ingest Track batch 1, 8 clients", rate("Track, batch 1, 8 threads"),
             TARGET_BATCH1_8, True, "events/s", ceiling_note),
    ]


def _row(name: str, measured, target, higher_is_better: bool, unit: str, note: str = "") -> dict:
    if measured is None:
        return {"target": name, "measured": None, "goal": target, "unit": unit,
                "status": "not measured", "note": note}
    ok = measured >= target if higher_is_better else measured <= target
    if higher_is_better:
        margin = (f"{measured / target:.2f}x the target" if ok else
                  f"missed by {target / measured:.1f}x ({measured / target:.0%} of target)")
    elif measured <= 0:  # a cost that came out negative: the variant was the faster
        margin = "no cost measured"
    else:
        margin = (f"{target / measured:.2f}x headroom" if ok else
                  f"missed by {measured / target:.1f}x")
    return {"target": name, "measured": measured, "goal": target, "unit": unit,
            "status": "pass" if ok else "MISS", "margin": margin, "note": note}
