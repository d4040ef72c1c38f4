"""How a segment lookup fares on memory it has not read for a few seconds (issue 22's p99;
bench/NOTES.md#isinsegment-in-c).

    .venv/bin/python bench/cold_pages.py --rounds 2 --idle 15

Builds 20 segments of `--devices` random hashes, then, round by round after `--idle` seconds
of sleep, looks up 20,000 DeviceIds none of them holds (one segment a lookup, in turn) two
ways: `_wire.held` on the server's layout (rows of (upper, lower) and a fence of every 256th
upper) and a plain binary search of a separate `upper` array (numpy's searchsorted), the layout
before it. Prints each way's percentiles and how many lookups took over 50 µs.
"""
from __future__ import annotations

import argparse
import hashlib
import pathlib
import struct
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "clients" / "python"))

import numpy as np  # noqa: E402

from trackstore_server._wire import held  # noqa: E402
from trackstore_server.segments.membership import Members  # noqa: E402

LOOKUPS = 20_000
SLOW_SECONDS = 50e-6


def segments(count: int, devices: int, rng) -> list[tuple[Members, np.ndarray, np.ndarray]]:
    """(the server's Members, and the same hashes as the separate arrays of the old layout)."""
    made = []
    for _ in range(count):
        upper = np.sort(rng.integers(0, 2**63, devices, dtype=np.uint64))
        lower = rng.integers(0, 2**63, devices, dtype=np.uint64)
        made.append((Members.of(1, upper, lower), upper, lower))
    return made


def fenced(device: str, segment) -> bool:
    return held(device, [segment[0]])[0]


def plain(device: str, segment) -> bool:
    _, upper, lower = segment
    low, up = struct.unpack("<QQ", hashlib.md5(device.encode()).digest())
    index = int(upper.searchsorted(np.uint64(up)))
    return index < len(upper) and upper[index] == up and lower[index] == low


def timed(lookup, devices: list[str], made) -> list[float]:
    seconds = []
    for i, device in enumerate(devices):
        began = time.perf_counter()
        lookup(device, made[i % len(made)])
        seconds.append(time.perf_counter() - began)
    return sorted(seconds)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segments", type=int, default=20)
    parser.add_argument("--devices", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--idle", type=float, default=15.0, help="seconds asleep before a way")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(1)
    made = segments(args.segments, args.devices, rng)
    devices = [f"stranger-{i}" for i in rng.integers(0, 10**12, LOOKUPS)]
    if any(fenced(d, s) or plain(d, s) for d in devices[:100] for s in made):
        raise SystemExit("a stranger was found: the two ways disagree with the data")
    for _ in range(args.rounds):
        for name, lookup in (("rows and fence", fenced), ("plain search", plain)):
            time.sleep(args.idle)
            s = timed(lookup, devices, made)
            p50, p97, p99 = (s[int(len(s) * q)] * 1e6 for q in (0.5, 0.97, 0.99))
            slow = sum(1 for x in s if x > SLOW_SECONDS)
            print(f"{name:>15}: p50 {p50:.1f} µs, p97 {p97:.1f}, p99 {p99:.1f}; "
                  f"{slow} of {len(s)} over 50 µs", flush=True)


if __name__ == "__main__":
    main()
