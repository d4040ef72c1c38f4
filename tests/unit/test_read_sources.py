"""The SQL a read takes instead of the table (plan.sources): the table's columns in order, and
a count through its UNION ALLs reads promoted.SCAN_FIRST rather than TrackId."""
from __future__ import annotations

import json

from trackstore.v1 import trackevents_pb2 as pb
from trackstore_server import promoted
from trackstore_server.config import Settings
from trackstore_server.engine import Engine
from trackstore_server.reads.plan import sources


def _events(prefix: str, payload: dict) -> list[pb.TrackEvent]:
    return [pb.TrackEvent(track_id=f"{prefix}-{i}", event_type="view", device_id=f"d{i}",
                          payload_json=json.dumps(payload)) for i in range(5)]


def _scanned_columns(plan: list | dict) -> set[str]:
    """The columns the table scans of a plan (`EXPLAIN (FORMAT json)`) project."""
    if isinstance(plan, list):
        return set().union(*(_scanned_columns(node) for node in plan))
    projected = plan.get("extra_info", {}).get("Projections", [])
    return ({projected} if isinstance(projected, str) else set(projected)) | \
        _scanned_columns(plan.get("children", []))


def test_a_count_through_the_read_sources_reads_the_scan_first_column(tmp_path):
    # Each call fills a commit (a flush): the second flush shreds a key of a new generation,
    # so the lake's SELECT is a UNION ALL of two generation ranges.
    engine = Engine(Settings(data_dir=str(tmp_path / "data"), commit_max_rows=5,
                             shred_min_events=5, merge_interval_seconds=0,
                             compaction_interval_seconds=0))
    engine._writer._shredder.interval_seconds = 0.0  # a flush may shred right after another
    try:
        engine.track("shop", _events("a", {"price": 1.5}))
        engine.on_lake_thread(lambda cursor: None)
        engine.track("shop", _events("b", {"label": "x"}))
        engine.on_lake_thread(lambda cursor: None)
        keys = engine.on_lake_thread(promoted.load)
        assert len({key.generation for key in keys}) == 2
        columns = promoted.column_names(keys)
        lake, both = sources(promoted.lake_select(keys, "\"Scope\" = 'shop'"),
                             promoted.lake_select(keys, "FALSE"), columns)
        for source in (lake, both):
            def explain(cursor, source=source):
                return (cursor.execute(f"SELECT count(*) FROM {source}").fetchone()[0],
                        json.loads(cursor.execute("EXPLAIN (FORMAT json) SELECT count(*) FROM "
                                                  f"{source}").fetchall()[0][1]),
                        [d[0] for d in cursor.execute(f"SELECT * FROM {source} LIMIT 0").description])
            count, plan, names = engine.on_lake_thread(explain)
            assert count == 10 and names == columns
            scanned = _scanned_columns(plan)
            assert promoted.SCAN_FIRST in scanned and "TrackId" not in scanned
    finally:
        engine.close()

