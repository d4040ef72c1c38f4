"""Fixtures of the unit tests; a module may define its own `lake` with rows in it."""
from __future__ import annotations

import pytest

from trackstore_server.config import Settings
from trackstore_server.store import open_store


@pytest.fixture
def lake(tmp_path):
    """An empty store in tmp_path: the lake's root connection."""
    conn = open_store(Settings(data_dir=str(tmp_path / "data")))
    yield conn
    conn.close()
