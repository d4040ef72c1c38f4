"""Which devices each segment holds, in memory: IsInSegment and SegmentsOf answer from here, with
no query per call.

A segment's generation is held as the 128-bit MD5 of each DeviceId, split into sorted rows of two
uint64 (upper, lower): 16 bytes per (segment, device) pair, and a fence of every 256th upper (1/32
of a byte a pair). A lookup hashes the DeviceId once, binary-searches the fence, then the one block
of rows it points to. Two different DeviceIds share a hash with probability about 2^-128 per pair,
so a device outside a segment of n devices is answered "in" with probability about n / 2^128 (1M
devices: 3e-33); a device inside is never answered "out". The hashes are computed by DuckDB
(`md5_number`, the digest as a little-endian 128-bit number, once a row: `md5_number_upper` and
`_lower` would digest it twice, and took 8 times as long) when a generation is loaded from the
lake, and per call in C (`_wire.held`, which hashes and searches every segment asked about in one
call; server/wire/membership.c says why): the two agree (tests/unit/test_segment_membership.py).

Each scope's segments are one dict replaced whole on a change, so a lookup reads without a lock.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np

from .._wire import FENCE_STRIDE, held
from ..errors import NotFound
from .tables import MEMBERS_TABLE

_NO_PAIRS = np.empty((0, 2), dtype=np.uint64)
_LOW_BITS = 2**64 - 1


@dataclass(frozen=True)
class Members:
    """One generation of a segment's devices: `pairs`, the sorted (upper, lower) rows of their
    hashes, and `fence`, every FENCE_STRIDE-th upper, which `held` searches first
    (server/wire/membership.c says why)."""

    generation: int
    pairs: np.ndarray = field(default_factory=lambda: _NO_PAIRS)
    fence: np.ndarray = field(init=False)

    def __post_init__(self):
        object.__setattr__(self, "fence", np.ascontiguousarray(self.pairs[::FENCE_STRIDE, 0]))

    @classmethod
    def of(cls, generation: int, upper: np.ndarray, lower: np.ndarray) -> "Members":
        """From the uppers and lowers as two aligned arrays, sorted by (upper, lower)."""
        return cls(generation, np.ascontiguousarray(np.column_stack((upper, lower)),
                                                    dtype=np.uint64))

    @property
    def count(self) -> int:
        return len(self.pairs)

    @property
    def nbytes(self) -> int:
        return self.pairs.nbytes + self.fence.nbytes


NOT_COMPUTED = Members(0)


def load(cursor, scope: str, segment: str, generation: int) -> Members:
    """A generation of `segment_members` as sorted hashes."""
    columns = cursor.execute(
        f"SELECT (h >> 64)::UBIGINT AS upper, (h & {_LOW_BITS}::UHUGEINT)::UBIGINT AS lower "
        f'FROM (SELECT md5_number("DeviceId") AS h FROM {MEMBERS_TABLE} WHERE "Scope" = ? '
        f'AND "Segment" = ? AND "Generation" = ?) ORDER BY upper, lower',
        [scope, segment, generation]).fetchnumpy()
    return Members.of(generation, columns["upper"], columns["lower"])


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
        try:
            chosen = [segments[name] for name in names]
        except KeyError as missing:
            raise NotFound(f"no segment '{missing.args[0]}' in scope '{scope}'") from None
        return held(device_id, chosen)

    def segments_of(self, scope: str, device_id: str) -> list[str]:
        segments = self._scopes.get(scope, {})
        answers = held(device_id, list(segments.values()))
        return sorted(name for name, answer in zip(segments, answers) if answer)

    def resident(self) -> tuple[int, int]:
        """(pairs held, bytes of their arrays)."""
        loaded = [m for segments in self._scopes.values() for m in segments.values()]
        return sum(m.count for m in loaded), sum(m.nbytes for m in loaded)
