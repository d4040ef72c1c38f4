"""Which devices each segment holds, in memory: IsInSegment and SegmentsOf answer from here, with
no query per call.

A segment's generation is held as the 128-bit MD5 of each DeviceId, split into two sorted,
aligned uint64 arrays (`upper` sorted, ties by `lower`): 16 bytes per (segment, device) pair. A
lookup hashes the DeviceId once and binary-searches `upper`. Two different DeviceIds share a
hash with probability about 2^-128 per pair, so a device outside a segment of n devices is
answered "in" with probability about n / 2^128 (1M devices: 3e-33); a device inside is never
answered "out". The hashes are computed by DuckDB (`md5_number`, the digest as a little-endian
128-bit number, once a row: `md5_number_upper` and `_lower` would digest it twice, and took 8
times as long) when a generation is loaded from the lake, and in Python (`device_hash`) per
call: the two agree (tests/unit/test_segment_membership.py).

Each scope's segments are one dict replaced whole on a change, so a lookup reads without a lock.
"""
from __future__ import annotations

import struct
import threading
from dataclasses import dataclass, field

import numpy as np

from ..errors import NotFound
from .tables import MEMBERS_TABLE

try:  # CPython's own MD5: 0.19 µs a DeviceId against 0.39 through hashlib's OpenSSL
    from _md5 import md5 as _md5
except ImportError:  # an interpreter without it
    from hashlib import md5 as _md5

_EMPTY = np.empty(0, dtype=np.uint64)
_TWO_WORDS = struct.Struct("<QQ")  # a digest as (lower, upper) little-endian 64-bit words
_LOW_BITS = 2**64 - 1


def device_hash(device_id: str) -> tuple[np.uint64, np.uint64]:
    """The upper and lower 64 bits of DuckDB's md5_number of the DeviceId: its MD5 digest read
    as a little-endian 128-bit number."""
    lower, upper = _TWO_WORDS.unpack(_md5(device_id.encode()).digest())
    return np.uint64(upper), np.uint64(lower)


@dataclass(frozen=True)
class Members:
    """One generation of a segment's devices, as sorted hashes."""

    generation: int
    upper: np.ndarray = field(default_factory=lambda: _EMPTY)
    lower: np.ndarray = field(default_factory=lambda: _EMPTY)

    def holds(self, upper: np.uint64, lower: np.uint64) -> bool:
        index = int(self.upper.searchsorted(upper))
        while index < len(self.upper) and self.upper[index] == upper:
            if self.lower[index] == lower:
                return True
            index += 1
        return False

    @property
    def nbytes(self) -> int:
        return self.upper.nbytes + self.lower.nbytes


NOT_COMPUTED = Members(0)


def load(cursor, scope: str, segment: str, generation: int) -> Members:
    """A generation of `segment_members` as sorted hashes."""
    columns = cursor.execute(
        f"SELECT (h >> 64)::UBIGINT AS upper, (h & {_LOW_BITS}::UHUGEINT)::UBIGINT AS lower "
        f'FROM (SELECT md5_number("DeviceId") AS h FROM {MEMBERS_TABLE} WHERE "Scope" = ? '
        f'AND "Segment" = ? AND "Generation" = ?) ORDER BY upper, lower',
        [scope, segment, generation]).fetchnumpy()
    return Members(generation, np.ascontiguousarray(columns["upper"], dtype=np.uint64),
                   np.ascontiguousarray(columns["lower"], dtype=np.uint64))


class MembershipIndex:
    """scope -> segment name -> the Members of its current generation.

    What a reader of the catalog puts may be older than a deletion made meanwhile: it passes
    the `mark()` it took before reading, and a segment dropped since is not put back."""

    def __init__(self):
        self._scopes: dict[str, dict[str, Members]] = {}
        self._lock = threading.Lock()  # writers only
        self._drops = 0
        self._dropped: dict[tuple[str, str], int] = {}  # segment -> the count of its drop

    def mark(self) -> int:
        """Taken before reading the catalog; passed to `put` with what was read."""
        with self._lock:
            return self._drops

    def put(self, scope: str, segment: str, members: Members, since: int | None = None) -> None:
        """Holds `members` for the segment, unless it holds a newer generation already, or (with
        `since`) the segment was dropped after that mark."""
        with self._lock:
            if since is not None and self._dropped.get((scope, segment), -1) > since:
                return
            segments = self._scopes.get(scope, {})
            held = segments.get(segment)
            if held is None or held.generation <= members.generation:
                self._scopes[scope] = {**segments, segment: members}

    def drop(self, scope: str, segment: str) -> None:
        with self._lock:
            self._drops += 1
            self._dropped[(scope, segment)] = self._drops
            segments = dict(self._scopes.get(scope, {}))
            if segments.pop(segment, None) is not None:
                self._scopes[scope] = segments

    def generations(self) -> dict[tuple[str, str], int]:
        """(scope, segment) -> the generation held."""
        return {(scope, name): members.generation
                for scope, segments in self._scopes.items() for name, members in segments.items()}

    def is_in(self, scope: str, device_id: str, names: list[str]) -> list[bool]:
        """One answer per name; NotFound for a segment the scope does not have."""
        segments = self._scopes.get(scope, {})
        upper, lower = device_hash(device_id)
        answers = []
        for name in names:
            members = segments.get(name)
            if members is None:
                raise NotFound(f"no segment '{name}' in scope '{scope}'")
            answers.append(members.holds(upper, lower))
        return answers

    def segments_of(self, scope: str, device_id: str) -> list[str]:
        upper, lower = device_hash(device_id)
        return sorted(name for name, members in self._scopes.get(scope, {}).items()
                      if members.holds(upper, lower))

    def resident(self) -> tuple[int, int]:
        """(pairs held, bytes of their arrays)."""
        held = [m for segments in self._scopes.values() for m in segments.values()]
        return sum(len(m.upper) for m in held), sum(m.nbytes for m in held)
