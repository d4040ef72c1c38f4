"""The benchmark cannot rot: bench/run.py runs end to end with a tiny N into a temp directory.

Checks the shape of what it writes (sections, rows, positive figures), not the figures
themselves; the generator's wire encoding is checked against the protobuf library.
"""
from __future__ import annotations

import json
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"


def _generate():
    sys.path.insert(0, str(BENCH))
    try:
        import generate
    finally:
        sys.path.remove(str(BENCH))
    return generate


def test_generated_requests_are_the_protobuf_encoding_of_the_rows():
    from trackstore.v1 import trackevents_pb2 as pb

    generate = _generate()
    cfg = generate.Config(events=300, chunk_rows=300)
    table = next(generate.chunks(cfg))
    requests = generate.encode_requests(table, 100, "bench", with_track_ids=True)
    assert len(requests) == 3
    rows = table.to_pylist()
    events = [e for r in requests for e in pb.TrackStreamRequest.FromString(r).events]
    assert len(events) == 300
    for event, row in zip(events, rows):
        expected = pb.TrackEvent(
            track_id=row["TrackId"], device_id=row["DeviceId"], event_type=row["EventType"],
            value=row["Value"], page_uri=row["PageUri"], page_title=row["PageTitle"],
            remote_address=row["RemoteAddress"], session_id=row["SessionId"],
            payload_json=row["Payload"], country_code=row["CountryCode"], city=row["City"],
        )
        if row["User"] is not None:
            expected.user_json = row["User"]
        micros = generate.pa.array([row["EventTime"]], generate.pa.timestamp("us")).cast(
            generate.pa.int64())[0].as_py()
        expected.event_time.seconds, nanos = divmod(micros, 1_000_000)
        expected.event_time.nanos = nanos * 1000
        assert event.SerializeToString() == expected.SerializeToString()
    # Same seed, same rows; payloads vary (no tiny set of distinct values).
    again = next(generate.chunks(cfg))
    assert again.equals(table)
    assert len(set(table.column("Payload").to_pylist())) == 300


def test_bench_runs_end_to_end_with_a_tiny_n(tmp_path):
    out = tmp_path / "RESULTS.md"
    before = (BENCH / "RESULTS.md").stat().st_mtime if (BENCH / "RESULTS.md").exists() else None
    completed = subprocess.run(
        [sys.executable, str(BENCH / "run.py"), "--events", "2000", "--out", str(out),
         "--ingest-events", "2000", "--struct-events", "1000", "--unary-seconds", "0.5",
         "--runs", "2", "--deletes", "10", "--compaction-deletes", "40",
         "--settle-seconds", "5.5"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    # The checked-in results are never overwritten by a test run.
    if before is not None:
        assert (BENCH / "RESULTS.md").stat().st_mtime == before

    text = out.read_text()
    for section in ("## Targets (issue 6)", "## 1. Ingest", "## 2. Preview vs raw DuckDB",
                    "## 3. List", "## 4. Delete and compaction", "## 5. Server memory"):
        assert section in text
    assert "| Events (N) | 2,000 |" in text
    assert "DuckDB 1.4" in text and "cores" in text

    results = json.loads(out.with_suffix(".json").read_text())
    assert results["events"] == 2000 and "fatal" not in results
    ingest = {row["name"]: row for row in results["ingest"]}
    for name in ("TrackStream, JSON text", "TrackStream, Struct", "Track, batch 1, 1 thread",
                 "Track, batch 1, 8 threads", "Track, batch 1000, 1 thread",
                 "Track, batch 1000, 8 threads"):
        assert ingest[name]["events_per_s"] > 0, ingest[name]
    # Stream figures wait for the lake; batch-1 figures are put beside the gRPC no-op ceiling.
    stream = ingest["TrackStream, JSON text"]
    assert stream["acknowledged_per_s"] >= stream["events_per_s"] > 0
    for threads in ("1 thread", "8 threads"):
        ceiling = ingest[f"gRPC no-op ceiling, batch 1, {threads}"]
        assert ceiling["events_per_s"] > 0, ceiling
        ours = ingest[f"Track, batch 1, {threads}"]
        assert ours["of_ceiling"] == ours["events_per_s"] / ceiling["events_per_s"]
    assert "| gRPC no-op ceiling, batch 1, 8 threads |" in text
    assert results["load"]["events"] == 2000 and results["load"]["events_per_s"] > 0
    assert results["store_after_load"]["events"] >= 2000

    # Every query of the suite has a row; raw DuckDB always answers. A query our compiler
    # cannot run yet is an error row, not a crash.
    preview = {row["name"]: row for row in results["preview"]}
    assert len(preview) >= 8
    for row in preview.values():
        assert row["raw_p50_ms"] > 0
        assert row.get("ours_p50_ms", 0) > 0 or row.get("error")
        assert f"| {row['name']}" in text

    assert [row["skip"] for row in results["list"]] == [0, 5000, 9900]
    for row in results["list"]:
        assert row.get("p50_ms", 0) > 0 or row.get("error")

    delete = results["delete"]
    # 10 one by one, 10 from 8 threads, the other 20 in one BatchDelete; all before compaction.
    assert (delete["rate_deletes"], delete["extra_deletes"], delete["batch_deletes"]) == (10, 10, 20)
    assert delete["errors"] == 0
    assert delete["stats_before_compaction"]["pending_deletions"] == 40
    assert delete.get("compaction_applied") == 40 or delete.get("compaction_error")
    assert "| More in BatchDeletes of 1000 (1 client) | 20 in" in text
    after_load = results["compaction_after_load"]
    assert after_load.get("seconds", 0) > 0 or after_load.get("error")
    assert results["memory"]["peak_rss_bytes"] > 0
    # The delete phase is sampled stage by stage, so a peak says which stage made it.
    assert {"delete, sequential", "delete, 8 threads", "delete, batches",
            "compaction after deletes"} <= results["memory"]["phase_peak_rss_bytes"].keys()
    targets = {row["target"] for row in results["targets"]}
    assert "Ingest TrackStream JSON, batch 1000" in targets and "List skip 9900" in targets
