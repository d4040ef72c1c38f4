"""server/segments/membership.py and server/wire/membership.c: the hash a lookup computes is the
one DuckDB computed when the generation was loaded, a lookup finds exactly the devices held, and
the index keeps the newest generation of each segment."""
from __future__ import annotations

import hashlib
import struct

import duckdb
import numpy as np
import pytest

from trackstore_server._wire import FENCE_STRIDE, device_digest, held
from trackstore_server.errors import NotFound
from trackstore_server.segments import membership
from trackstore_server.segments.membership import Members, MembershipIndex
from trackstore_server.segments.tables import MEMBERS_TABLE

DEVICES = ["", "a", "device-1", "0b7e8a52-0f3c-4d5e-9a1b-2c3d4e5f6a7b", "é ünïcödé 设备",
           "x" * 1000, "with\nnewline", "'quoted'", "\x00nul", "😀" * 30]


def words(device: str) -> tuple[int, int]:
    """(upper, lower): the digest as a little-endian 128-bit number, split."""
    lower, upper = struct.unpack("<QQ", device_digest(device))
    return upper, lower


@pytest.mark.parametrize("length", [0, 1, 54, 55, 56, 57, 63, 64, 65, 119, 120, 128, 1000])
def test_the_c_digest_is_md5_at_every_padding_boundary(length):
    for device in ("d" * length, "é" * length):
        assert device_digest(device) == hashlib.md5(device.encode()).digest(), len(device)


def test_the_c_hash_is_duckdbs():
    conn = duckdb.connect()
    for device in DEVICES:
        upper, lower = conn.execute(
            "SELECT (h >> 64)::UBIGINT, (h & 18446744073709551615::UHUGEINT)::UBIGINT "
            "FROM (SELECT md5_number(?) AS h)", [device]).fetchall()[0]
        assert words(device) == (upper, lower), device


def members(devices, generation=1) -> Members:
    hashes = sorted(words(d) for d in devices)
    return Members(generation, np.array(hashes, dtype=np.uint64).reshape(-1, 2))


def test_a_lookup_finds_exactly_the_devices_held():
    inside = members([f"in-{i}" for i in range(1000)])
    assert all(held(f"in-{i}", [inside]) == [True] for i in range(1000))
    assert not any(held(f"out-{i}", [inside])[0] for i in range(1000))
    assert held("in-1", [inside, Members(0), members(["in-1"])]) == [True, False, True]
    assert held("in-1", []) == []
    assert inside.nbytes == 16 * 1000 + 8 * 4  # and a fence of 4 (1000 / 256 rounded up)


def test_hashes_sharing_their_upper_half_are_told_apart_by_the_lower():
    upper, lower = words("device-1")
    neighbours = Members.of(1, np.array([1, upper, upper, upper, 2**64 - 1], dtype=np.uint64),
                            np.array([9, lower - 1, lower, lower + 1, 0], dtype=np.uint64))
    assert held("device-1", [neighbours]) == [True]
    without = Members.of(1, np.array([1, upper, upper, 2**64 - 1], dtype=np.uint64),
                         np.array([9, lower - 1, lower + 1, 0], dtype=np.uint64))
    assert held("device-1", [without]) == [False]


def placed(device: str, at: int, size: int, run: tuple[int, int] | None = None) -> Members:
    """`size` pairs with the device's at index `at`; the others' uppers below it before `at`
    and above it after, except those of `run` (a range of indices around `at`), which share its
    upper and differ in the lower."""
    upper, lower = words(device)
    uppers = [upper - (at - i) if i < at else upper + (i - at) for i in range(size)]
    lowers = [7] * size
    if run is not None:
        for i in range(*run):
            uppers[i], lowers[i] = upper, lower - (at - i)
    lowers[at] = lower
    return Members.of(1, np.array(uppers, dtype=np.uint64), np.array(lowers, dtype=np.uint64))


@pytest.mark.parametrize("at", [0, 1, FENCE_STRIDE - 1, FENCE_STRIDE, FENCE_STRIDE + 1,
                                3 * FENCE_STRIDE, 5 * FENCE_STRIDE + 16])
def test_the_fenced_search_finds_a_pair_at_every_edge_of_a_block(at):
    size = 5 * FENCE_STRIDE + 17
    assert held("device-1", [placed("device-1", at, size)]) == [True]
    assert held("device-2", [placed("device-1", at, size)]) == [False]


@pytest.mark.parametrize("run", [(FENCE_STRIDE - 3, FENCE_STRIDE + 3),
                                 (FENCE_STRIDE - 40, 3 * FENCE_STRIDE + 2), (0, 2 * FENCE_STRIDE)])
def test_the_fenced_search_follows_a_run_of_equal_uppers_across_blocks(run):
    size = 4 * FENCE_STRIDE
    for at in (run[0], run[1] - 1, (run[0] + run[1]) // 2):
        assert held("device-1", [placed("device-1", at, size, run)]) == [True], (run, at)


def test_held_refuses_what_is_not_rows_of_two_uint64_with_their_fence():
    class Odd:
        pairs = np.zeros(3, dtype=np.uint64)  # a row and a half
        fence = np.zeros(1, dtype=np.uint64)

    with pytest.raises(ValueError, match="rows of two uint64"):
        held("d", [Odd()])

    class FenceMissingABlock:
        pairs = np.zeros((2 * FENCE_STRIDE + 1, 2), dtype=np.uint64)
        fence = np.zeros(2, dtype=np.uint64)

    with pytest.raises(ValueError, match="fence"):
        held("d", [FenceMissingABlock()])
    with pytest.raises(AttributeError):
        held("d", [object()])
    with pytest.raises(TypeError):
        held(b"d", [])


def test_the_index_keeps_the_newest_generation_and_names_unknown_segments():
    index = MembershipIndex()
    index.put("shop", "b", members(["d1"], generation=5))
    index.put("shop", "b", members(["d2"], generation=4))  # a late load of an older one
    index.put("shop", "a", members(["d1", "d2"], generation=1))
    index.put("other", "a", members(["d3"], generation=1))
    assert index.is_in("shop", "d1", ["a", "b"]) == [True, True]
    assert index.is_in("shop", "d2", ["b", "a"]) == [False, True]
    assert index.segments_of("shop", "d1") == ["a", "b"]
    assert index.segments_of("shop", "d2") == ["a"]
    assert index.segments_of("shop", "d3") == []
    assert index.segments_of("nowhere", "d3") == []
    assert index.resident() == (4, 64 + 3 * 8)  # each of the 3 generations a fence of one
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
    assert loaded.generation == 7 and loaded.count == 50
    assert np.all(loaded.pairs[:-1, 0] <= loaded.pairs[1:, 0])
    assert loaded.fence.tolist() == [loaded.pairs[0, 0]]
    assert all(held(f"d{i}", [loaded]) == [True] for i in range(50))
    assert held("old", [loaded]) == [False]


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
