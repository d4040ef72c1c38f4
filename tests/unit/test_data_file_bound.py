"""Flushes that leave more small data files than the bound merge them at once, without waiting
for the light compaction's timer; merges never take a file of the small-file size or more."""
from __future__ import annotations

import os
import time

from trackstore.v1 import trackevents_pb2 as pb
from trackstore_server import engine as engine_module
from trackstore_server.config import Settings
from trackstore_server.engine import Engine
from trackstore_server.lake import LAKE, scalar


def _data_files(engine: Engine) -> int:
    return engine.on_lake_thread(engine_module.compaction.data_files)


def _file_sizes(engine: Engine) -> dict[str, int]:
    return dict(engine.on_lake_thread(lambda cursor: cursor.execute(
        "SELECT data_file, data_file_size_bytes FROM ducklake_list_files(?, 'events')",
        [LAKE]).fetchall()))


def test_many_flushes_merge_small_files_beyond_the_bound(tmp_path, monkeypatch):
    monkeypatch.setattr(engine_module, "MAX_SMALL_FILES", 6)
    monkeypatch.setattr(engine_module, "FLUSHES_BETWEEN_FILE_COUNTS", 4)
    engine = Engine(Settings(data_dir=str(tmp_path / "data"), commit_max_rows=5,
                             merge_interval_seconds=0, compaction_interval_seconds=0,
                             promote_keys=False))
    try:
        for call in range(40):  # each call fills a commit: a flush, and a data file, each
            engine.track("shop", [pb.TrackEvent(track_id=f"{call}-{i}", event_type="view")
                                  for i in range(5)])
            deadline = time.monotonic() + 10
            while engine._writer.flushes <= call and time.monotonic() < deadline:
                time.sleep(0.01)
        assert engine._writer.flushes >= 40
        assert _data_files(engine) <= 6 + 4
        assert engine.stats()["events"] == 200
    finally:
        engine.close()


def test_replaced_delete_files_leave_the_disk_between_compactions(tmp_path, monkeypatch):
    monkeypatch.setattr(engine_module, "FLUSHES_BETWEEN_FILE_COUNTS", 1)
    data_dir = tmp_path / "data"
    engine = Engine(Settings(data_dir=str(data_dir), commit_max_rows=5, preview_timeout_seconds=0,
                             merge_interval_seconds=0, compaction_interval_seconds=0,
                             promote_keys=False))
    try:
        engine.track("shop", [pb.TrackEvent(track_id=f"old-{i}", event_type="view")
                              for i in range(5)])  # fills a commit: flushed
        engine.on_lake_thread(lambda cursor: None)
        for i in range(4):  # each flush replaces the data file's delete file with a larger one
            engine.delete("shop", f"old-{i}")
            engine.on_lake_thread(lambda cursor: None, rewrites=False)  # applies the tombstone
        assert len(list(data_dir.rglob("*-delete.parquet"))) == 4
        time.sleep(engine_module.compaction.SNAPSHOT_MARGIN_SECONDS + 0.5)
        engine.track("shop", [pb.TrackEvent(track_id=f"new-{i}", event_type="view")
                              for i in range(5)])  # a flush, and its upkeep
        deadline = time.monotonic() + 10
        while len(list(data_dir.rglob("*-delete.parquet"))) > 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(list(data_dir.rglob("*-delete.parquet"))) == 1
        assert engine.stats()["pending_deletions"] == 4
    finally:
        engine.close()


def test_compaction_merges_small_files_one_slice_per_task(tmp_path, monkeypatch):
    """Each slice is one DuckLake merge per partition, up to the target file size: here a few
    files of the one partition, so twelve take several slices, each its own task."""
    monkeypatch.setattr(engine_module, "MAX_SMALL_FILES", 1000)
    engine = Engine(Settings(data_dir=str(tmp_path / "data"), commit_max_rows=5,
                             merge_interval_seconds=0, compaction_interval_seconds=0,
                             promote_keys=False))
    try:
        for call in range(12):
            engine.track("shop", [pb.TrackEvent(track_id=f"{call}-{i}", event_type="view")
                                  for i in range(5)])
            engine.on_lake_thread(lambda cursor: None)
        assert _data_files(engine) == 12
        largest = engine.on_lake_thread(lambda cursor: scalar(
            cursor, "SELECT max(data_file_size_bytes) FROM ducklake_list_files(?, 'events')",
            [LAKE]))
        engine.on_lake_thread(lambda cursor: cursor.execute(
            f"CALL {LAKE}.set_option('target_file_size', '{3 * largest} B')"))
        slices = []
        merge = engine_module.compaction.merge_some_files
        monkeypatch.setattr(engine_module.compaction, "merge_some_files",
                            lambda cursor: slices.append(merge(cursor)) or slices[-1])
        engine.light_compaction()
        assert len(slices) >= 4 and slices[-1] == 0
        # Files below the target are added while the sum is below it: four into one at most.
        assert all(1 <= fewer <= 3 for fewer in slices[:-1])
        assert _data_files(engine) == 12 - sum(slices) <= 6
        assert engine.stats()["events"] == 60
    finally:
        engine.close()


def test_merges_leave_files_of_the_small_file_size_or_more_alone(tmp_path, monkeypatch):
    """Merging a large file again with each new small one rewrote it after every flush."""
    monkeypatch.setattr(engine_module, "MAX_SMALL_FILES", 1000)
    engine = Engine(Settings(data_dir=str(tmp_path / "data"), commit_max_rows=5,
                             merge_interval_seconds=0, compaction_interval_seconds=0,
                             promote_keys=False))
    try:
        engine.track("shop", [pb.TrackEvent(track_id=f"large-{i}", event_type="view",
                                            page_title=os.urandom(20_000).hex())
                              for i in range(5)])
        engine.on_lake_thread(lambda cursor: None)
        (large, large_size), = _file_sizes(engine).items()
        for call in range(6):
            engine.track("shop", [pb.TrackEvent(track_id=f"{call}-{i}", event_type="view")
                                  for i in range(5)])
            engine.on_lake_thread(lambda cursor: None)
        small = [size for path, size in _file_sizes(engine).items() if path != large]
        assert len(small) == 6 and 6 * max(small) < large_size
        monkeypatch.setattr(engine_module.compaction, "SMALL_FILE_BYTES", large_size)
        assert engine.on_lake_thread(engine_module.compaction.small_data_files) == 6
        engine.light_compaction()
        after = _file_sizes(engine)
        # The six small files became one; the large one was not rewritten.
        assert len(after) == 2 and after[large] == large_size
        assert engine.stats()["events"] == 35
    finally:
        engine.close()
