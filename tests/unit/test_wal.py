"""The write-ahead log's records survive, in order; a torn tail or a damaged record is dropped
and reported, and never hides a later record."""
from __future__ import annotations

import errno
import os

import pyarrow as pa
import pytest

from trackstore_server.wal import WriteAheadLog


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


def _three_records(tmp_path):
    wal = WriteAheadLog(tmp_path)
    for seq, value in enumerate(("first", "second", "third"), start=1):
        wal.append(seq, _table(value))
    wal.sync()
    wal.close()
    [segment] = tmp_path.glob("*.wal")
    return segment, bytearray(segment.read_bytes())


def _replayed(tmp_path):
    return [t.column("TrackId").to_pylist()[0] for _, t in WriteAheadLog(tmp_path).replay()]


def test_a_flipped_byte_drops_only_its_record_and_says_so(tmp_path, caplog):
    segment, data = _three_records(tmp_path)
    data[40] ^= 0xFF  # inside the first record's payload
    segment.write_bytes(bytes(data))
    assert _replayed(tmp_path) == ["second", "third"]
    assert "is damaged: dropped" in caplog.text and "at byte 0" in caplog.text


def test_a_damaged_length_loses_no_later_record(tmp_path, caplog):
    segment, data = _three_records(tmp_path)
    first_length = int.from_bytes(data[0:4], "little")
    second = 16 + first_length
    data[second:second + 4] = (10**6).to_bytes(4, "little")  # the second record's length
    segment.write_bytes(bytes(data))
    assert _replayed(tmp_path) == ["first", "third"]
    assert f"at byte {second}" in caplog.text


def test_damage_in_one_segment_hides_nothing_of_the_next(tmp_path):
    segment, data = _three_records(tmp_path)
    segment.write_bytes(bytes(data[:25]) + b"\0" * 50)  # torn and zero-filled
    later = WriteAheadLog(tmp_path)
    later.append(4, _table("later"))
    later.sync()
    assert _replayed(tmp_path) == ["later"]


def test_a_failed_append_is_cut_off_before_the_next(tmp_path, monkeypatch):
    wal = WriteAheadLog(tmp_path)
    wal.append(1, _table("kept"))
    wal.sync()
    real_writev = os.writev

    def failing_writev(fd, buffers):  # the record's write fails after half of it
        data = b"".join(bytes(buffer) for buffer in buffers)
        os.write(fd, data[:len(data) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "writev", failing_writev)
    with pytest.raises(OSError):
        wal.append(2, _table("failed"))
    monkeypatch.setattr(os, "writev", real_writev)
    wal.append(3, _table("after"))
    wal.sync()
    assert _replayed(tmp_path) == ["kept", "after"]


def test_a_record_written_in_pieces_reads_back_whole(tmp_path, monkeypatch):
    real_writev = os.writev

    def short_writev(fd, buffers):  # the system call takes only the first 5 bytes
        return real_writev(fd, [bytes(buffers[0])[:5]])

    monkeypatch.setattr(os, "writev", short_writev)
    wal = WriteAheadLog(tmp_path)
    wal.append(1, _table("pieces"))
    wal.append(2, [["small", "record"]])
    wal.sync()
    monkeypatch.setattr(os, "writev", real_writev)
    replayed = [record for _, record in WriteAheadLog(tmp_path).replay()]
    assert replayed[0].column("TrackId").to_pylist() == ["pieces"]
    assert replayed[1] == [["small", "record"]]


def test_a_failed_sync_is_cut_off_too_and_a_failed_cut_seals_the_segment(tmp_path, monkeypatch):
    wal = WriteAheadLog(tmp_path)
    wal.append(1, _table("kept"))
    wal.sync()
    wal.append(2, _table("unsynced"))

    def failing(*args):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "fdatasync", failing)
    monkeypatch.setattr(os, "ftruncate", failing)
    with pytest.raises(OSError):
        wal.sync()
    monkeypatch.undo()
    wal.append(3, _table("after"))  # in a new segment: the old one keeps its torn tail
    wal.sync()
    assert len(list(tmp_path.glob("*.wal"))) == 2
    replayed = _replayed(tmp_path)
    assert replayed[0] == "kept" and replayed[-1] == "after"


def test_column_records_replay_as_columns_beside_arrow_ones(tmp_path):
    wal = WriteAheadLog(tmp_path)
    columns = [["id-1", "id-2"], [None, "caf\u00e9 \"quoted\""], [1_700_000_000_000_000, 0]]
    wal.append(1, columns)
    wal.append(2, _table("x"))
    wal.sync()
    replayed = list(WriteAheadLog(tmp_path).replay())
    assert replayed[0] == (1, columns)
    assert replayed[1][0] == 2 and replayed[1][1].column("TrackId").to_pylist() == ["x"]
