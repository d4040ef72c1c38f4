"""A fixed mmap threshold for glibc's malloc in the server process.

glibc serves a block above its mmap threshold with a mapping of its own, returned to the system
when freed, and anything smaller from its heaps. The threshold starts at 128 KiB, and each time
a mapped block is freed glibc raises it to that block's size (up to 32 MiB), so that later
blocks of that size come from the heaps. For a long-running store that is the wrong guess: the
TrackId index's sorted parts and tables (server/stored_ids.py) are replaced by larger ones as
the store grows, and each old one freed inside a heap leaves a hole that later, larger blocks
do not fit. In a 30M-event load the heaps ended holding 968 MB, 573 of them free
(bench/NOTES.md#memory-at-100m).

A fixed threshold keeps blocks above it mapped. Loads of 30M events, one each (bench/NOTES.md):
glibc's rule 968 MB of heaps at the end (573 free), peak RSS 2,169 MB; 256 KiB 508 MB (155
free), 1,884 MB, and no slower (288 s against 300); 1 MiB 719 MB (251 free), 1,992 MB.
"""
from __future__ import annotations

import ctypes
import logging

log = logging.getLogger(__name__)

M_MMAP_THRESHOLD = -3  # mallopt's parameter number, from glibc's malloc.h
MMAP_THRESHOLD_BYTES = 256 << 10


def fix_mmap_threshold(size: int = MMAP_THRESHOLD_BYTES) -> bool:
    """Sets glibc's mmap threshold to `size` bytes, which also stops its raising; False where
    the C library is not glibc."""
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    if mallopt(M_MMAP_THRESHOLD, size) != 1:
        log.warning("could not set glibc's mmap threshold")
        return False
    return True
