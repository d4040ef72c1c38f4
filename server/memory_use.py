"""Where the server's memory is, for GetStoreStats: the resident set beside what holds it.

DuckDB's buffers are bounded by --memory-limit; the rest of the process is not, and at 100
million events the resident set stood a gigabyte or two above that limit (bench/NOTES.md). An
operator who sees the whole split (DuckDB, the TrackId and DeviceId indexes, malloc's heaps in
use and free, Arrow's buffers) knows which setting or which part to look at, without a profiler.
"""
from __future__ import annotations

import ctypes
import os

import duckdb
import pyarrow as pa


class _MallInfo2(ctypes.Structure):
    # glibc's struct mallinfo2 (malloc.h, glibc 2.33 and later), every field a size_t
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]


def _mallinfo2():
    try:
        function = ctypes.CDLL("libc.so.6").mallinfo2
    except (OSError, AttributeError):  # not glibc, or one older than 2.33
        return None
    function.restype = _MallInfo2
    return function


_MALLINFO2 = _mallinfo2()


def malloc_bytes() -> tuple[int, int]:
    """(bytes malloc has handed out and not had back, bytes free inside its heaps); (0, 0) where
    the C library cannot tell. In use counts the blocks it mapped on their own (hblkhd)."""
    if _MALLINFO2 is None:
        return 0, 0
    info = _MALLINFO2()
    return info.uordblks + info.hblkhd, info.fordblks


def resident_bytes() -> int:
    """The process's resident set (0 where /proc is not there)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def duckdb_bytes(cursor: duckdb.DuckDBPyConnection) -> tuple[int, int]:
    """(bytes of DuckDB's buffers in memory, bytes it spilled to its temporary directory)."""
    # fetchall, not fetchone: an open result keeps the cursor's transaction open (lake.scalar)
    [(in_memory, spilled)] = cursor.execute(
        "SELECT sum(memory_usage_bytes), sum(temporary_storage_bytes) FROM duckdb_memory()"
    ).fetchall()
    return int(in_memory or 0), int(spilled or 0)


def snapshot(cursor: duckdb.DuckDBPyConnection, track_id_index_bytes: int,
             device_id_index_bytes: int) -> dict:
    """The fields of GetStoreStatsResponse.memory."""
    duckdb_in_memory, duckdb_spilled = duckdb_bytes(cursor)
    in_use, free = malloc_bytes()
    return {
        "resident_bytes": resident_bytes(),
        "duckdb_bytes": duckdb_in_memory,
        "duckdb_spilled_bytes": duckdb_spilled,
        "track_id_index_bytes": track_id_index_bytes,
        "device_id_index_bytes": device_id_index_bytes,
        "malloc_in_use_bytes": in_use,
        "malloc_free_bytes": free,
        "arrow_bytes": pa.total_allocated_bytes(),
    }
