"""Fixtures of the HTTP tests: one server per module, open or with API keys."""
from __future__ import annotations

import pytest

from http_support import KEYS, start_http_server


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """One server for a module; each test uses a scope of its own."""
    running = start_http_server(tmp_path_factory.mktemp("http") / "data",
                                "--preview-max-rows", "50")
    yield running
    running.server.stop()


@pytest.fixture(scope="module")
def keyed(tmp_path_factory):
    root = tmp_path_factory.mktemp("http-keyed")
    (root / "keys.toml").write_text(KEYS)
    running = start_http_server(root / "data", "--api-keys-file", str(root / "keys.toml"))
    yield running
    running.server.stop()
