"""The write-ahead log: an acknowledged batch is on disk before Track returns.

A DuckLake commit has a fixed cost whatever its size, which caps how many acknowledged commits
a second the lake could take; an append to this log and one fdatasync cost a small fraction of
it (bench/NOTES.md#write-ahead-log), so a whole group of Track calls is acknowledged at once and
the lake receives the events later in large commits (writer.Writer._flush).

Each record is `length, crc32, seq` (little-endian u32, u32, u64) and the batch: an Arrow IPC
stream, for the few events of a group of small calls their columns as a JSON array of arrays,
or a JSON object for a record that is not events (the deletions of unflushed events,
writer.Writer); an IPC stream starts with 0xFFFFFFFF, JSON with `[` or `{`, and replay yields
what was appended. Records are appended to numbered segment files. A flush starts a new segment
when it takes its snapshot of the acknowledged events and, once they are in the lake, deletes
the segments before that one; records appended meanwhile are in the new segment and stay. The
writer serializes appends and rotations (Writer._log_lock).

Invariant: a record that follows another in a segment was appended after that one was written
and synced whole. An append or sync that fails (a full disk, an I/O error) is cut off again
(truncated to the last synced byte) before the error is raised; when even that fails, the
segment is sealed and the next append starts a new one. So the only damage replay can meet is
a torn tail (a kill during a write, never acknowledged) or bytes changed on disk afterwards: a
record whose checksum fails is dropped and reported (segment, offset, bytes), the records after
it in its segment are kept when their own checksums hold, and later segments are never hidden.
"""
from __future__ import annotations

import logging
import os
import pathlib
import struct
import zlib
from dataclasses import dataclass, field
from typing import Iterator

import orjson
import pyarrow as pa

log = logging.getLogger(__name__)

_HEADER = struct.Struct("<IIQ")
_SUFFIX = ".wal"
# After damage, replay looks for a record with one of this many sequence numbers next.
_RESYNC_SEQS = 64
Record = pa.Table | list[list] | dict


def _segments(directory: pathlib.Path) -> list[tuple[int, pathlib.Path]]:
    found = []
    for path in directory.glob(f"*{_SUFFIX}"):
        try:
            found.append((int(path.stem), path))
        except ValueError:
            continue
    return sorted(found)


def _encode(data: Record) -> bytes | pa.Buffer:
    if isinstance(data, (list, dict)):
        return orjson.dumps(data)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, data.schema) as writer:
        writer.write_table(data)
    return sink.getvalue()  # written and checksummed as it is, without a copy to bytes


def _decode(payload: bytes) -> Record:
    if payload[:1] in (b"[", b"{"):
        return orjson.loads(payload)
    return pa.ipc.open_stream(payload).read_all()


def _write_all(fd: int, header: bytes, payload) -> None:
    """Writes header and payload, in one system call when it takes them whole (a small
    record's usually does: one call less per acknowledged group)."""
    written = os.writev(fd, [header, payload])
    if written < len(header):
        _write_rest(fd, header, written)
        written = len(header)
    _write_rest(fd, payload, written - len(header))


def _write_rest(fd: int, data, start: int) -> None:
    view = memoryview(data).cast("B")[start:]
    while view:
        view = view[os.write(fd, view):]


@dataclass
class Damage:
    """What replay dropped from one segment: byte ranges it could not read as records."""
    path: pathlib.Path
    dropped: list[tuple[int, int]] = field(default_factory=list)  # (offset, bytes)

    def report(self, size: int) -> None:
        if not self.dropped:
            return
        offset, length = self.dropped[0]
        if len(self.dropped) == 1 and offset + length == size:
            log.warning("ignoring the last %d bytes of %s from byte %d: a record cut short (a "
                        "write interrupted before its sync, never acknowledged) or damaged",
                        length, self.path, offset)
            return
        ranges = ", ".join(f"{length} bytes at byte {offset}" for offset, length in self.dropped)
        log.error("write-ahead log %s is damaged: dropped %s (records whose checksum failed); "
                  "every intact record before and after is kept", self.path, ranges)


class WriteAheadLog:
    def __init__(self, directory: str | pathlib.Path):
        self.directory = pathlib.Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        existing = _segments(self.directory)
        self._number = existing[-1][0] + 1 if existing else 1
        self._fd: int | None = self._open_segment(self._number)
        self._size = self._synced = 0  # bytes written to the segment, and known durable

    def _open_segment(self, number: int) -> int:
        path = self.directory / f"{number:012d}{_SUFFIX}"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            _fsync_directory(self.directory)
        except OSError:
            os.close(fd)
            raise
        return fd

    def append(self, seq: int, data: Record) -> None:
        """Writes a record; on failure the segment ends at its last synced byte again (or is
        sealed) and the error is raised."""
        payload = _encode(data)
        if self._fd is None:  # sealed after a failure that could not be cut off
            self._start_segment()
        try:
            _write_all(self._fd, _HEADER.pack(len(payload), zlib.crc32(payload), seq), payload)
        except OSError:
            self._cut_back()
            raise
        self._size += _HEADER.size + len(payload)

    def sync(self) -> None:
        try:
            os.fdatasync(self._fd)
        except OSError:
            self._cut_back()
            raise
        self._synced = self._size

    def _cut_back(self) -> None:
        """After a failed write or sync: truncates the segment to its last synced byte, so no
        later record follows a torn one; if that fails too, seals the segment."""
        try:
            os.ftruncate(self._fd, self._synced)
            os.fdatasync(self._fd)
            self._size = self._synced
        except OSError as error:
            log.warning("could not cut a failed write-ahead log append off segment %d (%s); "
                        "sealing it", self._number, error)
            os.close(self._fd)
            self._fd = None

    def _start_segment(self) -> None:
        number = self._number + 1
        fd = self._open_segment(number)
        if self._fd is not None:
            os.close(self._fd)
        self._number, self._fd = number, fd
        self._size = self._synced = 0

    def rotate(self) -> int:
        """Starts a new segment and returns its number: every record appended before this call
        is in an older segment. A flush rotates when it takes its snapshot, so once its commit
        succeeds the older segments hold only flushed records (`drop_before`). A segment with
        no record yet serves as the new one."""
        if self._fd is None or self._size:
            self._start_segment()
        return self._number

    def drop_before(self, number: int) -> None:
        """Deletes the segments older than `number` (a `rotate` result); newer ones stay."""
        for segment, path in _segments(self.directory):
            if segment < number:
                path.unlink(missing_ok=True)
        _fsync_directory(self.directory)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def replay(self) -> Iterator[tuple[int, Record]]:
        """Every intact record of every segment, oldest first; damage is logged and skipped."""
        for _, path in _segments(self.directory):
            with open(path, "rb") as handle:
                data = handle.read()
            damage = Damage(path)
            yield from _records(data, damage)
            damage.report(len(data))


def _records(data: bytes, damage: Damage) -> Iterator[tuple[int, Record]]:
    offset, last_seq = 0, None
    while offset < len(data):
        found = _record_at(data, offset)
        if found is None:
            if last_seq is None and offset + _HEADER.size <= len(data):
                last_seq = _HEADER.unpack_from(data, offset)[2]  # the damaged record's, maybe
            resumed = _next_intact(data, offset + 1, last_seq)
            damage.dropped.append((offset, resumed - offset))
            offset = resumed
            continue
        last_seq, record, offset = found
        yield last_seq, record


def _record_at(data: bytes, offset: int) -> tuple[int, Record, int] | None:
    """(seq, record, offset of the next) for an intact record at `offset`, else None."""
    if offset + _HEADER.size > len(data):
        return None
    length, checksum, seq = _HEADER.unpack_from(data, offset)
    start = offset + _HEADER.size
    if start + length > len(data):
        return None
    record = _checked(data[start:start + length], checksum)
    return None if record is None else (seq, record, start + length)


def _next_intact(data: bytes, offset: int, last_seq: int | None) -> int:
    """Where the next intact record after damage starts (or the segment's end): sequence
    numbers grow by one an append (a failed append skips a few), so the next record's header
    holds one of the next few; a match counts once its checksum holds."""
    if last_seq is None:
        return len(data)  # no record read yet: nothing tells what to look for
    candidates = []
    for seq in range(last_seq + 1, last_seq + 1 + _RESYNC_SEQS):
        at = data.find(struct.pack("<Q", seq), offset + 8)
        while at >= 0:
            if _record_at(data, at - 8) is not None:
                candidates.append(at - 8)
                break
            at = data.find(struct.pack("<Q", seq), at + 1)
    return min(candidates, default=len(data))


def _checked(payload: bytes, checksum: int) -> Record | None:
    if zlib.crc32(payload) != checksum:
        return None
    try:
        return _decode(payload)
    except (ValueError, pa.ArrowException):  # a checksum that matched by chance
        return None


def _fsync_directory(directory: pathlib.Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
