"""py-spy on the server during a phase (`--profile DIR`), and where its busy samples went."""
from __future__ import annotations

import collections
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import time

# Leaf frames of threads that wait; a sample there is an idle thread, not work.
_IDLE_FILES = ("(threading.py", "(queue.py", "(selectors.py", "(concurrent/futures")
# Frames every stack has; listed as inclusive time they would crowd out the informative ones.
_ROOT_FRAMES = ("<module>", "_bootstrap", "run (", "worker (")


class Profiler:
    """py-spy on the server for one phase; does nothing without a directory or py-spy."""

    def __init__(self, directory: pathlib.Path | None, pid: int, name: str):
        self.directory = directory
        self.pid = pid
        self.name = name
        self.process = None
        self.path = None

    def __enter__(self):
        spy = shutil.which("py-spy") or str(pathlib.Path(sys.executable).parent / "py-spy")
        if self.directory is None or not os.path.exists(spy):
            return self
        self.directory.mkdir(parents=True, exist_ok=True)
        self.path = self.directory / f"{self.name}.txt"
        self.process = subprocess.Popen(
            [spy, "record", "--pid", str(self.pid), "--format", "raw", "--output", str(self.path),
             "--rate", "250", "--nonblocking"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.0)  # let py-spy attach
        return self

    def __exit__(self, *exc):
        if self.process is not None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()


def summarize_profile(path: pathlib.Path, top: int = 12) -> dict:
    """Collapsed stacks -> busy samples by leaf function (self) and by function on the stack
    (inclusive), idle threads (waits) left out."""
    self_time = collections.Counter()
    inclusive = collections.Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = stack.split(";")
        if any(idle in frames[-1] for idle in _IDLE_FILES):
            continue
        n = int(count)
        total += n
        self_time[_frame_name(frames[-1])] += n
        for name in {_frame_name(f) for f in frames}:
            inclusive[name] += n
    if not total:
        return {"busy_samples": 0, "self": [], "inclusive": []}
    busiest = [(name, n) for name, n in inclusive.most_common(top + 8)
               if not name.startswith(_ROOT_FRAMES)][:top]
    return {
        "busy_samples": total,
        "self": [(name, round(100 * n / total, 1)) for name, n in self_time.most_common(top)],
        "inclusive": [(name, round(100 * n / total, 1)) for name, n in busiest],
    }


def _frame_name(frame: str) -> str:
    # py-spy raw frames look like "function (path/to/file.py:123)"; drop the line number.
    match = re.match(r"^(.*?) \((.*?)(?::\d+)?\)$", frame.strip())
    if not match:
        return frame.strip()
    function, path = match.groups()
    short = "/".join(pathlib.Path(path).parts[-2:])
    return f"{function} ({short})"


def summarize_profiles(directory: pathlib.Path, ingest_rows: list[dict]) -> dict:
    """Every profile of the run by phase; an ingest profile `ingest-K` is named after the K-th
    ingest figure."""
    summaries = {}
    for path in sorted(directory.glob("*.txt")):
        name = path.stem
        if name.startswith("ingest-"):
            index = int(name.split("-")[1])
            if index < len(ingest_rows):
                name = ingest_rows[index]["name"]
        try:
            summaries[name] = summarize_profile(path)
        except Exception as error:  # noqa: BLE001 - one unreadable profile spoils no other
            summaries[name] = {"error": f"{type(error).__name__}: {error}"}
    return summaries
