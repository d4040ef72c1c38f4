"""Recent entries: one table of many small groups (table_of) is their tables joined, whatever
mix of column groups, Arrow batches and partly deleted entries it holds."""
from __future__ import annotations

import random

import pyarrow as pa
import pytest

from trackstore.v1 import trackevents_pb2 as pb
from trackstore_server import recent
from trackstore_server.event_batch import build_batch


def _data(count: int, start: int, arrow: bool):
    events = [pb.TrackEvent(event_type="view", value=str(start + i)) for i in range(count)]
    batch = build_batch("default", events)
    return batch.table if arrow else batch.data


def _entries(rng: random.Random) -> list[recent.RecentEntry]:
    entries, start = [], 0
    for seq in range(1, rng.randint(1, 40)):
        count = rng.choice([1, 1, 2, 3, 70])
        entries.append(recent.RecentEntry(seq, 0.0, _data(count, start, rng.random() < 0.2)))
        start += count
    return entries


@pytest.mark.parametrize("seed", range(30))
def test_table_of_is_the_entries_tables_joined(seed):
    rng = random.Random(seed)
    entries = _entries(rng)
    if rng.random() < 0.5:  # a read built them before: runs exist, some entries sliced
        recent.tables(rng.sample(entries, k=len(entries) // 2))
    for position in rng.sample(range(len(entries)), k=len(entries) // 4):
        entry = entries[position]
        entries[position] = entry.without_rows(rng.sample(range(entry.rows), k=1))
    entries = [entry for entry in entries if entry is not None]
    joined = recent.table_of(entries)
    expected = (pa.concat_tables(recent.tables(entries)) if entries
                else recent.RECENT_SCHEMA.empty_table())
    assert joined.combine_chunks().equals(expected.combine_chunks())


def test_a_flush_of_unbuilt_groups_gets_one_chunk():
    entries = [recent.RecentEntry(seq, 0.0, _data(2, 2 * seq, False)) for seq in range(1, 500)]
    table = recent.table_of(entries)
    assert table.num_rows == 998
    assert table.column(0).num_chunks == 1
    assert table.column(recent.SEQ_COLUMN).to_pylist() == [s for s in range(1, 500)
                                                           for _ in range(2)]
