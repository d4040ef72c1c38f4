"""Issue 20's CLI cases, each through the real `trackstore` process: every failure is one line
on stderr (the status name, or FILE:LINE: reason), exit 1 or 2, never a traceback."""
from __future__ import annotations

import json
import re

import pytest

from tests_support import run_cli
from trackstore_client import cli


def one_line_failure(result, status: int) -> str:
    assert result.returncode == status, result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert len(result.stderr.splitlines()) == 1, result.stderr
    return result.stderr.strip()


@pytest.fixture(scope="module")
def target(shared_server):
    return shared_server.target


def test_double_dash_is_a_scope_like_any_other(target, tmp_path):
    events = tmp_path / "one.ndjson"
    events.write_text('{"EventType": "dashes"}\n')
    tracked = run_cli("track", "--target", target, "--scope=--", str(events))
    assert tracked.returncode == 0, tracked.stderr
    previewed = run_cli("preview", "--target", target, "--scope=--", "Events | count")
    assert previewed.returncode == 0, previewed.stderr
    assert json.loads(previewed.stdout)["items"] == [{"Count": 1}]
    listed = run_cli("list", "--target", target, "--scope=--")
    assert [item["Scope"] for item in json.loads(listed.stdout)["items"]] == ["--"]


def test_double_dash_as_a_filter_is_the_servers_invalid_argument(target):
    message = one_line_failure(run_cli("list", "--target", target, "--filter=--"), 1)
    assert message.startswith("INVALID_ARGUMENT: line 1, column 1")


def test_double_dash_without_equals_is_a_usage_error(target):
    result = run_cli("list", "--target", target, "--scope", "--")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.splitlines()[-1].endswith("argument --scope: expected one argument")


@pytest.mark.parametrize("field", ["Payload", "User"])
def test_json_nested_1000_deep_is_a_local_error_naming_the_line(target, tmp_path, field):
    deep = '{"a":' * 1000 + "1" + "}" * 1000
    events = tmp_path / "deep.ndjson"
    events.write_text('{"EventType": "ok"}\n' + f'{{"EventType": "deep", "{field}": {deep}}}\n')
    message = one_line_failure(run_cli("track", "--target", target, "--scope", "deep",
                                       str(events)), 2)
    assert message.startswith(f"{events}:2: {field} cannot be written as JSON")
    count = run_cli("preview", "--target", target, "--scope", "deep", "Events | count")
    assert json.loads(count.stdout)["items"] == [{"Count": 0}]  # a bad line stores nothing


def test_top_beyond_the_window_names_the_rule(target):
    message = one_line_failure(run_cli("list", "--target", target, "--top", "1000000000000"), 2)
    assert message == ("--skip + --top must be under 10,000 (List pages within the first "
                       "10,000 events), got 1,000,000,000,000")
    negative = one_line_failure(run_cli("list", "--target", target, "--skip", "-1"), 2)
    assert negative == "--skip and --top must not be negative"


def test_a_broken_json_line_names_file_line_and_column(target, tmp_path):
    events = tmp_path / "broken.ndjson"
    events.write_text('{"EventType": "ok"}\n{"EventType": \n')
    message = one_line_failure(run_cli("track", "--target", target, str(events)), 2)
    assert message == f"{events}:2: not valid JSON (column 1): unexpected end of data"
    array = tmp_path / "array.ndjson"
    array.write_text("[1, 2]\n")
    assert one_line_failure(run_cli("track", "--target", target, str(array)), 2) == \
        f"{array}:1: an event must be a JSON object"


def test_a_nul_character_is_stored_or_one_line_with_the_status_name(target, tmp_path):
    # What the server does with NUL (issue 20: INTERNAL for a TrackId today) is its business;
    # the CLI either prints the TrackIds or reports the status as one line, exit 1.
    events = tmp_path / "nul.ndjson"
    events.write_text('{"EventType": "a\\u0000b", "TrackId": "x\\u0000y"}\n')
    result = run_cli("track", "--target", target, "--scope", "nul", str(events))
    if result.returncode == 0:
        assert json.loads(result.stdout)["track_ids"] == ["x\0y"]
    else:
        assert re.match(r"^[A-Z_]+: ", one_line_failure(result, 1))


def test_an_unexpected_failure_is_still_one_line(monkeypatch, capsys):
    def broken(args):
        raise TypeError("bad argument type for built-in operation")

    monkeypatch.setattr("trackstore_client.commands.cmd_stats", broken)
    assert cli.main(["stats", "--target", "127.0.0.1:1"]) == 1
    assert capsys.readouterr().err == ("trackstore: unexpected error: TypeError: bad argument "
                                       "type for built-in operation\n")
