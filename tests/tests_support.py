"""Runs the `trackstore` command as a user would."""
from __future__ import annotations

import os
import subprocess
import sys


def run_cli(*args: str, input: str | None = None, timeout: float = 120, env: dict | None = None):
    return subprocess.run(
        [sys.executable, "-m", "trackstore_client.cli", *args],
        input=input, capture_output=True, text=True, timeout=timeout,
        env={**os.environ, **(env or {})},
    )
