"""Memory given back to the system (server/free_pages.py, lake._configure): the resident set
falls once freed memory is given back, in glibc's heaps and in DuckDB's jemalloc."""
from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc and /proc")

RESIDENT = textwrap.dedent("""
    import os
    def resident_mib():
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") >> 20
""")

GLIBC_PROBE = RESIDENT + textwrap.dedent("""
    import ctypes, sys
    from trackstore_server.free_pages import FreePages
    libc = ctypes.CDLL("libc.so.6")
    libc.malloc.restype = ctypes.c_void_p
    libc.malloc.argtypes = [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    libc.memset.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t]
    blocks = [libc.malloc(4096) for _ in range(64 * 1024)]  # 256 MiB in small blocks
    for block in blocks:
        libc.memset(block, 1, 4096)
    for block in blocks[:-1]:  # the last one pins the heap's top: no trim at free
        libc.free(block)
    before = resident_mib()
    pages = FreePages(interval_seconds=3600)
    first, second = pages.give_back(), pages.give_back()
    print(before, resident_mib(), first, second)
""")

JEMALLOC_PROBE = RESIDENT + textwrap.dedent("""
    import sys, tempfile, time
    from trackstore_server.config import Settings
    from trackstore_server.store import open_store
    conn = open_store(Settings(data_dir=tempfile.mkdtemp(), memory_limit="1GB", threads=2))
    conn.execute("SET enable_progress_bar = false")  # a slow machine's run printed one
    conn.execute("SELECT count(*) FROM (SELECT DISTINCT r * 7919 % 20000000 "
                 "FROM range(20000000) t(r))").fetchall()
    peak = resident_mib()
    deadline = time.monotonic() + 20
    while resident_mib() > peak - 200 and time.monotonic() < deadline:
        time.sleep(0.2)
    print(peak, resident_mib())
""")


def run(probe: str) -> list[str]:
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True, timeout=120)
    return done.stdout.split()


@linux_only
def test_glibc_free_pages_go_back_and_not_more_often_than_asked():
    before, after, first, second = run(GLIBC_PROBE)
    assert int(before) - int(after) >= 200, (before, after)
    assert (first, second) == ("True", "False")


@linux_only
def test_the_lake_gives_back_what_a_finished_query_freed():
    # Without jemalloc's background threads the distinct's 400-500 MiB stayed resident.
    peak, after = map(int, run(JEMALLOC_PROBE))
    assert peak >= 300 and peak - after >= 200, (peak, after)
