"""The README's tour, run command by command as printed, against a real server."""
from __future__ import annotations

import json
import pathlib
import shlex


from tests_support import run_cli

ROOT = pathlib.Path(__file__).resolve().parents[2]


def tour_commands() -> list[list[str]]:
    readme = (ROOT / "README.md").read_text()
    block = readme.split("## A 60-second tour", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    commands, pending = [], ""
    for line in block.splitlines():
        pending = f"{pending}\n{line}" if pending else line
        try:
            words = shlex.split(pending, comments=True)
        except ValueError:
            continue  # an open quote: the command goes on on the next line
        pending = ""
        if words and words[0] == "trackstore":
            commands.append(words[1:])
    return commands


def test_readme_tour_works_as_printed(start_server):
    # Flushed before the delete, as a person typing the tour sees it (default: 5 s).
    server = start_server("--flush-seconds", "0.2")
    env = {"TRACKSTORE_TARGET": server.target}
    commands = tour_commands()
    assert [c[0] for c in commands] == [
        "track", "preview", "list", "delete", "preview", "compact", "stats"]
    outputs = []
    for args in commands:
        result = run_cli(*args, env=env)
        assert result.returncode == 0, f"trackstore {' '.join(args)}: {result.stderr}"
        outputs.append(json.loads(result.stdout))
    tracked, preview, listed, deleted, count_after, compacted, stats = outputs
    assert len(tracked["track_ids"]) == 4
    assert preview["count"] == 2 and all(i["EventType"] == "pageview" for i in preview["items"])
    assert [i["EventTime"] for i in listed["items"]] == [
        "2020-01-23T21:27:59.866123Z", "2020-01-23T21:27:49.336100Z"]
    assert deleted == {"deleted": "0193f1c2-0000-7000-8000-000000000001"}
    assert count_after["items"] == [{"Count": 1}]
    assert compacted["applied_deletions"] == 1
    assert stats["events"] == 3 and stats["pending_deletions"] == 0


def test_failed_call_prints_status_on_stderr_and_exits_non_zero(start_server):
    server = start_server()
    result = run_cli("delete", "--target", server.target, "no-such-event")
    assert result.returncode == 1
    assert result.stderr.startswith("NOT_FOUND: ")
    assert result.stdout == ""
    assert "Traceback" not in result.stderr


def test_delete_of_several_ids_is_one_batch(start_server):
    server = start_server()
    with server.client() as client:
        ids = client.track("default", [{"EventType": "a"}, {"EventType": "b"}, {"EventType": "c"}])
    result = run_cli("delete", "--target", server.target, ids[2], ids[0])
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"deleted": [ids[2], ids[0]]}
    failed = run_cli("delete", "--target", server.target, ids[1], "no-such-event")
    assert failed.returncode == 1 and failed.stderr.startswith("NOT_FOUND: ")
    skipped = run_cli("delete", "--target", server.target, "--allow-missing", ids[1], "nope")
    assert json.loads(skipped.stdout) == {"deleted": [ids[1]]}
    with server.client() as client:
        assert client.stats()["events"] == 0


def test_bad_input_file_names_the_line(start_server, tmp_path):
    server = start_server()
    bad = tmp_path / "bad.ndjson"
    bad.write_text('{"EventType": "ok"}\n{"EventType": \n')
    result = run_cli("track", "--target", server.target, str(bad))
    assert result.returncode == 2
    assert f"{bad}:2" in result.stderr


def test_track_reads_standard_input(start_server):
    server = start_server()
    result = run_cli("track", "--target", server.target, "--scope", "s", "-",
                     input='{"EventType": "a"}\n\n{"EventType": "b", "Payload": {"x": 1}}\n')
    assert result.returncode == 0, result.stderr
    assert len(json.loads(result.stdout)["track_ids"]) == 2


def test_unreachable_server_is_a_clear_error(tmp_path):
    result = run_cli("preview", "--target", "127.0.0.1:1", "Events")
    assert result.returncode == 1
    assert result.stderr.startswith("UNAVAILABLE: ")
