"""Runs `trackstore serve` in a child process on a free loopback port, as users run it.

For tests, benchmarks and notebooks:

    with LocalServer(pathlib.Path("data"), "--flush-seconds", "0.5") as server:
        with server.client() as client:
            client.track("default", [{"EventType": "pageview"}])
"""
from __future__ import annotations

import os
import pathlib
import re
import signal
import subprocess
import sys
import time

import grpc

from .client import Client

LISTENING = re.compile(r"trackstore listening on [^:]+:(\d+)")


class LocalServer:
    """`trackstore serve --data-dir DATA_DIR --port 0 EXTRA...`; its log goes beside DATA_DIR."""

    def __init__(self, data_dir: pathlib.Path, *extra: str, env: dict | None = None):
        self.data_dir = data_dir
        self.extra = extra
        self.env = env or {}
        self.process: subprocess.Popen | None = None
        self.port: int | None = None
        self.log_path = data_dir.parent / f"{data_dir.name}-server.log"

    def start(self, timeout: float = 60.0) -> "LocalServer":
        command = [
            sys.executable, "-m", "trackstore_client.cli", "serve",
            # Stopping a local server needs no drain pause, and many run at once: no HTTP port
            # unless EXTRA sets one (--http-port).
            "--data-dir", str(self.data_dir), "--port", "0", "--drain-seconds", "0",
            "--http-port", "0", *self.extra,
        ]
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                command, stdout=subprocess.PIPE, stderr=log, env={**os.environ, **self.env},
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line and self.process.poll() is not None:
                break
            match = LISTENING.search(line.decode(errors="replace"))
            if match:
                self.port = int(match.group(1))
                return self
        raise RuntimeError(f"server did not start: {self.log_path.read_text()[-3000:]}")

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def client(self, **kwargs) -> Client:
        return Client(self.target, **kwargs)

    def channel(self) -> grpc.Channel:
        return grpc.insecure_channel(self.target)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else 0
        self.process.send_signal(sig)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def __enter__(self) -> "LocalServer":
        return self.start() if self.process is None else self

    def __exit__(self, *exc) -> None:
        self.stop()
