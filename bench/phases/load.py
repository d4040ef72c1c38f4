"""Load: the N events into the scope "bench" through TrackStream, and the same rows to the plain
Parquet file that raw DuckDB reads."""
from __future__ import annotations

import time
import traceback

import duckdb
import pyarrow as pa

import generate
from harness import Live, Run, disk_bytes, error_text, stream_events


def measure(run: Run, live: Live) -> dict:
    """{"load": figures, "track_ids": an even sample of the stored events' TrackIds, twice as
    many as the delete phase deletes}."""
    run.log(f"load: {run.cfg.events:,} events ...")
    try:
        figures = _load(run, live, keep_ids=run.args.compaction_deletes * 2)
    except Exception as error:  # noqa: BLE001 - recorded, the run goes on
        run.log(f"load: ERROR {traceback.format_exc()}")
        return {"load": {"error": error_text(error)}, "track_ids": []}
    track_ids = figures.pop("track_ids")
    run.log(f"load: {figures['events_per_s']:,.0f} events/s")
    return {"load": figures, "track_ids": track_ids}


def store_after(run: Run, live: Live) -> dict:
    """The server's store statistics once the load settled, with the data directory's size."""
    try:
        return {"store_after_load": {**live.rpc.stats(),
                                     "data_dir_bytes": disk_bytes(run.data_dir)}}
    except Exception as error:  # noqa: BLE001 - recorded, the run goes on
        return {"store_after_load": {"error": error_text(error)}}


def _load(run: Run, live: Live, keep_ids: int) -> dict:
    """Streams the N events (JSON text, server-assigned TrackIds) chunk by chunk, one stream per
    chunk, keeping the chunks in an Arrow stream file that becomes the Parquet file after."""
    cfg = run.cfg
    times = generate.event_times(cfg)
    ipc_path = run.parquet_path.with_suffix(".arrows")
    step = max(1, cfg.events // max(1, keep_ids))
    kept: list[str] = []
    send_seconds = generate_seconds = 0.0
    started = time.perf_counter()
    # Compressed: at 100M events the uncompressed stream would take about 60 GB of disk.
    options = pa.ipc.IpcWriteOptions(compression="zstd")
    with pa.OSFile(str(ipc_path), "wb") as sink, \
            pa.ipc.new_stream(sink, generate.ARROW_SCHEMA, options=options) as writer:
        for index, begin in enumerate(range(0, cfg.events, cfg.chunk_rows)):
            began = time.perf_counter()
            table = generate.make_chunk(cfg, index, times[begin:begin + cfg.chunk_rows])
            requests = generate.encode_requests(table, 1000, cfg.scope)
            writer.write_table(table)
            generate_seconds += time.perf_counter() - began
            seconds, ids = stream_events(live.rpc, requests)
            send_seconds += seconds
            if len(ids) != table.num_rows:
                raise RuntimeError(f"stored {len(ids)} of {table.num_rows} events")
            kept.extend(ids[(-begin) % step::step])
            if index % 10 == 9:
                run.log(f"load: {begin + table.num_rows:,} events, "
                        f"{(begin + table.num_rows) / send_seconds:,.0f} events/s")
    parquet_seconds = _to_parquet(ipc_path, run.parquet_path)
    return {
        "events": cfg.events, "send_seconds": send_seconds,
        "events_per_s": cfg.events / send_seconds if send_seconds else None,
        "generate_seconds": generate_seconds,
        "parquet_seconds": parquet_seconds,
        "parquet_bytes": run.parquet_path.stat().st_size,
        "wall_seconds": time.perf_counter() - started,
        "track_ids": kept,
    }


def _to_parquet(ipc_path, parquet_path) -> float:
    """Seconds to write the Arrow stream file as the Parquet file (then removed)."""
    began = time.perf_counter()
    conn = duckdb.connect()
    try:
        with pa.memory_map(str(ipc_path)) as source:
            conn.register("generated", pa.ipc.open_stream(source))
            generate.copy_to_parquet(conn, "generated", parquet_path)
    finally:
        conn.close()
        ipc_path.unlink(missing_ok=True)
    return time.perf_counter() - began
