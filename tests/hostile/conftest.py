"""Fixtures of the hostile-input, limits, tenants and load tests (issue 20): real servers with
their gRPC and HTTP ports. The HTTP client is the HTTP tests' own (tests/http/http_support.py)."""
from __future__ import annotations

import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "http"))

from http_support import start_http_server  # noqa: E402


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """One open server (gRPC and HTTP) for a module; each test uses scopes of its own."""
    running = start_http_server(tmp_path_factory.mktemp("hostile") / "data")
    yield running
    running.server.stop()
