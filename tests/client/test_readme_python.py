"""The README's Python examples run as printed (the address swapped for a test server's)."""
from __future__ import annotations

import contextlib
import io
import pathlib
import re
import textwrap

import trackstore

ROOT = pathlib.Path(__file__).resolve().parents[2]


def python_blocks() -> list[str]:
    section = re.split(r"\n##+ ", (ROOT / "README.md").read_text().split("### Python\n", 1)[1])[0]
    return [textwrap.dedent(block.split("```", 1)[0])
            for block in section.split("```python\n")[1:]]


def test_the_five_line_example_and_the_tracker_example(start_server):
    server = start_server()
    example, tracker_example = python_blocks()
    assert len([line for line in example.splitlines() if line.strip()]) == 5
    printed = io.StringIO()
    namespace: dict = {}
    with contextlib.redirect_stdout(printed):
        exec(example.replace("localhost:50051", server.target), namespace)
    assert "EventType: string" in printed.getvalue() and "n: int64" in printed.getvalue()
    assert "pageview" in printed.getvalue()
    exec(tracker_example, namespace)
    namespace["tracker"].close()
    with trackstore.Client(server.target) as client:
        assert client.preview("Events | count")[0]["Count"] == 2
