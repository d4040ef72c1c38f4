"""The export commands of `trackstore` as a user runs them: `export` (a page, and --all as
NDJSON), and `exports create|list|get|update|run|runs|test|delete`."""
from __future__ import annotations

import json

from helpers import event
from tests_support import run_cli


def _cli(server, *args: str, input: str | None = None):
    done = run_cli(*args, "--target", server.target, input=input)
    return done


def test_export_a_page_and_everything(start_server):
    server = start_server()
    with server.client() as client:
        ids = client.track("shop", [event(i) for i in range(25)])
    page = _cli(server, "export", "--scope", "shop", "--page-size", "10",
                "--event-type", "pageview")
    assert page.returncode == 0, page.stderr
    answer = json.loads(page.stdout)
    assert len(answer["items"]) == 10 and answer["next_cursor"]
    assert {item["EventType"] for item in answer["items"]} == {"pageview"}
    rest = _cli(server, "export", "--scope", "shop", "--page-size", "10", "--event-type",
                "pageview", "--cursor", answer["next_cursor"])
    assert len(json.loads(rest.stdout)["items"]) == 3
    everything = _cli(server, "export", "--scope", "shop", "--all", "--page-size", "7",
                      "--start", "2020-01-01T00:00:00Z")
    lines = [json.loads(line) for line in everything.stdout.splitlines()]
    assert sorted(item["TrackId"] for item in lines) == sorted(ids)
    assert everything.stderr == ""  # no progress bar off a terminal
    wrong = _cli(server, "export", "--scope", "other", "--cursor", answer["next_cursor"])
    assert wrong.returncode == 1 and wrong.stderr.startswith("INVALID_ARGUMENT: cursor")


def test_exports_commands(start_server, tmp_path):
    server = start_server("--export-safety-lag-seconds", "0", "--export-poll-seconds", "0",
                          "--export-local-root", str(tmp_path / "exports"))
    with server.client() as client:
        client.track("default", [event(i) for i in range(12)])
    created = _cli(server, "exports", "create", "nightly", "--schedule", "daily",
                   "--start-at", "2020-01-01T00:00:00Z", "--format", "tsv",
                   "--compression", "gzip", "--dir", "nightly", "--where", "Payload.price > 3")
    assert created.returncode == 0, created.stderr
    shown = json.loads(created.stdout)
    assert (shown["schedule"], shown["format"], shown["compression"]) == ("daily", "tsv", "gzip")
    assert shown["start_at"] == 1577836800000
    bad = _cli(server, "exports", "create", "broken", "--schedule", "daily", "--start-at", "0",
               "--format", "csv", "--dir", "x", "--where", "Payload.price >")
    assert bad.returncode == 1 and "INVALID_ARGUMENT: line 1, column" in bad.stderr
    listed = json.loads(_cli(server, "exports", "list").stdout)
    assert [c["name"] for c in listed["configurations"]] == ["nightly"]
    updated = json.loads(_cli(server, "exports", "update", "nightly", "--format", "ndjson",
                              "--compression", "none").stdout)
    assert (updated["format"], updated["where"]) == ("ndjson", "Payload.price > 3")
    run = json.loads(_cli(server, "exports", "run", "nightly").stdout)
    assert run["state"] == "succeeded" and run["rows"] == 9  # prices 0, 1.5 and 3 stay out
    assert run["files"][0].endswith(".ndjson")
    runs = json.loads(_cli(server, "exports", "runs", "nightly").stdout)
    assert [r["run_id"] for r in runs["runs"]] == [run["run_id"]]
    tested = json.loads(_cli(server, "exports", "test", "nightly").stdout)
    assert tested["ok"] and ".trackstore-probe-" in tested["probe"]
    got = json.loads(_cli(server, "exports", "get", "nightly").stdout)
    assert got["exported_until"] == run["range_end"]
    assert _cli(server, "exports", "delete", "nightly").returncode == 0
    gone = _cli(server, "exports", "get", "nightly")
    assert gone.returncode == 1 and gone.stderr.startswith("NOT_FOUND: no export configuration")
