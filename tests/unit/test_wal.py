"""The write-ahead log's records survive, in order; a torn tail is ignored, damage is not."""
from __future__ import annotations

import pyarrow as pa
import pytest

from trackstore_server.wal import WalCorrupt, WriteAheadLog


def _table(*values: str) -> pa.Table:
    return pa.table({"TrackId": list(values)})


def test_records_replay_in_order_across_segments(tmp_path):
    wal = WriteAheadLog(tmp_path)
    wal.append(1, _table("a", "b"))
    wal.append(2, _table("c"))
    wal.sync()
    wal.close()
    reopened = WriteAheadLog(tmp_path)  # starts a new segment beside the old one
    reopened.append(3, _table("d"))
    reopened.sync()
    replayed = [(seq, t.column("TrackId").to_pylist()) for seq, t in reopened.replay()]
    assert replayed == [(1, ["a", "b"]), (2, ["c"]), (3, ["d"])]


def test_rotation_drops_flushed_segments(tmp_path):
    wal = WriteAheadLog(tmp_path)
    wal.append(1, _table("a"))
    wal.sync()
    boundary = wal.rotate()  # a flush takes its snapshot: seq 1
    wal.append(2, _table("b"))  # acknowledged while the flush commits
    wal.sync()
    assert [seq for seq, _ in wal.replay()] == [1, 2]
    wal.drop_before(boundary)  # the flush committed seq 1 only
    assert [seq for seq, _ in wal.replay()] == [2]
    assert len(list(tmp_path.glob("*.wal"))) == 1


def test_a_failed_flush_drops_nothing_and_the_retry_drops_both_rotations(tmp_path):
    wal = WriteAheadLog(tmp_path)
    wal.append(1, _table("a"))
    wal.rotate()  # this flush fails: nothing dropped
    wal.append(2, _table("b"))
    retry = wal.rotate()
    wal.append(3, _table("c"))
    wal.sync()
    wal.drop_before(retry)  # the retry held seq 1 and 2
    assert [seq for seq, _ in wal.replay()] == [3]


def test_torn_tail_is_ignored(tmp_path):
    wal = WriteAheadLog(tmp_path)
    wal.append(1, _table("kept"))
    wal.append(2, _table("torn"))
    wal.sync()
    wal.close()
    [segment] = tmp_path.glob("*.wal")
    data = segment.read_bytes()
    segment.write_bytes(data[:-10])  # a kill in the middle of writing the last record
    assert [seq for seq, _ in WriteAheadLog(tmp_path).replay()] == [1]


def test_damage_before_the_end_is_an_error(tmp_path):
    wal = WriteAheadLog(tmp_path)
    wal.append(1, _table("first"))
    wal.append(2, _table("second"))
    wal.sync()
    wal.close()
    [segment] = tmp_path.glob("*.wal")
    data = bytearray(segment.read_bytes())
    data[20] ^= 0xFF  # inside the first record's payload
    segment.write_bytes(bytes(data))
    with pytest.raises(WalCorrupt):
        list(WriteAheadLog(tmp_path).replay())


def test_column_records_replay_as_columns_beside_arrow_ones(tmp_path):
    wal = WriteAheadLog(tmp_path)
    columns = [["id-1", "id-2"], [None, "caf\u00e9 \"quoted\""], [1_700_000_000_000_000, 0]]
    wal.append(1, columns)
    wal.append(2, _table("x"))
    wal.sync()
    replayed = list(WriteAheadLog(tmp_path).replay())
    assert replayed[0] == (1, columns)
    assert replayed[1][0] == 2 and replayed[1][1].column("TrackId").to_pylist() == ["x"]
