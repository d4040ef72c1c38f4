"""The write-ahead log: an acknowledged batch is on disk before Track returns.

A DuckLake commit has a fixed cost whatever its size, which caps how many acknowledged commits
a second the lake could take; an append to this log and one fdatasync cost a small fraction of
it (bench/NOTES.md#write-ahead-log), so a whole group of Track calls is acknowledged at once and
the lake receives the events later in large commits (writer.Writer._flush).

Each record is `length, crc32, seq` (little-endian u32, u32, u64) and the batch: an Arrow IPC
stream, or for the few events of a group of small calls their columns as a JSON array of
arrays (an IPC stream starts with 0xFFFFFFFF, JSON with `[`; replay yields what was appended).
Records are appended to numbered segment files. A flush starts a new segment when it takes
its snapshot of the acknowledged events and, once they are in the lake, deletes the segments
before that one; records appended meanwhile are in the new segment and stay. A torn record at
the end of a segment (a kill during the write, before the fsync, so never acknowledged) ends the
replay of that segment. The writer serializes appends and rotations (Writer._log_lock).
"""
from __future__ import annotations

import logging
import os
import pathlib
import struct
import zlib
from typing import Iterator

import orjson
import pyarrow as pa

log = logging.getLogger(__name__)

_HEADER = struct.Struct("<IIQ")
_SUFFIX = ".wal"


class WalCorrupt(RuntimeError):
    pass


def _segments(directory: pathlib.Path) -> list[tuple[int, pathlib.Path]]:
    found = []
    for path in directory.glob(f"*{_SUFFIX}"):
        try:
            found.append((int(path.stem), path))
        except ValueError:
            continue
    return sorted(found)


def _encode(data: pa.Table | list[list]) -> bytes | pa.Buffer:
    if isinstance(data, list):
        return orjson.dumps(data)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, data.schema) as writer:
        writer.write_table(data)
    return sink.getvalue()  # written and checksummed as it is, without a copy to bytes


def _decode(payload: bytes) -> pa.Table | list[list]:
    if payload[:1] == b"[":
        return orjson.loads(payload)
    return pa.ipc.open_stream(payload).read_all()


class WriteAheadLog:
    def __init__(self, directory: str | pathlib.Path):
        self.directory = pathlib.Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        existing = _segments(self.directory)
        self._number = existing[-1][0] + 1 if existing else 1
        self._file = self._open_segment()

    def _open_segment(self):
        path = self.directory / f"{self._number:012d}{_SUFFIX}"
        handle = open(path, "ab")
        _fsync_directory(self.directory)
        return handle

    def append(self, seq: int, data: pa.Table | list[list]) -> None:
        payload = _encode(data)
        self._file.write(_HEADER.pack(len(payload), zlib.crc32(payload), seq))
        self._file.write(payload)

    def sync(self) -> None:
        self._file.flush()
        os.fdatasync(self._file.fileno())

    def rotate(self) -> int:
        """Starts a new segment and returns its number: every record appended before this call
        is in an older segment. A flush rotates when it takes its snapshot, so once its commit
        succeeds the older segments hold only flushed records (`drop_before`)."""
        self._file.close()
        self._number += 1
        self._file = self._open_segment()
        return self._number

    def drop_before(self, number: int) -> None:
        """Deletes the segments older than `number` (a `rotate` result); newer ones stay."""
        for segment, path in _segments(self.directory):
            if segment < number:
                path.unlink(missing_ok=True)
        _fsync_directory(self.directory)

    def close(self) -> None:
        self._file.close()

    def replay(self) -> Iterator[tuple[int, pa.Table | list[list]]]:
        """Every complete record of every segment, oldest first."""
        for _, path in _segments(self.directory):
            with open(path, "rb") as handle:
                data = handle.read()
            offset = 0
            while offset + _HEADER.size <= len(data):
                length, checksum, seq = _HEADER.unpack_from(data, offset)
                start = offset + _HEADER.size
                payload = data[start:start + length]
                torn = len(payload) < length
                if not torn and zlib.crc32(payload) != checksum:
                    if start + length < len(data):
                        raise WalCorrupt(f"{path} is damaged at byte {offset}")
                    torn = True
                if torn:
                    log.warning("ignoring a torn record at the end of %s (never acknowledged)", path)
                    break
                yield seq, _decode(payload)
                offset = start + length


def _fsync_directory(directory: pathlib.Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
