"""Shared fixtures: a real trackstore server process on a free loopback port."""
from __future__ import annotations

import os
import pathlib

import pytest
from hypothesis import settings

from trackstore_client.local import LocalServer

# The suite's property tests draw the same examples on every run, so a CI failure is one anyone
# reproduces; `HYPOTHESIS_PROFILE=explore make test` draws new ones each run, to search.
settings.register_profile("repeatable", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))


@pytest.fixture
def start_server(tmp_path):
    started: list[LocalServer] = []

    def start(*extra: str, data_dir: pathlib.Path | None = None, env: dict | None = None):
        server = LocalServer(data_dir or tmp_path / "data", *extra, env=env).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory):
    """One server for a module's read-mostly tests; each test uses its own scope."""
    server = LocalServer(tmp_path_factory.mktemp("shared") / "data").start()
    yield server
    server.stop()
