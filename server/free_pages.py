"""Gives the free pages of glibc's heaps and Arrow's pool back to the system.

Three allocators share the server's process: glibc's malloc (Python, numpy's index arrays,
gRPC), DuckDB's jemalloc and pyarrow's mimalloc. Each keeps the pages it was given back for its
own later use, so without this the resident set tends to the sum of each allocator's past
peak (a load's ingest buffers in glibc and mimalloc, a query's aggregate in jemalloc) rather
than the peak of what they hold at once (bench/NOTES.md#memory-given-back). DuckDB's jemalloc
purges by itself once its background threads run (lake._configure); these two are asked.
"""
from __future__ import annotations

import ctypes
import threading
import time

import pyarrow as pa


def _malloc_trim():
    try:
        function = ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None
    function.argtypes = [ctypes.c_size_t]
    return function


_MALLOC_TRIM = _malloc_trim()


class FreePages:
    """Gives free pages back at most every `interval_seconds`: a trim walks every heap, and
    pages given back are faulted in again when next used, so not after every small job."""

    def __init__(self, interval_seconds: float):
        self._interval = interval_seconds
        self._next = 0.0
        self._lock = threading.Lock()

    def give_back(self) -> bool:
        """True when this call gave pages back, False when the last did so too recently."""
        with self._lock:
            now = time.monotonic()
            if now < self._next:
                return False
            self._next = now + self._interval
        if _MALLOC_TRIM is not None:
            _MALLOC_TRIM(0)  # ctypes lets go of the GIL for the call
        pa.default_memory_pool().release_unused()
        return True
