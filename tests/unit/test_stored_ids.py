"""The stored-TrackId index (server/stored_ids.py): XXH64 as its reference gives it, no false
negative ever, a probe that holds exactly the hashes added, and a duplicate check equal to the
plain one on random batches with repeats."""
from __future__ import annotations

import random
import tracemalloc
import uuid

import numpy as np
import pyarrow as pa
import pytest

from trackstore_server import _wire, stored_ids
from trackstore_server.stored_ids import StoredIds, hashes_of, new_positions


def test_hashes_are_xxh64_of_the_utf8():
    # Reference values of XXH64 with seed 0 (xxhash's own test vectors).
    expected = [0xEF46DB3751D8E999, 0xD24EC4F1A98C6E5B, 0x44BC2CF5AD770999,
                0xFBCEA83C8A378BF1]
    texts = ["", "a", "abc", "Nobody inspects the spammish repetition"]
    assert hashes_of(texts).tolist() == expected


@pytest.mark.parametrize("arrow_type", [pa.string(), pa.large_string()])
def test_arrow_strings_hash_as_python_strings(arrow_type):
    texts = [str(uuid.uuid4()) + "é" * (i % 3) + "x" * (i % 40) for i in range(500)]
    array = pa.chunked_array([pa.array(texts[:200], arrow_type),
                              pa.array(texts[200:], arrow_type).slice(0, 300)])
    assert hashes_of(array).tolist() == hashes_of(texts).tolist()
    assert hashes_of(pa.array(texts, arrow_type).slice(17, 50)).tolist() == \
        hashes_of(texts[17:67]).tolist()


def test_a_hash_of_zero_is_never_stored():
    assert 0 not in hashes_of([str(i) for i in range(10_000)]).tolist()


@pytest.mark.parametrize("seed", range(4))
def test_probe_finds_exactly_what_was_added(seed, monkeypatch):
    monkeypatch.setattr(stored_ids, "MERGE_MIN", 64)  # merge often
    rng = np.random.default_rng(seed)
    index, added = StoredIds(), set()
    built = rng.integers(1, 2**64, 3000, dtype=np.uint64)
    index.replace({"s": [built[:1000], built[1000:]]})
    added.update(built.tolist())
    for round_ in range(40):
        more = rng.integers(1, 2**64, int(rng.integers(1, 300)), dtype=np.uint64)
        if round_ % 3 == 0:  # some again, as a learned rewrite adds them
            more = np.concatenate([more, rng.choice(np.array(sorted(added), np.uint64), 20)])
        index.add("s", more)
        added.update(more.tolist())
        if round_ % 5 == 4:
            index.maintain()
        probes = np.concatenate([rng.integers(1, 2**64, 500, dtype=np.uint64),
                                 rng.choice(np.array(sorted(added), np.uint64), 500)])
        assert index.probe("s", probes).tolist() == [int(p) in added for p in probes]
    assert not index.probe("other", probes).any()
    assert index.count() >= len(added)  # repeats not yet merged count again


def test_edges_of_the_sorted_parts_are_found():
    index = StoredIds()
    edges = np.array([1, 2, 2**58 - 1, 2**58, 2**58 + 1, 2**63, 2**64 - 2, 2**64 - 1],
                     np.uint64)
    index.replace({"s": [edges]})
    assert index.probe("s", edges).all()
    misses = np.array([3, 2**58 + 2, 2**63 + 1, 2**64 - 3], np.uint64)
    assert not index.probe("s", misses).any()


def _reference(batches, stored):
    """Each batch's positions to keep: not stored, and the first of its (scope, id)."""
    seen = set(stored)
    kept = []
    for scope, ids in batches:
        positions = []
        for position, track_id in enumerate(ids):
            if (scope, track_id) not in seen:
                positions.append(position)
                seen.add((scope, track_id))
        kept.append(positions)
    return kept


@pytest.mark.parametrize("seed", range(6))
def test_duplicate_check_equals_the_plain_one(seed):
    rnd = random.Random(seed)
    pool = [f"id-{i}" for i in range(400)]
    stored = {(rnd.choice("ab"), rnd.choice(pool)) for _ in range(150)}
    index = StoredIds()
    for scope in "ab":
        index.add(scope, hashes_of([i for s, i in stored if s == scope]))
    # a deleted event: its hash stays in the index, the lake no longer holds it
    deleted = ("a", "deleted-id")
    index.add("a", hashes_of(["deleted-id"]))
    asked = []

    def confirm(scope, ids):
        asked.extend(ids)
        return {i for i in ids if (scope, i) in stored}

    for _ in range(20):
        batches = [(rnd.choice("ab"), [rnd.choice(pool + [deleted[1]])
                                       for _ in range(rnd.randint(0, 30))])
                   for _ in range(rnd.randint(1, 5))]
        positions, additions = new_positions(batches, index, confirm)
        expected = _reference(batches, stored)
        assert [p.tolist() for p in positions] == expected
        for (scope, ids), keep in zip(batches, expected):
            stored.update((scope, ids[p]) for p in keep)
        for scope, hashes in additions:
            index.add(scope, hashes)
    # only probable duplicates were confirmed against the lake
    assert all(any(i == s_id for _, s_id in stored) or i == "deleted-id" for i in asked)


def test_only_hits_are_confirmed():
    index = StoredIds()
    index.add("s", hashes_of(["x"]))
    asked = []
    positions, _ = new_positions([("s", ["x", "y", "z"])], index,
                                 lambda scope, ids: asked.extend(ids) or {"x"})
    assert asked == ["x"]
    assert positions[0].tolist() == [1, 2]


def test_table_keeps_every_hash_through_growth():
    table = stored_ids._Table(16)
    values = np.arange(1, 5000, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    for chunk in np.array_split(values, 37):
        table.add(chunk)
    found = np.zeros(len(values), np.uint8)
    table.probe(values, found)
    assert found.all() and table.count == len(values)
    assert sorted(table.values().tolist()) == sorted(values.tolist())


def test_parts_probe_refuses_a_wrong_part_count():
    with pytest.raises(ValueError):
        _wire.parts_probe([np.zeros(0, np.uint64)] * 3, 6, np.zeros(1, np.uint64),
                          bytearray(1))


def test_a_build_installed_late_keeps_what_was_added_before_it(monkeypatch):
    monkeypatch.setattr(stored_ids, "MERGE_MIN", 4)
    index = StoredIds()
    early = hashes_of([f"acknowledged-{i}" for i in range(50)])
    index.add("s", early)
    index.maintain()  # merged into the parts before the build arrives
    index.add("s", hashes_of(["one more"]))
    built = hashes_of([f"stored-{i}" for i in range(500)])
    index.replace({"s": [built], "t": [built[:3]]})
    index.wait_ready()
    everything = np.concatenate([early, built, hashes_of(["one more"])])
    assert index.probe("s", everything).all()
    assert index.probe("t", built[:3]).all() and not index.probe("t", early).any()


def test_a_build_installed_while_a_merge_runs_is_kept(monkeypatch):
    monkeypatch.setattr(stored_ids, "MERGE_MIN", 4)
    index = StoredIds()
    early = hashes_of([f"acknowledged-{i}" for i in range(50)])
    index.add("s", early)
    built = hashes_of([f"stored-{i}" for i in range(500)])
    real_merged, installs = stored_ids._merged, []

    def merged_while_the_build_arrives(part, more):
        if not installs:
            installs.append(True)
            index.replace({"s": [built]})  # the build's thread, between two parts
        return real_merged(part, more)

    monkeypatch.setattr(stored_ids, "_merged", merged_while_the_build_arrives)
    index.maintain()
    assert installs
    assert index.probe("s", np.concatenate([early, built])).all()
    assert index.count() == len(early) + len(built)


def test_a_merge_holds_one_part_twice_at_most(monkeypatch):
    monkeypatch.setattr(stored_ids, "MERGE_MIN", 4)
    rng = np.random.default_rng(5)
    tracemalloc.start()  # numpy reports its arrays to it
    try:
        index = StoredIds()
        index.add("s", rng.integers(1, 2**64, 400_000, dtype=np.uint64))
        index.maintain()  # the parts are arrays of their own now (a build's are views of one)
        index.add("s", rng.integers(1, 2**64, 50_000, dtype=np.uint64))
        before, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        index.maintain()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # The table's hashes sorted (400 kB) and one part's merge at a time: not the 3.6 MB of all
    # the parts again.
    assert peak - before < 1_000_000
    assert index.count() == 450_000


def test_everything_sends_each_id_to_the_exact_check():
    asked = []
    positions, _ = new_positions([("s", ["a", "b"])], StoredIds.everything(),
                                 lambda scope, ids: asked.extend(ids) or {"b"})
    assert asked == ["a", "b"] and positions[0].tolist() == [0]
