"""A damaged write-ahead log under a real server: the server starts, keeps every intact record
(before the damage, after it, and in later segments), and logs what it dropped."""
from __future__ import annotations

import pathlib

from helpers import event


def _segments(data_dir: pathlib.Path) -> list[pathlib.Path]:
    return sorted((data_dir / "wal").glob("*.wal"))


def _track_batches(server, batches: int, start: int) -> list[list[str]]:
    with server.client() as client:  # one call a record: each waits for its acknowledgement
        return [client.track("default", [event(start + 10 * b + i) for i in range(10)])
                for b in range(batches)]


def _record_offsets(segment: pathlib.Path) -> list[int]:
    data, offsets, offset = segment.read_bytes(), [], 0
    while offset < len(data):
        offsets.append(offset)
        offset += 16 + int.from_bytes(data[offset:offset + 4], "little")
    return offsets


def test_flipped_byte_and_torn_tail_drop_only_the_damaged_records(start_server, tmp_path):
    unflushed = ("--flush-seconds", "600", "--promote-keys", "false")
    server = start_server(*unflushed)
    batches = _track_batches(server, 6, 0)
    server.kill()
    [segment] = _segments(tmp_path / "data")
    offsets = _record_offsets(segment)
    assert len(offsets) == 6
    damaged = bytearray(segment.read_bytes())
    damaged[offsets[2] + 40] ^= 0x5A  # in the third record's batch
    segment.write_bytes(bytes(damaged[:-7]))  # and the last record cut short
    restarted = start_server(*unflushed)
    with restarted.client() as client:
        ids = {row["TrackId"] for row in client.list("default", top=1000)["items"]}
        assert ids == {i for batch in batches[:2] + batches[3:5] for i in batch}
        later = client.track("default", [event(999)])  # in a new segment
    restarted.kill()
    with start_server(*unflushed).client() as client:
        assert len(client.list("default", top=1000)["items"]) == 41
        assert client.list("default", filter=f"TrackId eq '{later[0]}'")["items"]
    log = restarted.log()
    assert f"{segment} is damaged: dropped" in log
    assert f"bytes at byte {offsets[2]}" in log and f"at byte {offsets[5]}" in log
