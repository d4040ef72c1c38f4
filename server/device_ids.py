"""Which DeviceIds each scope has held, so that a test for a device the scope never stored is
answered without a scan (querylang/known_values.py).

`DeviceId == "d"` for a device with no events (a profile looked up before its first event, a
typo) reads the DeviceId of every row group of the scope: DeviceIds are random strings, so no
min/max rules a group out, and a lake read costs its catalog reads before any row
(bench/NOTES.md#fixed-cost-of-a-query).

The set follows the known values of the low-cardinality columns (column_values.py): it only
grows, and a batch's devices are noted before its events can be read, so it holds every device
any read may see. It keeps 64-bit hashes in the TrackId index's structure (stored_ids.py), about
8 bytes a device of a scope: a hash it lacks was never stored; one it holds may have been (a
collision costs a scan, never a wrong answer). The stored devices are read once at start, in
the same pass as the stored TrackIds; until then no test is answered from it.

Embedded catalogs only: the devices other servers store are not noted here.
"""
from __future__ import annotations

import threading

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .event_schema import COLUMN_NAMES
from .stored_ids import StoredIds, hashes_of

_DEVICE = COLUMN_NAMES.index("DeviceId")
LATELY_MAX = 1 << 16


class DeviceIds:
    """The devices of every scope; every method may be called from any thread."""

    def __init__(self):
        self.index = StoredIds()  # filled from the lake by stored_ids.build, beside TrackIds
        self._lock = threading.Lock()
        self.generation = 0  # grows whenever a device is noted for the first time
        # (scope, device) of small batches noted lately, all in the index: a device sends many
        # events, and a one-event call should not pay the hashing and probing (about 8 µs)
        # for each. Cleared when full, so it stays a few MB.
        self._lately: set[tuple[str, str]] = set()

    def note(self, scope: str, data: pa.Table | list[list]) -> None:
        """The devices of a batch of one scope (an Arrow table or COLUMN_NAMES columns)."""
        if isinstance(data, pa.Table):
            column = data.column("DeviceId")
            devices = pc.unique(column.drop_null() if column.null_count else column)
            if len(devices):
                self._add(scope, hashes_of(devices))
            return
        devices = [d for d in data[_DEVICE] if d is not None and (scope, d) not in self._lately]
        if devices:
            self._add(scope, hashes_of(devices))
            if len(self._lately) >= LATELY_MAX:  # after the index holds them
                self._lately.clear()
            self._lately.update((scope, d) for d in devices)

    def _add(self, scope: str, hashes: np.ndarray) -> None:
        new = hashes[~self.index.probe(scope, hashes)]
        if len(new):
            with self._lock:  # the index before the generation: see ScopeDevices
                self.index.add(scope, np.unique(new))
                self.generation += 1

    def of_scope(self, scope: str) -> "ScopeDevices | None":
        """What a read starting now may assume of `scope`'s devices; None until the stored
        devices were read."""
        if not self.index.ready():
            return None
        return ScopeDevices(self, scope, self.generation)

    def maintain(self) -> None:
        self.index.maintain()


class ScopeDevices:
    """The devices a read of one scope may meet, as a collection the compiler tests with `in`.

    It probes the index as it is at each test, which only ever holds more, and records whether
    a test found a device missing (`ruled_out`): only then does the answer depend on no device
    arriving during the read, checked against the generation taken before any test."""

    def __init__(self, devices: DeviceIds, scope: str, generation: int):
        self._devices = devices
        self._scope = scope
        self.generation = generation
        self.ruled_out = False

    def __contains__(self, device: str) -> bool:
        if device == "":  # a missing DeviceId reads as '' (Kusto): never ruled out
            return True
        found = bool(self._devices.index.probe(self._scope, hashes_of([device]))[0])
        if not found:
            self.ruled_out = True
        return found

    def unchanged(self) -> bool:
        """Whether no device arrived since the generation was taken, when it mattered."""
        return not self.ruled_out or self._devices.generation == self.generation
