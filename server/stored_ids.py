"""Which TrackIds each scope holds: the duplicate check of Track calls with client TrackIds.

A retried Track call repeats its TrackIds, and the store keeps each (Scope, TrackId) once. The
check used to look every call's ids up in the lake, which reads every stored TrackId of the
scope (client ids have no order, so Parquet statistics skip nothing): a lake read per call
whose cost grew with the store (bench/NOTES.md#duplicate-check). This index holds a 64-bit hash
(XXH64, server/wire/idset.c) of every TrackId the server knows to be stored or acknowledged,
per scope, in memory, about 8 bytes an event. A TrackId whose hash it lacks is new, without a
lake read; one whose hash it holds is a probable duplicate, confirmed exactly against the
acknowledged events in memory and then the lake (a retry, a deleted event sent again, or two
ids with one hash, about one probe in 10^11 at 100 million stored events).

Invariant: the index holds at least every TrackId of the lake as of the snapshot it was built
from, every TrackId this server acknowledged since, and, on a catalog other servers write to,
every TrackId they flushed since, read by each flush from the rows the lake gained (DuckLake row
ids only grow) in the flush's own transaction, which drops its events that another server
stored meanwhile (writer.Writer._commit). More than that (deleted events, ids whose
acknowledgement failed) only costs a confirming lookup.

Layout: per scope, the hashes in 2**PART_BITS sorted parts by their top bits, probed by
interpolation (one or two cache misses, where a binary search over millions of hashes takes
twenty), and an open-addressing table of the ones added since the parts were rebuilt, merged
into them by the lake thread (`maintain`) once it holds an eighth as many.
"""
from __future__ import annotations

import threading
from typing import Callable, Iterable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import _wire
from .lake import EVENTS_TABLE, rollback, scalar

PART_BITS = 6
_PART_SHIFT = np.uint64(64 - PART_BITS)
_BOUNDS = np.arange(1, 1 << PART_BITS, dtype=np.uint64) << _PART_SHIFT
DELTA_MIN_SLOTS = 1 << 12
# The table is merged into the parts once it holds this share of their size, and this many at
# least: each hash is copied about 1 / share times over the store's life.
MERGE_SHARE = 1 / 8
MERGE_MIN = 1 << 16
_EMPTY = np.zeros(0, np.uint64)


def hashes_of(strings: pa.Array | pa.ChunkedArray | list[str]) -> np.ndarray:
    """The uint64 XXH64 of each string (none may be null)."""
    if isinstance(strings, list):
        return np.frombuffer(_wire.hash_ids(strings), np.uint64)
    chunks = strings.chunks if isinstance(strings, pa.ChunkedArray) else [strings]
    parts = []
    for chunk in chunks:
        large = pa.types.is_large_string(chunk.type)
        if not (large or pa.types.is_string(chunk.type)):
            chunk = chunk.cast(pa.string())
        _, offsets, data = chunk.buffers()
        parts.append(np.frombuffer(_wire.hash_id_buffers(
            offsets, data if data is not None else b"", chunk.offset, len(chunk), large),
            np.uint64))
    return np.concatenate(parts) if len(parts) != 1 else parts[0]


def by_scope(scopes: pa.Array | pa.ChunkedArray | list[str]) -> dict[str, np.ndarray]:
    """Row positions of each scope."""
    if isinstance(scopes, list):
        found: dict[str, list[int]] = {}
        for position, scope in enumerate(scopes):
            found.setdefault(scope, []).append(position)
        return {scope: np.array(rows, np.int64) for scope, rows in found.items()}
    encoded = pc.dictionary_encode(scopes)
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.combine_chunks()
    codes = encoded.indices.to_numpy(zero_copy_only=False)
    names = encoded.dictionary.to_pylist()
    if len(names) == 1:
        return {names[0]: np.arange(len(codes), dtype=np.int64)}
    return {name: np.flatnonzero(codes == code) for code, name in enumerate(names)}


class _Table:
    """Hashes in an open-addressing table, at most half full (0 marks an empty slot)."""

    def __init__(self, slots: int = DELTA_MIN_SLOTS):
        self.slots = np.zeros(slots, np.uint64)
        self.count = 0

    def add(self, hashes: np.ndarray) -> None:
        if 2 * (self.count + len(hashes)) > len(self.slots):
            size = len(self.slots)
            while 2 * (self.count + len(hashes)) > size:
                size *= 2
            old, self.slots = self.slots, np.zeros(size, np.uint64)
            _wire.table_insert(self.slots, old[old != 0])
        self.count += _wire.table_insert(self.slots, np.ascontiguousarray(hashes))

    def probe(self, hashes: np.ndarray, found: np.ndarray) -> None:
        _wire.table_probe(self.slots, hashes, found)

    def values(self) -> np.ndarray:
        return self.slots[self.slots != 0]


def _split(sorted_hashes: np.ndarray) -> list[np.ndarray]:
    cuts = np.searchsorted(sorted_hashes, _BOUNDS)
    return [np.ascontiguousarray(part) for part in np.split(sorted_hashes, cuts)]


def _merged(part: np.ndarray, more: np.ndarray) -> np.ndarray:
    """The sorted union of two sorted runs (`part` itself when there is nothing more)."""
    if not len(more):
        return part
    joined = np.concatenate([part, more])
    joined.sort(kind="stable")  # two sorted runs: a merge, not a sort
    keep = np.empty(len(joined), bool)
    keep[0] = True
    np.not_equal(joined[1:], joined[:-1], out=keep[1:])
    return joined[keep]


class _ScopeIds:
    def __init__(self, parts: list[np.ndarray] | None = None):
        self.parts = parts or [_EMPTY] * (1 << PART_BITS)
        self.size = sum(len(p) for p in self.parts)
        self.delta = _Table()
        self.frozen: _Table | None = None  # being merged into the parts

    def probe(self, hashes: np.ndarray) -> np.ndarray:
        found = np.zeros(len(hashes), np.uint8)
        _wire.parts_probe(self.parts, PART_BITS, hashes, found)
        self.delta.probe(hashes, found)
        if self.frozen is not None:
            self.frozen.probe(hashes, found)
        return found.view(bool)

    def due(self) -> bool:
        return self.frozen is None and self.delta.count >= max(MERGE_MIN,
                                                              self.size * MERGE_SHARE)


class StoredIds:
    """The per-scope index; every method may be called from any thread."""

    def __init__(self):
        self._scopes: dict[str, _ScopeIds] = {}
        self._lock = threading.Lock()
        self._ready = threading.Event()

    @classmethod
    def everything(cls) -> "StoredIds":
        """An index that may hold every id: each one is confirmed exactly (the plain check)."""
        index = cls()
        index.probe = lambda scope, hashes: np.ones(len(hashes), bool)
        index._ready.set()
        return index

    def probe(self, scope: str, hashes: np.ndarray) -> np.ndarray:
        """A bool per hash: True where the scope may hold it, False where it surely does not."""
        with self._lock:
            ids = self._scopes.get(scope)
            if ids is None:
                return np.zeros(len(hashes), bool)
            return ids.probe(np.ascontiguousarray(hashes, np.uint64))

    def add(self, scope: str, hashes: np.ndarray) -> None:
        if not len(hashes):
            return
        with self._lock:
            ids = self._scopes.get(scope)
            if ids is None:
                ids = self._scopes[scope] = _ScopeIds()
            ids.delta.add(hashes)

    def add_rows(self, scopes, track_ids) -> None:
        """Adds the TrackIds of rows (Arrow columns, or Python lists) with their scopes."""
        hashes = hashes_of(track_ids)
        for scope, rows in by_scope(scopes).items():
            self.add(scope, hashes[rows])

    def replace(self, hashes_by_scope: dict[str, Iterable[np.ndarray]]) -> None:
        """Installs a build from the lake as the sorted parts; what was added meanwhile stays
        in the tables (the parts are empty until the build is installed). Marks the index
        ready."""
        built = {}
        for scope, arrays in hashes_by_scope.items():
            joined = np.concatenate(list(arrays) or [_EMPTY])
            joined.sort()  # in place; the parts are views of it (memory: bench/NOTES.md)
            if len(joined) > 1 and (joined[1:] == joined[:-1]).any():
                joined = np.unique(joined)
            built[scope] = np.split(joined, np.searchsorted(joined, _BOUNDS))
        with self._lock:
            for scope, parts in built.items():
                ids = self._scopes.setdefault(scope, _ScopeIds())
                ids.parts = [_merged(new, old) for old, new in zip(ids.parts, parts)]
                ids.size = sum(len(p) for p in ids.parts)
        self._ready.set()

    def wait_ready(self) -> None:
        """Until the build from the lake is installed: before it, a miss proves nothing."""
        self._ready.wait()

    def ready(self) -> bool:
        return self._ready.is_set()

    def maintain(self) -> None:
        """Merges each scope's table into its sorted parts once it holds enough. Each part is
        merged outside the lock, so probes and additions go on meanwhile, and replaced at
        once, so the merge holds one part twice, not the whole index (800 MB at 100 million
        events). The table stays frozen, and probed, until every part holds its hashes."""
        with self._lock:
            due = [(scope, ids) for scope, ids in self._scopes.items() if ids.due()]
            for _, ids in due:
                ids.frozen, ids.delta = ids.delta, _Table()
        for scope, ids in due:
            more = ids.frozen.values()
            more.sort()
            for number, add in enumerate(_split(more)):
                self._merge_part(ids, number, add)
            with self._lock:
                ids.frozen = None
                ids.size = sum(len(p) for p in ids.parts)

    def _merge_part(self, ids: _ScopeIds, number: int, add: np.ndarray) -> None:
        while True:
            with self._lock:
                parts = ids.parts
                part = parts[number]
            merged = _merged(part, add)
            with self._lock:
                # A build installed meanwhile (`replace`) brought new parts: merge into those.
                if ids.parts is parts and parts[number] is part:
                    parts[number] = merged
                    return

    def resident_bytes(self) -> int:
        """The bytes of its arrays: sorted parts, and the tables of hashes added since."""
        with self._lock:
            return sum(sum(part.nbytes for part in ids.parts) + ids.delta.slots.nbytes
                       + (ids.frozen.slots.nbytes if ids.frozen else 0)
                       for ids in self._scopes.values())

    def count(self) -> int:
        """Hashes held (repeats in the unmerged tables counted again)."""
        with self._lock:
            return sum(ids.size + ids.delta.count + (ids.frozen.count if ids.frozen else 0)
                       for ids in self._scopes.values())


Confirm = Callable[[str, list[str]], set[str]]


def new_positions(scope_ids: list[tuple[str, list[str]]], index: StoredIds,
                  confirm: Confirm) -> tuple[list[np.ndarray], list[tuple[str, np.ndarray]]]:
    """For batches given as (scope, TrackIds) in arrival order: the positions of each batch's
    events to store (not stored before, and the first of their id in the group), and the
    hashes to add to the index once they are acknowledged, per scope. `confirm(scope, ids)`
    answers which of a few probable duplicates are stored (exactly)."""
    keep = [np.ones(len(ids), bool) for _, ids in scope_ids]
    additions = []
    scopes: dict[str, list[int]] = {}
    for number, (scope, _) in enumerate(scope_ids):
        scopes.setdefault(scope, []).append(number)
    for scope, numbers in scopes.items():
        ids = [i for n in numbers for i in scope_ids[n][1]]
        hashes = hashes_of(ids)
        fresh = _first_of_each(ids, hashes) & ~_stored(scope, ids, hashes, index, confirm)
        start = 0
        for n in numbers:
            size = len(scope_ids[n][1])
            keep[n] = fresh[start:start + size]
            start += size
        additions.append((scope, hashes[fresh]))
    return [np.flatnonzero(k) for k in keep], additions


def _first_of_each(ids: list[str], hashes: np.ndarray) -> np.ndarray:
    """True for each id's first occurrence; repeats are found by hash and compared as text."""
    first = np.ones(len(ids), bool)
    order = np.argsort(hashes, kind="stable")
    ordered = hashes[order]
    same = np.flatnonzero(ordered[1:] == ordered[:-1])
    if not len(same):
        return first
    # rare: a retried event inside one group, or two ids with one hash; in arrival order
    seen: set[str] = set()
    for position in np.unique(order[np.concatenate([same, same + 1])]):
        text = ids[position]
        if text in seen:
            first[position] = False
        seen.add(text)
    return first


def _stored(scope: str, ids: list[str], hashes: np.ndarray, index: StoredIds,
            confirm: Confirm) -> np.ndarray:
    hit = index.probe(scope, hashes)
    suspects = np.flatnonzero(hit)
    if not len(suspects):
        return hit
    stored = confirm(scope, [ids[p] for p in suspects])
    for position in suspects:
        hit[position] = ids[position] in stored
    return hit


# Rows of the lake read at a time when the index is built.
BUILD_BATCH_ROWS = 1 << 20


def last_row_id(cursor) -> int:
    """The largest row id of the lake (-1 when it is empty): rows committed later have larger
    ones (OtherServers reads from there)."""
    return scalar(cursor, f"SELECT coalesce(max(rowid), -1) FROM {EVENTS_TABLE}")


def build(cursor, index: StoredIds, devices: StoredIds | None = None) -> None:
    """Fills the index with every (Scope, TrackId) of the lake, read in one snapshot, and
    marks it ready; and `devices`, in the same pass, with every (Scope, DeviceId)
    (device_ids.py). Runs beside acknowledgements (Writer starts it on a thread of its own):
    ids acknowledged meanwhile are added to the index as always, and a duplicate check waits
    for it. At 100 million events it reads for tens of seconds (bench/NOTES.md#duplicate-check);
    a server must not make its start wait that long."""
    found: dict[str, list[np.ndarray]] = {}
    device_hashes: dict[str, list[np.ndarray]] = {}
    columns = '"Scope", "TrackId"' + (', "DeviceId"' if devices is not None else "")
    cursor.execute("BEGIN")
    try:
        reader = cursor.execute(
            f'SELECT {columns} FROM {EVENTS_TABLE}').fetch_record_batch(BUILD_BATCH_ROWS)
        for batch in reader:
            hashes = hashes_of(batch.column(1))
            rows_by_scope = by_scope(batch.column(0))
            for scope, rows in rows_by_scope.items():
                found.setdefault(scope, []).append(hashes[rows])
            if devices is not None:
                _add_devices(device_hashes, rows_by_scope, batch.column(2))
        cursor.execute("COMMIT")
    except BaseException:
        rollback(cursor)
        raise
    if devices is not None:  # first: whoever waits for the TrackIds finds the devices ready
        devices.replace(device_hashes)
    index.replace(found)


def _add_devices(found: dict[str, list[np.ndarray]], rows_by_scope: dict[str, np.ndarray],
                 devices: pa.Array) -> None:
    """The distinct device hashes of a batch, per scope; a scope's arrays are merged into one
    once there are many, so memory follows the devices, not the events. A missing DeviceId
    counts as '', which no read rules out anyway (device_ids.ScopeDevices)."""
    hashes = hashes_of(pc.fill_null(devices, "") if devices.null_count else devices)
    for scope, rows in rows_by_scope.items():
        arrays = found.setdefault(scope, [])
        arrays.append(np.unique(hashes[rows]))
        if len(arrays) >= 16:
            found[scope] = [np.unique(np.concatenate(arrays))]


LEARNED_RELATION = "learned_ids"


class OtherServers:
    """The TrackIds that servers sharing the catalog flushed, learned by this server's flushes.

    Each flush reads, in its own transaction, the rows the lake gained since the last read
    (DuckLake gives every committed row a row id above all before it) and adds their ids to the
    index. An event this server acknowledged was checked against the reads done before; each
    read is kept until every event acknowledged before it ended is flushed, and a flush drops
    its events found in the reads kept. Own flushes and rewrites are read again too (a copy of
    known ids costs a little, never an error)."""

    def __init__(self):
        self.last_row = -1
        self._reads: list[tuple[int, pa.Table]] = []

    def learn(self, cursor, index: StoredIds, last_seq: Callable[[], int]) -> pa.Table | None:
        """Reads the new rows; returns every kept read's (Scope, TrackId), or None."""
        table = cursor.execute(
            f'SELECT "Scope", "TrackId", rowid AS row_id FROM {EVENTS_TABLE} WHERE rowid > ?',
            [self.last_row]).fetch_arrow_table()
        if table.num_rows:
            index.add_rows(table.column("Scope"), table.column("TrackId"))
            self.last_row = pc.max(table.column("row_id")).as_py()
            self._reads.append((last_seq(), table.select(["Scope", "TrackId"])))
        if not self._reads:
            return None
        return pa.concat_tables([read for _, read in self._reads])

    def flushed(self, flushed_seq: int) -> None:
        """Events up to `flushed_seq` are in the lake: reads that ended before any later one
        was acknowledged are needed no more."""
        self._reads = [(seq, read) for seq, read in self._reads if seq > flushed_seq]
