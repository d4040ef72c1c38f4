"""The CLI's output formats, query sources, progress display, help texts and exit statuses."""
from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys

import pytest

from tests_support import run_cli

QUERY = "Events | project EventType, Payload, n = tolong(Payload.n) | sort by n asc"


@pytest.fixture(scope="module")
def target(shared_server):
    events = "".join(json.dumps({"EventType": f"type-{i}", "Payload": {"n": i, "tags": ["x"]}})
                     + "\n" for i in range(3))
    result = run_cli("track", "--target", shared_server.target, "--scope", "cli", "-",
                     input=events)
    assert result.returncode == 0, result.stderr
    return shared_server.target


def cli(target: str, *args: str, **kwargs):
    return run_cli(*args[:1], "--target", target, "--scope", "cli", *args[1:], **kwargs)


def test_json_is_the_default(target):
    result = cli(target, "preview", QUERY)
    document = json.loads(result.stdout)
    assert [c["type"] for c in document["columns"]] == ["string", "dynamic", "long"]
    assert document["items"][2] == {"EventType": "type-2", "Payload": {"n": 2, "tags": ["x"]},
                                    "n": 2}


def test_ndjson_is_one_row_a_line(target):
    lines = cli(target, "preview", QUERY, "--format", "ndjson").stdout.splitlines()
    assert [json.loads(line)["n"] for line in lines] == [0, 1, 2]


def test_csv_has_a_header_and_dynamic_values_as_compact_json(target):
    rows = list(csv.reader(io.StringIO(cli(target, "preview", QUERY, "--format", "csv").stdout)))
    assert rows[0] == ["EventType", "Payload", "n"]
    assert rows[1] == ["type-0", '{"n":0,"tags":["x"]}', "0"]


def test_table_is_aligned_and_fits_the_width(target):
    result = cli(target, "preview", QUERY, "--format", "table", env={"COLUMNS": "60"})
    lines = result.stdout.splitlines()
    assert result.returncode == 0
    assert all(len(line) <= 60 for line in lines)
    assert any('{"n":1,"tags":["x"]}' in line for line in lines), result.stdout
    assert "3 rows" in result.stdout
    wide = cli(target, "list", "--top", "2", "--format", "table", env={"COLUMNS": "200"})
    assert all(len(line) <= 200 for line in wide.stdout.splitlines())
    assert "TrackId" in wide.stdout


def test_every_reading_command_takes_every_format(target):
    for command in (["preview", "Events | count"], ["list", "--top", "1"], ["stats"]):
        for form in ("json", "ndjson", "table", "csv"):
            result = cli(target, *command, "--format", form)
            assert result.returncode == 0 and result.stdout, (command, form, result.stderr)


def test_preview_reads_the_query_from_a_file_or_stdin(target, tmp_path):
    query = tmp_path / "count.kql"
    query.write_text("Events\n| count\n")
    from_file = cli(target, "preview", "-f", str(query))
    from_stdin = cli(target, "preview", "-", input="Events | count")
    from_stdin_file = cli(target, "preview", "-f", "-", input="Events | count")
    for result in (from_file, from_stdin, from_stdin_file):
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["items"] == [{"Count": 3}]


def test_preview_needs_exactly_one_query_source(target, tmp_path):
    for args in (["preview"], ["preview", "Events", "-f", "x.kql"]):
        result = cli(target, *args)
        assert result.returncode == 2 and len(result.stderr.splitlines()) == 1
    missing = cli(target, "preview", "-f", str(tmp_path / "none.kql"))
    assert missing.returncode == 2
    assert missing.stderr == f"{tmp_path / 'none.kql'}: cannot read: No such file or directory\n"


def test_progress_shows_on_a_terminal_and_is_silent_when_piped(shared_server, tmp_path):
    events = tmp_path / "many.ndjson"
    events.write_text("".join('{"EventType": "bulk"}\n' for _ in range(5000)))
    piped = run_cli("track", "--target", shared_server.target, "--scope", "bulk", str(events))
    assert piped.returncode == 0 and piped.stderr == ""
    primary, secondary = os.openpty()
    process = subprocess.run(
        [sys.executable, "-m", "trackstore_client.cli", "track", "--target",
         shared_server.target, "--scope", "bulk-tty", str(events)],
        stdout=subprocess.PIPE, stderr=secondary, timeout=120, env={**os.environ,
                                                                    "TERM": "xterm"})
    os.close(secondary)
    shown = b""
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:
            break
        if not chunk:
            break
        shown += chunk
    os.close(primary)
    assert process.returncode == 0
    assert b"events/s" in shown and b"5000/5000" in shown


@pytest.mark.parametrize("command", ["track", "preview", "list", "delete", "compact", "stats",
                                     "serve"])
def test_help_shows_examples_and_exit_statuses(command):
    result = run_cli(command, "--help")
    assert result.returncode == 0
    examples = result.stdout.split("examples:", 1)[1].split("exit status:", 1)[0]
    assert 2 <= len([line for line in examples.splitlines() if "trackstore " in line]) <= 3
    assert "exit status:" in result.stdout and "2  usage or local input error" in result.stdout


def test_exit_statuses(target):
    ok = cli(target, "preview", "Events | count")
    server_error = cli(target, "preview", "Events | where")
    usage = cli(target, "list", "--top", "lots")
    assert (ok.returncode, server_error.returncode, usage.returncode) == (0, 1, 2)
    assert server_error.stderr.startswith("INVALID_ARGUMENT: line 1, column")
    assert len(server_error.stderr.splitlines()) == 1


def test_stats_shows_the_memory_split_as_rows_and_as_one_document(target):
    rows = cli(target, "stats", "--format", "csv")
    assert rows.returncode == 0, rows.stderr
    names = [line.split(",")[0] for line in rows.stdout.splitlines()]
    assert {"events", "memory.resident_bytes", "memory.track_id_index_bytes",
            "memory.duckdb_bytes"} <= set(names)
    document = json.loads(cli(target, "stats", "--format", "json").stdout)
    assert document["memory"]["resident_bytes"] > 0
