"""The server's fixed mmap threshold (server/glibc_heap.py): after a large block is freed, the
next large block is still mapped (glibc's own rule would serve it from a heap)."""
from __future__ import annotations

import subprocess
import sys

import pytest

PROBE = """
import ctypes, sys
from trackstore_server import glibc_heap
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]

class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]

libc.mallinfo2.restype = MallInfo2
if sys.argv[1] == "fixed":
    assert glibc_heap.fix_mmap_threshold()
libc.free(libc.malloc(16 << 20))  # a large block freed: glibc's rule raises the threshold
mapped = libc.mallinfo2().hblkhd
block = libc.malloc(4 << 20)
print("mapped" if libc.mallinfo2().hblkhd - mapped >= 4 << 20 else "heap")
small = libc.malloc(64 << 10)
print("mapped" if libc.mallinfo2().hblkhd - mapped >= (4 << 20) + (64 << 10) else "heap")
"""


def probe(mode: str) -> list[str]:
    done = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True,
                          check=True)
    return done.stdout.split()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc")
def test_a_large_block_stays_mapped_after_a_larger_one_was_freed():
    assert probe("glibc") == ["heap", "heap"]  # glibc's own rule, which the server changes
    assert probe("fixed") == ["mapped", "heap"]  # small blocks stay on the heaps
