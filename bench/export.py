"""Export throughput: a scheduled export run of N events to local Parquet (zstd), through the
real server, and the cost of cursor pages early and late in a paged export.

    python bench/export.py --events 1000000 [--data-dir DIR] [--format parquet --compression zstd]

The events (bench/generate.py's rows) are written into a new store directly, in commits of
`--chunk-rows`, then a server is started on it; the figure is rows / (the run's end - its start)
as the run records them, which covers the flush, the snapshot read and the file written, and
the CPU seconds the server spent on it (on a shared machine, the steadier figure). The target is
500,000 events/s at 10 million events (issue 26).
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import sys
import tempfile
import time

import grpc
import psutil

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import generate  # noqa: E402
from trackstore.v1 import export_pb2 as pb  # noqa: E402
from trackstore.v1 import export_pb2_grpc as pb_grpc  # noqa: E402
from trackstore_client.local import LocalServer  # noqa: E402
from trackstore_server.config import Settings  # noqa: E402
from trackstore_server.lake import EVENTS_TABLE  # noqa: E402
from trackstore_server.store import open_store  # noqa: E402

FORMATS = {"csv": pb.EXPORT_FORMAT_CSV, "tsv": pb.EXPORT_FORMAT_TSV,
           "ndjson": pb.EXPORT_FORMAT_NDJSON, "parquet": pb.EXPORT_FORMAT_PARQUET}
COMPRESSIONS = {"none": pb.EXPORT_COMPRESSION_NONE, "gzip": pb.EXPORT_COMPRESSION_GZIP,
                "zstd": pb.EXPORT_COMPRESSION_ZSTD, "lz4": pb.EXPORT_COMPRESSION_LZ4}


def load(data_dir: pathlib.Path, cfg: generate.Config) -> float:
    """Seconds to write the generated events into a new store at `data_dir`."""
    started = time.perf_counter()
    conn = open_store(Settings(data_dir=str(data_dir)))
    try:
        for table in generate.chunks(cfg):
            conn.register("chunk", table)
            conn.execute(f"INSERT INTO {EVENTS_TABLE} BY NAME SELECT * FROM chunk")
            conn.unregister("chunk")
    finally:
        conn.close()
    return time.perf_counter() - started


def wait_until_idle(server_pid: int, limit_seconds: float = 300.0) -> float:
    """Seconds until the new server's start-up work (the index of stored TrackIds, read from
    the whole store on a thread of its own) is done: a second with under a tenth of a core.
    The run's figure is the export's, not the start's."""
    process = psutil.Process(server_pid)
    began = time.perf_counter()
    while time.perf_counter() - began < limit_seconds:
        if process.cpu_percent(interval=1.0) < 10.0:
            break
    return round(time.perf_counter() - began, 1)


def run_export(stub, cfg: generate.Config, file_format: str, compression: str,
               server_pid: int) -> dict:
    configuration = pb.ExportConfiguration(
        scope=cfg.scope, name="bench", schedule=pb.EXPORT_SCHEDULE_ONCE,
        start_at=int(cfg.start.timestamp() * 1000) - 1, format=FORMATS[file_format],
        compression=COMPRESSIONS[compression],
        destination=pb.ExportDestination(local=pb.LocalDirectory(path="bench")))
    stub.CreateExportConfiguration(pb.CreateExportConfigurationRequest(
        configuration=configuration))
    process = psutil.Process(server_pid)
    cpu_before = sum(process.cpu_times()[:2])
    began = time.perf_counter()
    run = stub.RunExportConfiguration(pb.RunExportConfigurationRequest(
        scope=cfg.scope, name="bench"), timeout=3600).run
    wall = time.perf_counter() - began
    cpu = sum(process.cpu_times()[:2]) - cpu_before
    if run.state != pb.EXPORT_RUN_STATE_SUCCEEDED:
        raise RuntimeError(f"the run failed: {run.error}")
    seconds = (run.end_time - run.start_time) / 1000
    return {"format": file_format, "compression": compression, "rows": run.rows,
            "bytes": run.bytes, "run_seconds": seconds, "rpc_seconds": round(wall, 3),
            # On a shared machine the wall time says little; the CPU the server spent does.
            "server_cpu_seconds": round(cpu, 2), "load_average": os.getloadavg()[0],
            "events_per_s": round(run.rows / seconds) if seconds else None}


def page_costs(stub, scope: str, pages: int) -> dict:
    """Milliseconds of the first page (which holds the snapshot), and the mean of the first and
    the last ten of `pages` pages of 1000."""
    times, cursor = [], ""
    for _ in range(pages):
        began = time.perf_counter()
        answer = stub.Export(pb.ExportRequest(scope=scope, page_size=1000, cursor=cursor))
        times.append((time.perf_counter() - began) * 1000)
        cursor = answer.next_cursor
        if not cursor:
            break
    return {"pages": len(times), "first_page_ms": round(times[0], 1),
            "pages_2_to_11_ms": round(sum(times[1:11]) / max(1, len(times[1:11])), 1),
            "last_10_pages_ms": round(sum(times[-10:]) / max(1, len(times[-10:])), 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--format", choices=FORMATS, default="parquet")
    parser.add_argument("--compression", choices=COMPRESSIONS, default="zstd")
    parser.add_argument("--pages", type=int, default=200, help="pages of 1000 to time")
    parser.add_argument("--data-dir", type=pathlib.Path, default=None)
    args = parser.parse_args(argv)
    root = args.data_dir or pathlib.Path(tempfile.mkdtemp(prefix="trackstore-export-bench-"))
    cfg = generate.Config(events=args.events)
    result = {"events": args.events, "load_seconds": round(load(root / "data", cfg), 1)}
    with LocalServer(root / "data", "--export-poll-seconds", "0",
                     "--export-safety-lag-seconds", "0",
                     "--export-local-root", str(root / "exports")) as server:
        with grpc.insecure_channel(server.target) as channel:
            stub = pb_grpc.ExportServiceStub(channel)
            result["settle_seconds"] = wait_until_idle(server.process.pid)
            result["run"] = run_export(stub, cfg, args.format, args.compression,
                                       server.process.pid)
            result["paging"] = page_costs(stub, cfg.scope, args.pages)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
