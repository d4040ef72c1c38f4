"""Engine.lake_cursor, the cursor the segments and exports services work on."""
from __future__ import annotations

import duckdb
import pytest

from trackstore_server.config import Settings
from trackstore_server.engine import Engine
from trackstore_server.errors import DiskFull, StorageFailed


def test_a_fatal_error_on_a_services_cursor_is_reported_as_a_storage_failure(tmp_path):
    """The segments and exports work on cursors of their own (Engine.lake_cursor): DuckDB's
    fatal error there ends the server as one in the engine's own methods does."""
    reported = []
    engine = Engine(Settings(data_dir=str(tmp_path / "data"), merge_interval_seconds=0,
                             compaction_interval_seconds=0), reported.append)
    try:
        with pytest.raises(StorageFailed):
            with engine.lake_cursor() as cursor:
                cursor.execute("SELECT 1")
                raise duckdb.FatalException("database has been invalidated")
        assert [str(error) for error in reported] == ["database has been invalidated"]
        with engine.lake_cursor() as cursor:  # other errors pass through as they are
            with pytest.raises(duckdb.CatalogException):
                cursor.execute("SELECT * FROM no_such_table")
        assert len(reported) == 1
    finally:
        engine.close()


def test_a_full_disk_on_a_services_cursor_is_the_disk_full_error(tmp_path):
    """A segment or export write that runs out of disk answers as a Track call does: the disk
    is full, nothing changed, retry once space is freed (not an internal error)."""
    reported = []
    engine = Engine(Settings(data_dir=str(tmp_path / "data"), merge_interval_seconds=0,
                             compaction_interval_seconds=0), reported.append)
    try:
        with pytest.raises(DiskFull, match="disk is full.*the call changed nothing"):
            with engine.lake_cursor():
                raise duckdb.IOException("Could not write file: No space left on device")
        with pytest.raises(duckdb.IOException, match="Permission denied"):
            with engine.lake_cursor():  # another I/O error passes through as it is
                raise duckdb.IOException("Cannot open file: Permission denied")
        assert reported == []
    finally:
        engine.close()
