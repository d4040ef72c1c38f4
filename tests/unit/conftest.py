"""Fixtures of the unit tests; a module may define its own `lake` or `engine`."""
from __future__ import annotations

import pytest

from trackstore_server.config import Settings
from trackstore_server.engine import Engine
from trackstore_server.store import open_store
from trackstore_server.wal import WriteAheadLog
from trackstore_server.writer import Writer


@pytest.fixture
def lake(tmp_path):
    """An empty store in tmp_path: the lake's root connection."""
    conn = open_store(Settings(data_dir=str(tmp_path / "data")))
    yield conn
    conn.close()


@pytest.fixture
def engine(tmp_path):
    """An engine on a store in tmp_path that flushes, merges and compacts only when asked."""
    engine = Engine(Settings(data_dir=str(tmp_path / "data"), flush_seconds=600,
                             merge_interval_seconds=0, compaction_interval_seconds=0))
    yield engine
    engine.close()


@pytest.fixture
def statements(engine, monkeypatch):
    """The SQL of every query the engine's reads run."""
    queries, ran = engine._reads._queries, []
    run = queries.run

    def recording(sql, *args, **kwargs):
        ran.append(sql)
        return run(sql, *args, **kwargs)

    monkeypatch.setattr(queries, "run", recording)
    return ran


@pytest.fixture
def replaying(lake, tmp_path):
    """Starts a writer on a log of the given records (sequence 1, 2, ...) that the lake has not
    seen: as after a kill between acknowledgement and flush."""
    writers = []

    def start(*records) -> Writer:
        log = WriteAheadLog(tmp_path / "wal")
        for seq, data in enumerate(records, start=1):
            log.append(seq, data)
        log.sync()
        log.close()
        writers.append(Writer(lake, WriteAheadLog(tmp_path / "wal"), "test-server",
                              commit_max_rows=100, inline_row_limit=0, flush_seconds=60.0))
        return writers[-1]

    yield start
    for writer in writers:
        writer.close()
