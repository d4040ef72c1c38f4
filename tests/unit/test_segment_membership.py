"""server/segments/membership.py: the hash a lookup computes is the one DuckDB computed when the
generation was loaded, a lookup finds exactly the devices held, and the index keeps the newest
generation of each segment."""
from __future__ import annotations

import duckdb
import numpy as np
import pytest

from trackstore_server.errors import NotFound
from trackstore_server.segments import membership
from trackstore_server.segments.membership import Members, MembershipIndex, device_hash
from trackstore_server.segments.tables import MEMBERS_TABLE

DEVICES = ["", "a", "device-1", "0b7e8a52-0f3c-4d5e-9a1b-2c3d4e5f6a7b", "é ünïcödé 设备",
           "x" * 1000, "with\nnewline", "'quoted'"]


def test_the_python_hash_is_duckdbs():
    conn = duckdb.connect()
    for device in DEVICES:
        upper, lower = conn.execute(
            "SELECT (h >> 64)::UBIGINT, (h & 18446744073709551615::UHUGEINT)::UBIGINT "
            "FROM (SELECT md5_number(?) AS h)", [device]).fetchall()[0]
        assert device_hash(device) == (upper, lower), device


def members(devices, generation=1) -> Members:
    hashes = sorted(tuple(int(h) for h in device_hash(d)) for d in devices)
    return Members(generation, np.array([h[0] for h in hashes], dtype=np.uint64),
                   np.array([h[1] for h in hashes], dtype=np.uint64))


def test_a_lookup_finds_exactly_the_devices_held():
    held = members([f"in-{i}" for i in range(1000)])
    assert all(held.holds(*device_hash(f"in-{i}")) for i in range(1000))
    assert not any(held.holds(*device_hash(f"out-{i}")) for i in range(1000))
    assert held.nbytes == 16 * 1000


def test_hashes_sharing_their_upper_half_are_told_apart_by_the_lower():
    upper = np.uint64(2**63 + 5)
    held = Members(1, np.array([1, upper, upper, upper, 2**64 - 1], dtype=np.uint64),
                   np.array([9, 3, 7, 8, 0], dtype=np.uint64))
    assert held.holds(upper, np.uint64(7)) and held.holds(upper, np.uint64(8))
    assert not held.holds(upper, np.uint64(5)) and not held.holds(np.uint64(2**64 - 1),
                                                                  np.uint64(1))
    assert not Members(0).holds(upper, np.uint64(7))


def test_the_index_keeps_the_newest_generation_and_names_unknown_segments():
    index = MembershipIndex()
    index.put("shop", "b", members(["d1"], generation=5))
    index.put("shop", "b", members(["d2"], generation=4))  # a late load of an older one
    index.put("shop", "a", members(["d1", "d2"], generation=1))
    index.put("other", "a", members(["d3"], generation=1))
    assert index.is_in("shop", "d1", ["a", "b"]) == [True, True]
    assert index.is_in("shop", "d2", ["b"]) == [False]
    assert index.segments_of("shop", "d1") == ["a", "b"]
    assert index.segments_of("shop", "d3") == []
    assert index.resident() == (4, 64)
    index.drop("shop", "a")
    with pytest.raises(NotFound, match="no segment 'a' in scope 'shop'"):
        index.is_in("shop", "d1", ["b", "a"])
    assert index.generations() == {("shop", "b"): 5, ("other", "a"): 1}


def test_a_generation_loads_from_the_lake_sorted(lake):
    cursor = lake.cursor()
    rows = [("shop", "s", 7, f"d{i}") for i in range(50)] + [("shop", "s", 6, "old"),
                                                              ("shop", "t", 7, "d1")]
    cursor.executemany(f"INSERT INTO {MEMBERS_TABLE} VALUES (?, ?, ?, ?)", rows)
    loaded = membership.load(cursor, "shop", "s", 7)
    assert loaded.generation == 7 and len(loaded.upper) == 50
    assert np.all(loaded.upper[:-1] <= loaded.upper[1:])
    assert all(loaded.holds(*device_hash(f"d{i}")) for i in range(50))
    assert not loaded.holds(*device_hash("old"))


def test_a_segment_dropped_after_a_reader_took_its_mark_is_not_put_back():
    index = MembershipIndex()
    stale = index.mark()  # a poll or a refresh reads the catalog, the segment is deleted
    index.put("shop", "s", members(["d1"], generation=1))
    index.drop("shop", "s")
    index.put("shop", "s", members(["d1"], generation=2), since=stale)
    assert index.generations() == {}
    index.put("shop", "s", Members(0))  # created again here
    later = index.mark()
    index.put("shop", "s", members(["d1"], generation=3), since=later)
    assert index.is_in("shop", "d1", ["s"]) == [True]
