"""Would grpc.aio serve IsInSegment closer to the no-op ceiling? (issue 22, bench/NOTES.md#segments)

    .venv/bin/python bench/aio_probe.py --rounds 3 --seconds 5

Four servers in turn, round by round, each answering IsInSegment-shaped calls from 8 client
threads (a channel each, raw bytes): the sync server with our thread pool (`grpc_server`) and a
grpc.aio server, each once with a constant answer and once with a handler doing what the real
one does for one segment but none of our layers (no interceptor, no `rpc()` wrapper): parse the
request, check an API key in the metadata, hash the DeviceId (MD5, as `membership.py` did before
its lookup moved to C), look it
up in one of 20 sorted arrays of 20,000 hashes, serialize the answer, write a log line. Prints
calls/s and server CPU a call, and the medians as shares of the sync constant answer.
"""
from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import pathlib
import statistics
import struct
import subprocess
import sys
import threading
import time

BENCH_DIR = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR.parent / "clients" / "python"))

import grpc  # noqa: E402
import numpy as np  # noqa: E402

from trackstore.v1 import segments_pb2 as spb  # noqa: E402
from trackstore_server.api.app import grpc_server  # noqa: E402

SERVICE, METHOD = "trackstore.v1.SegmentService", "IsInSegment"
MODES = ("sync-constant", "sync-lookup", "aio-constant", "aio-lookup")
CONSTANT = spb.IsInSegmentResponse(in_segment=[True]).SerializeToString()
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _segments() -> dict[str, np.ndarray]:
    return {f"seg-{i:02d}": np.sort(np.frombuffer(np.random.default_rng(i).bytes(8 * 20_000),
                                                  np.uint64)) for i in range(20)}


def device_hash(device_id: str) -> tuple[np.uint64, np.uint64]:
    """The upper and lower halves of the DeviceId's MD5 read as a little-endian 128-bit number:
    the Python lookup this probe measured (before `_wire.held`)."""
    lower, upper = struct.unpack("<QQ", hashlib.md5(device_id.encode()).digest())
    return np.uint64(upper), np.uint64(lower)


def _lookup_handler():
    segments, log = _segments(), open(os.devnull, "w")

    def answer(data: bytes, metadata) -> bytes:
        request = spb.IsInSegmentRequest.FromString(data)
        if dict(metadata).get("x-api-key") != "probe":
            raise PermissionError("no key")
        upper, _ = device_hash(request.device_id)
        answers = []
        for name in request.segments:
            members = segments[name]
            index = int(members.searchsorted(upper))
            answers.append(index < len(members) and members[index] == upper)
        log.write(f"IsInSegment OK {request.scope} 0.01 ms\n")
        return spb.IsInSegmentResponse(in_segment=answers).SerializeToString()

    return answer


def _generic(function):
    return grpc.method_handlers_generic_handler(
        SERVICE, {METHOD: grpc.unary_unary_rpc_method_handler(function)})


def serve(mode: str) -> None:
    answer = _lookup_handler()
    if mode.startswith("sync"):
        server = grpc_server()
        server.add_generic_rpc_handlers((_generic(
            (lambda data, context: CONSTANT) if mode == "sync-constant"
            else (lambda data, context: answer(data, context.invocation_metadata()))),))
        print(server.add_insecure_port("127.0.0.1:0"), flush=True)
        server.start()
        server.wait_for_termination()
        return

    async def constant(data, context):
        return CONSTANT

    async def looked_up(data, context):
        return answer(data, context.invocation_metadata())

    async def main():
        server = grpc.aio.server()
        server.add_generic_rpc_handlers((_generic(
            constant if mode == "aio-constant" else looked_up),))
        print(server.add_insecure_port("127.0.0.1:0"), flush=True)
        await server.start()
        await server.wait_for_termination()

    asyncio.run(main())


def _cpu_seconds(pid: int) -> float:
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


def measure(mode: str, seconds: float, threads: int) -> tuple[float, float]:
    """(calls/s, server CPU µs a call) of one round against a fresh server."""
    server = subprocess.Popen([sys.executable, __file__, "--serve", mode], stdout=subprocess.PIPE)
    try:
        port = int(server.stdout.readline())
        request = spb.IsInSegmentRequest(scope="default", device_id="device-123",
                                         segments=["seg-07"]).SerializeToString()
        counts, warm = [0] * threads, time.monotonic() + 1.0
        until = warm + seconds

        def client(slot: int) -> None:
            with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
                call = channel.unary_unary(f"/{SERVICE}/{METHOD}")
                answer = call(request, metadata=(("x-api-key", "probe"),), timeout=10)
                if len(spb.IsInSegmentResponse.FromString(answer).in_segment) != 1:
                    raise RuntimeError(f"{mode} answered {answer!r}")
                while time.monotonic() < until:
                    call(request, metadata=(("x-api-key", "probe"),), timeout=10)
                    counts[slot] += time.monotonic() >= warm

        workers = [threading.Thread(target=client, args=(i,)) for i in range(threads)]
        for worker in workers:
            worker.start()
        time.sleep(max(0.0, warm - time.monotonic()))
        cpu_before = _cpu_seconds(server.pid)
        for worker in workers:
            worker.join()
        cpu = _cpu_seconds(server.pid) - cpu_before
    finally:
        server.kill()
        server.wait()
    calls = sum(counts)
    return calls / seconds, cpu / max(calls, 1) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--serve", choices=MODES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    results: dict[str, list[tuple[float, float]]] = {mode: [] for mode in MODES}
    for round_number in range(1, args.rounds + 1):
        for mode in MODES:
            rate, cpu = measure(mode, args.seconds, args.threads)
            results[mode].append((rate, cpu))
            print(f"round {round_number} {mode}: {rate:,.0f} calls/s, {cpu:.0f} µs server CPU "
                  "a call", flush=True)
    ceiling = statistics.median(rate for rate, _ in results["sync-constant"])
    for mode, figures in results.items():
        rate = statistics.median(r for r, _ in figures)
        cpu = statistics.median(c for _, c in figures)
        print(f"median {mode}: {rate:,.0f} calls/s, {rate / ceiling:.0%} of sync-constant, "
              f"{cpu:.0f} µs server CPU a call")


if __name__ == "__main__":
    main()
