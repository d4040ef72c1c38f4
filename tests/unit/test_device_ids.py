"""The DeviceIds of each scope (server/device_ids.py): noted before events can be read, read
from the lake at start, and a test for a device the scope never held answered without reading
the lake."""
from __future__ import annotations

import pyarrow as pa

from trackstore.v1 import trackevents_pb2 as pb
from trackstore_server.config import Settings
from trackstore_server.device_ids import DeviceIds
from trackstore_server.engine import Engine


def ready(devices: DeviceIds) -> DeviceIds:
    devices.index.replace({})  # as the build from an empty lake leaves it
    return devices


def test_nothing_is_ruled_out_before_the_stored_devices_were_read():
    devices = DeviceIds()
    devices.note("shop", pa.table({"DeviceId": ["d1"]}))
    assert devices.of_scope("shop") is None
    assert "d2" not in ready(devices).of_scope("shop")


def test_noted_devices_are_found_per_scope_and_others_ruled_out():
    devices = ready(DeviceIds())
    devices.note("shop", pa.table({"DeviceId": ["d1", "d2", None, "d1"]}))
    devices.note("blog", pa.table({"DeviceId": ["b1"]}))
    shop = devices.of_scope("shop")
    assert "d1" in shop and "d2" in shop and not shop.ruled_out
    assert "b1" not in shop and shop.ruled_out
    assert "" in devices.of_scope("blog")  # a missing DeviceId reads as '': never ruled out


def test_the_generation_grows_only_with_a_device_not_noted_before():
    devices = ready(DeviceIds())
    devices.note("shop", pa.table({"DeviceId": ["d1", "d2"]}))
    generation = devices.generation
    devices.note("shop", pa.table({"DeviceId": ["d2", "d1"]}))
    assert devices.generation == generation
    devices.note("other", pa.table({"DeviceId": ["d1"]}))  # new to that scope
    assert devices.generation == generation + 1


def test_an_answer_depends_on_the_generation_only_when_a_device_was_ruled_out():
    devices = ready(DeviceIds())
    devices.note("shop", pa.table({"DeviceId": ["d1"]}))
    found, missed = devices.of_scope("shop"), devices.of_scope("shop")
    assert "d1" in found and "d9" not in missed
    devices.note("shop", pa.table({"DeviceId": ["d9"]}))
    assert found.unchanged()  # no test relied on a device being missing
    assert not missed.unchanged()
    assert "d9" in devices.of_scope("shop")


def track(engine: Engine, devices: list[str], event_type: str = "view") -> None:
    engine.track("shop", [pb.TrackEvent(device_id=d, event_type=event_type) for d in devices])


def count(engine: Engine, where: str) -> int:
    _, rows, _ = engine.preview("shop", f"Events | where {where} | count")
    return rows.items()[0]["Count"]


def reads_lake(statements: list[str]) -> bool:
    return any("lake.main.events" in sql for sql in statements)


def test_a_device_never_seen_is_answered_without_reading_the_lake(engine, statements):
    engine._writer.stored_ids.wait_ready()
    track(engine, ["d1", "d2", "d2"])
    engine.compact()
    for where, expected, lake in [("DeviceId == 'd9'", 0, False),
                                  ("DeviceId in ('d8', 'd9')", 0, False),
                                  ("DeviceId == 'd2'", 2, True),
                                  ("DeviceId in ('d1', 'd9')", 1, True),
                                  ("DeviceId == 'd9' or EventType == 'view'", 3, True)]:
        statements.clear()
        assert count(engine, where) == expected, where
        assert reads_lake(statements) == lake, where
    track(engine, ["d9"])  # acknowledged, not flushed: found at once
    assert count(engine, "DeviceId == 'd9'") == 1


def test_stored_devices_are_read_from_the_lake_at_start(tmp_path):
    settings = Settings(data_dir=str(tmp_path / "data"), flush_seconds=600,
                        merge_interval_seconds=0, compaction_interval_seconds=0)
    engine = Engine(settings)
    track(engine, [f"d{i}" for i in range(50)])
    engine.close()
    engine = Engine(settings)
    try:
        engine._writer.stored_ids.wait_ready()
        assert engine._writer.device_ids.of_scope("shop") is not None
        assert count(engine, "DeviceId == 'd49'") == 1
        assert count(engine, "DeviceId == 'd50'") == 0
        assert "d50" not in engine._writer.device_ids.of_scope("shop")
        assert "d7" in engine._writer.device_ids.of_scope("shop")
    finally:
        engine.close()


def test_one_event_batches_noted_again_cost_no_probe_and_lose_nothing(monkeypatch):
    from trackstore_server import device_ids
    from trackstore_server.event_schema import COLUMN_NAMES

    monkeypatch.setattr(device_ids, "LATELY_MAX", 4)
    devices = ready(DeviceIds())

    def one_event(device):
        columns = [[None] for _ in COLUMN_NAMES]
        columns[COLUMN_NAMES.index("DeviceId")] = [device]
        return columns

    for i in range(10):
        devices.note("shop", one_event(f"d{i}"))
    probes = []
    monkeypatch.setattr(devices.index, "probe",
                        lambda *a, probe=devices.index.probe: probes.append(a) or probe(*a))
    devices.note("shop", one_event("d9"))  # noted lately: no probe
    assert probes == []
    shop = devices.of_scope("shop")
    assert all(f"d{i}" in shop for i in range(10)) and "d10" not in shop


def test_an_answer_from_the_values_alone_is_not_checked_again(engine, statements, monkeypatch):
    """It holds as of when the values were taken, whatever arrived since: no second read."""
    engine._writer.stored_ids.wait_ready()
    track(engine, ["d1"])
    monkeypatch.setattr(engine._values, "unchanged", lambda scope, token: False)
    statements.clear()
    assert count(engine, "DeviceId == 'd9'") == 0
    assert len(statements) == 1 and not reads_lake(statements)
    statements.clear()  # one that read rows is read again without the values
    assert count(engine, "DeviceId == 'd9' or EventType == 'view'") == 1
    assert len(statements) == 2 and reads_lake(statements)


def test_replayed_events_have_their_devices_noted(replaying):
    """One record of two scopes, one of a single scope's columns."""
    from trackstore_server.event_batch import build_batch

    def batch(scope, *devices):
        return build_batch(scope, [pb.TrackEvent(device_id=d, event_type="view") for d in devices])

    writer = replaying(pa.concat_tables([batch("shop", "d1").table, batch("blog", "b1").table]),
                       batch("shop", "d2").data)
    writer.stored_ids.wait_ready()
    shop, blog = writer.device_ids.of_scope("shop"), writer.device_ids.of_scope("blog")
    assert "d1" in shop and "d2" in shop and "b1" not in shop
    assert "b1" in blog and "d1" not in blog
