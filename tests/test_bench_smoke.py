"""The benchmark cannot rot: bench/run.py runs end to end with a tiny N into a temp directory.

Checks the shape of what it writes (sections, rows, positive figures), not the figures
themselves; the generator's wire encoding is checked against the protobuf library.
"""
from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import pytest

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
    # Track and TrackStream requests share the wire layout, so the same bytes serve both.
    for request in requests:
        unary, stream = pb.TrackRequest.FromString(request), pb.TrackStreamRequest.FromString(request)
        assert (unary.scope, list(unary.events)) == (stream.scope, list(stream.events)) != ("", [])
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


@pytest.fixture(scope="module")
def bench_run(tmp_path_factory):
    """One run of the whole benchmark at N=2000: (RESULTS.md text, RESULTS.json, its path)."""
    out = tmp_path_factory.mktemp("bench") / "RESULTS.md"
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
    json_path = out.with_suffix(".json")
    return out.read_text(), json.loads(json_path.read_text()), json_path


def test_bench_runs_end_to_end_with_a_tiny_n(bench_run):
    text, results, _ = bench_run
    for section in ("## Targets (issue 6)", "## 1. Ingest", "## 2. Preview vs raw DuckDB",
                    "## 3. List", "## 4. Delete and compaction", "## 5. Server memory"):
        assert section in text
    assert "| Events (N) | 2,000 |" in text
    assert "DuckDB 1.4" in text and "cores" in text
    assert results["events"] == 2000 and "fatal" not in results
    targets = {row["target"] for row in results["targets"]}
    assert "Ingest TrackStream JSON, batch 1000" in targets and "List skip 9900" in targets


def test_ingest_and_load_figures(bench_run):
    text, results, _ = bench_run
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
    # From 8 threads ours and the ceiling alternate, three rounds each; a row is its median.
    for name in ("Track, batch 1, 8 threads", "gRPC no-op ceiling, batch 1, 8 threads"):
        rates = ingest[name]["rounds"]
        assert len(rates) == 3 and ingest[name]["events_per_s"] == sorted(rates)[1]
    assert "Events/s of each round, in the order run: Track, batch 1, 8 threads: " in text
    assert results["load"]["events"] == 2000 and results["load"]["events_per_s"] > 0
    assert results["store_after_load"]["events"] >= 2000
    after_load = results["compaction_after_load"]
    assert after_load.get("seconds", 0) > 0 or after_load.get("error")


def test_ingest_into_the_loaded_scope_takes_turns_round_by_round(bench_run):
    text, results, _ = bench_run
    rows = {row["name"]: row for row in results["stored_ingest"]}
    assert set(rows) == {"server TrackIds", "client UUIDv4", "client UUIDv7"}
    for name, row in rows.items():
        assert len(row["round_events_per_s"]) == 3 and row["events_per_s"] > 0
        assert row["events_per_s"] == sorted(row["round_events_per_s"])[1]  # the median round
        if name != "server TrackIds":
            assert len(row["round_costs"]) == 3
            assert row["cost_vs_server_ids"] == sorted(row["round_costs"])[1]
    assert "Events/s of each round, in the order run: server TrackIds:" in text


def test_query_figures(bench_run):
    text, results, _ = bench_run
    # Every query of the suite has a row; raw DuckDB always answers. A query our compiler
    # cannot run yet is an error row, not a crash.
    preview = {row["name"]: row for row in results["preview"]}
    assert len(preview) >= 8
    for row in preview.values():
        assert row["raw_p50_ms"] > 0
        assert row.get("ours_p50_ms", 0) > 0 or row.get("error")
        assert f"| {row['name']}" in text
    # The server's CPU is counted around both sides: a whole-scope count costs it CPU time
    # (clock ticks of 10 ms; over the suite some query must register).
    assert all(row["server_cpu_raw_p50_ms"] >= 0 for row in preview.values())
    assert max(row["server_cpu_ours_p50_ms"] for row in preview.values()) > 0
    assert "Server CPU ms" in text
    # a running server holds more than 10 MiB at every moment of a query
    assert all(row["server_peak_rss_bytes"] > 10 * 2**20 for row in preview.values())
    assert all(row["server_memory_after"]["resident_bytes"] > 0 for row in preview.values())
    assert results["preview_floor"]["ours_p50_ms"] > 0 and results["preview_floor"]["raw_p50_ms"] > 0
    assert "Fixed cost of a Preview that reads no rows" in text

    assert [row["skip"] for row in results["list"]] == [0, 5000, 9900]
    for row in results["list"]:
        assert row.get("p50_ms", 0) > 0 or row.get("error")

    # With the server stopped, the hand-written and the compiled SQL of every query ran on the
    # lake (the server's compile inputs rebuilt from the lake), with a plan each.
    lake = results["lake_sql"]
    assert not {"_error", "_compile_error"} & lake.keys(), lake
    for name in preview:
        assert lake[name]["p50_ms"] > 0 and lake[name]["compiled_p50_ms"] > 0, lake[name]
        assert lake[name]["rows"] == preview[name]["raw_rows"]
        assert name in lake["_explain"]
    assert lake["_list_compiled"]["p50_ms"] > 0 and "list_skip_9900" in lake["_explain"]


def test_delete_and_memory_figures(bench_run):
    text, results, _ = bench_run
    delete = results["delete"]
    # 10 one by one, 10 from 8 threads, the other 20 in one BatchDelete; all before compaction.
    assert (delete["rate_deletes"], delete["extra_deletes"], delete["batch_deletes"]) == (10, 10, 20)
    assert delete["errors"] == 0
    assert delete["stats_before_compaction"]["pending_deletions"] == 40
    assert delete.get("compaction_applied") == 40 or delete.get("compaction_error")
    assert "| More in BatchDeletes of 1000 (1 client) | 20 in" in text
    assert results["memory"]["peak_rss_bytes"] > 0
    # Every phase is sampled, the delete phase stage by stage, so a peak says which made it.
    assert {"ingest", "load", "queries before compaction", "compact after load", "preview",
            "list", "delete, sequential", "delete, 8 threads", "delete, batches",
            "compaction after deletes"} <= results["memory"]["phase_peak_rss_bytes"].keys()


def test_the_report_is_rendered_from_the_figures_alone(bench_run, tmp_path):
    text, _, json_path = bench_run
    again = tmp_path / "again.md"
    subprocess.run([sys.executable, str(BENCH / "run.py"), "--render", str(json_path),
                    "--out", str(again)], cwd=ROOT, check=True, timeout=60)
    assert again.read_text() == text


def test_the_segments_benchmark_runs_end_to_end_with_a_tiny_n(tmp_path):
    """bench/segments.py at a tiny size: its figures, and its section of a RESULTS.md rendered
    from a copy of the checked-in RESULTS.json."""
    out = tmp_path / "RESULTS.md"
    (tmp_path / "RESULTS.json").write_text((BENCH / "RESULTS.json").read_text())
    completed = subprocess.run(
        [sys.executable, str(BENCH / "segments.py"), "--events", "2000", "--devices", "2000",
         "--segments", "2", "--seconds", "0.5", "--runs", "1", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    figures = json.loads((tmp_path / "RESULTS-segments.json").read_text())
    assert figures["membership"]["device_counts"] == [2000, 2000]
    assert 16 <= figures["membership"]["index_bytes_per_pair"] < 16.1  # and the fence
    hot = figures["hot_path"]
    assert hot["members_found"] == 100 and hot["strangers_found"] == 0
    assert hot["ours"]["calls_per_s"] > 0 and hot["ceiling"]["calls_per_s"] > 0
    assert hot["server_calls"] > 0 and hot["server_p99_ms"] > 0
    refresh = figures["refresh"]
    assert refresh["devices"] == refresh["raw_devices"] > 0 and refresh["ratio"] > 0
    assert len(refresh["ours_lake_s"]) == 1
    text = out.read_text()
    assert "## 6. Segments (issue 22)" in text and "| Refresh of a 90-day segment" in text


def test_the_export_benchmark_runs_end_to_end_with_a_tiny_n(tmp_path):
    """bench/export.py loads its events straight into a store of the current format, then one
    run exports every one of them and the pages are timed."""
    completed = subprocess.run(
        [sys.executable, str(BENCH / "export.py"), "--events", "3000", "--pages", "2",
         "--data-dir", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    figures = json.loads(completed.stdout)
    assert figures["run"]["rows"] == 3000 and figures["run"]["bytes"] > 0
    assert figures["run"]["events_per_s"] > 0
    assert figures["paging"]["pages"] == 2
    assert len(list((tmp_path / "exports" / "bench").glob("*.parquet"))) == 1


def test_the_flush_cost_of_shredding_is_measured_with_a_tiny_n():
    completed = subprocess.run(
        [sys.executable, str(BENCH / "shred_cost.py"), "--events", "3000", "--repeats", "1"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    lines = completed.stdout.splitlines()
    assert lines[0].startswith("no keys") and "keys extracted" in lines[1]
    assert all(float(line.split()[-4]) > 0 for line in lines)


def test_the_grpc_aio_probe_measures_four_servers_that_answer():
    """bench/aio_probe.py, one short round: each server answered its first call with one bool
    (the probe checks it) and served calls."""
    completed = subprocess.run(
        [sys.executable, str(BENCH / "aio_probe.py"), "--rounds", "1", "--seconds", "0.3",
         "--threads", "2"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr[-3000:]
    medians = [line for line in completed.stdout.splitlines() if line.startswith("median ")]
    assert [line.split()[1].rstrip(":") for line in medians] == [
        "sync-constant", "sync-lookup", "aio-constant", "aio-lookup"]
    assert all(float(line.split()[2].replace(",", "")) > 0 for line in medians)


def test_the_cold_pages_probe_times_both_layouts():
    """bench/cold_pages.py at a tiny size, no idle wait: both ways looked up every DeviceId
    (the probe refuses to time them when they find a stranger)."""
    completed = subprocess.run(
        [sys.executable, str(BENCH / "cold_pages.py"), "--segments", "3", "--devices", "3000",
         "--rounds", "1", "--idle", "0"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr[-3000:]
    lines = completed.stdout.splitlines()
    assert [line.split(":")[0].strip() for line in lines] == ["rows and fence", "plain search"]
    assert all("of 20000 over 50 µs" in line for line in lines)
