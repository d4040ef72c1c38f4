"""docs/segments.md's example, from a definition to `is-in`, run command by command as printed
against a real server; its YAML is the example files' (examples/segments/)."""
from __future__ import annotations

import json
import pathlib
import re
import shlex

from tests_support import run_cli

ROOT = pathlib.Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "segments.md").read_text()
EXAMPLE = DOC.split("## From a definition to `is-in`", 1)[1].split("\n## ", 1)[0]


def example_commands() -> list[list[str]]:
    block = EXAMPLE.split("```sh", 1)[1].split("```", 1)[0]
    return [shlex.split(line)[1:] for line in block.splitlines() if line.startswith("trackstore")]


def test_the_documented_files_are_the_example_files():
    shown = re.findall(r"```yaml\n(.*?)```", EXAMPLE, re.S)
    assert shown == [(ROOT / "examples" / "segments" / name).read_text()
                     for name in ("viewed-product.yaml", "viewed-shoes.yaml")]


def run(args: list[str], env: dict) -> dict:
    result = run_cli(*args, env=env)
    assert result.returncode == 0, f"trackstore {' '.join(args)}: {result.stderr}"
    return json.loads(result.stdout)


def test_the_example_works_as_printed(start_server):
    env = {"TRACKSTORE_TARGET": start_server("--segment-poll-seconds", "0.2").target}
    commands = example_commands()
    assert [c[:2] for c in commands] == [
        ["track", "--scope"], ["filters", "create"], ["filters", "preview"],
        ["segments", "create"], ["segments", "refresh"], ["segments", "evaluate"],
        ["segments", "is-in"], ["segments", "of"]]
    (tracked, created, preview, segment, refreshed, evaluated, is_in, of) = (
        run(args, env) for args in commands)
    assert len(tracked["track_ids"]) == 6
    assert created["parameters"] == {"product": "string", "window": "timespan"}
    assert preview["count"] == 2 and {i["DeviceId"] for i in preview["items"]} == {
        "visitor-1", "visitor-2"}
    assert segment["parameters"] == {"product": "shoes-42", "window": "604800s"}
    assert segment["refresh_interval"] == "3600s"
    assert refreshed["device_count"] == 2 and refreshed["generation"] > 0
    assert evaluated["device_ids"] == ["visitor-1", "visitor-2"]
    assert is_in == {"device_id": "visitor-1", "in_segment": {"viewed-shoes": True}}
    assert of == {"device_id": "visitor-2", "segments": ["viewed-shoes"]}


def test_a_segment_read_back_can_be_applied_again(start_server, tmp_path):
    env = {"TRACKSTORE_TARGET": start_server().target}
    example = ROOT / "examples" / "segments"
    run(["filters", "create", "--file", str(example / "viewed-product.yaml")], env)
    run(["segments", "create", "--file", str(example / "viewed-shoes.yaml")], env)
    shown = run(["segments", "get", "viewed-shoes"], env)
    saved = tmp_path / "saved.json"
    saved.write_text(json.dumps({**shown, "description": "changed"}))
    replaced = run(["segments", "replace", "--file", str(saved), "--etag", shown["etag"]], env)
    assert replaced["parameters"] == shown["parameters"] and replaced["etag"] != shown["etag"]
    stale = run_cli("segments", "replace", "--file", str(saved), "--etag", shown["etag"],
                    env=env)
    assert stale.returncode == 1 and stale.stderr.startswith("ABORTED: ")
    bad = run_cli("segments", "create", "--name", "x", "--filter-definition", "viewed-product",
                  "--param", "product=a", "--param", "window=soon", env=env)
    assert bad.returncode == 2 and "parameter window (timespan): 'soon' is not a timespan" in \
        bad.stderr
    listed = run(["filters", "list", "--all", "--page-size", "1"], env)
    assert [d["name"] for d in listed["filter_definitions"]] == ["viewed-product"]
