"""Shared fixtures: a real trackstore server process on a free loopback port."""
from __future__ import annotations

import os
import pathlib
import re
import signal
import subprocess
import sys
import time

import grpc
import pytest

from trackstore_client import Client

ROOT = pathlib.Path(__file__).resolve().parents[1]
LISTENING = re.compile(r"trackstore listening on [^:]+:(\d+)")


class ServerProcess:
    """`trackstore serve` in a child process, as users run it."""

    def __init__(self, data_dir: pathlib.Path, *extra: str, env: dict | None = None):
        self.data_dir = data_dir
        self.extra = extra
        self.env = env or {}
        self.process: subprocess.Popen | None = None
        self.port: int | None = None
        self.log_path = data_dir.parent / f"{data_dir.name}-server.log"

    def start(self, timeout: float = 60.0) -> "ServerProcess":
        command = [
            sys.executable, "-m", "trackstore_client.cli", "serve",
            # No drain pause when tests stop servers (a test that needs it passes its own).
            "--data-dir", str(self.data_dir), "--port", "0", "--drain-seconds", "0", *self.extra,
        ]
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=log, cwd=ROOT,
            env={**os.environ, **self.env},
        )
        deadline = time.monotonic() + timeout
        line = b""
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


@pytest.fixture
def start_server(tmp_path):
    started: list[ServerProcess] = []

    def start(*extra: str, data_dir: pathlib.Path | None = None, env: dict | None = None):
        server = ServerProcess(data_dir or tmp_path / "data", *extra, env=env).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory):
    """One server for a module's read-mostly tests; each test uses its own scope."""
    server = ServerProcess(tmp_path_factory.mktemp("shared") / "data").start()
    yield server
    server.stop()
