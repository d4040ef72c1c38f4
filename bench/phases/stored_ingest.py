"""Ingest into the scope that holds the N loaded events, as a client with its own TrackIds sees
it (issue 24): TrackStreams of server-made TrackIds, random client UUIDv4s and client
UUIDv7s (as the Python client makes them, of the event's time), timed until the events are in
the lake. Client TrackIds take the duplicate check against everything the scope holds, so
these are the headline ingest figures; the times of each 100,000 events show whether the cost
grows as the stream adds to the store. The kinds take turns, round by round. Runs last: its
events join the scope the queries read."""
from __future__ import annotations

import time

import numpy as np
import pyarrow as pa

import generate
from harness import Live, Run, error_text
from phases.ingest import lake_barrier

KINDS = (("server TrackIds", None), ("client UUIDv4", 4), ("client UUIDv7", 7))
SLICE = 100_000


def measure(run: Run, live: Live) -> dict:
    """The three kinds in turn, `--stored-ingest-rounds` rounds: one stream of each is a few
    seconds, and the machine drifts by more than the 15% the target allows between them (one
    run read client UUIDv7s 5% faster than server ids, the next 16% slower). A kind's row is its
    median round; its cost is the median of its rounds' costs against the server ids' stream
    of the same round."""
    events = run.args.ingest_events
    source = generate.Config(events=events, seed=run.cfg.seed + 2000, chunk_rows=events,
                             scope=run.cfg.scope)
    table = generate.make_chunk(source, 0, generate.event_times(source))
    rounds: dict[str, list[dict]] = {name: [] for name, _ in KINDS}
    for round_number in range(run.args.stored_ingest_rounds):
        for number, (name, version) in enumerate(KINDS):
            run.log(f"ingest at N stored: {name}, round {round_number + 1} ...")
            entry = {"name": name, "events": events, "stored_before": _scope_events(run, live)}
            try:
                salt = number + len(KINDS) * round_number  # fresh client ids every stream
                entry.update(_stream(run, live, _with_ids(table, version, salt),
                                     version is not None))
                run.log(f"ingest at N stored: {name}: {entry['events_per_s']:,.0f} events/s")
            except Exception as error:  # noqa: BLE001 - recorded, the run goes on
                entry["error"] = error_text(error)
                run.log(f"ingest at N stored: {name}: ERROR {entry['error']}")
            rounds[name].append(entry)
    return {"stored_ingest": _rows(rounds)}


def _rows(rounds: dict[str, list[dict]]) -> list[dict]:
    server_rounds = rounds[KINDS[0][0]]
    rows = []
    for name, _ in KINDS:
        done = [r for r in rounds[name] if "events_per_s" in r]
        if not done:
            rows.append(rounds[name][0])
            continue
        row = dict(sorted(done, key=lambda r: r["events_per_s"])[(len(done) - 1) // 2])
        row["stored_before"] = rounds[name][0]["stored_before"]
        row["round_events_per_s"] = [r.get("events_per_s") for r in rounds[name]]
        if name != KINDS[0][0]:
            costs = [1 - mine["events_per_s"] / theirs["events_per_s"]
                     for mine, theirs in zip(rounds[name], server_rounds)
                     if "events_per_s" in mine and "events_per_s" in theirs]
            if costs:
                row["round_costs"] = costs
                row["cost_vs_server_ids"] = float(np.median(costs))
        rows.append(row)
    return rows


def _with_ids(table: pa.Table, version: int | None, salt: int) -> pa.Table:
    """The events with fresh TrackIds of `version` (None: none, the server makes them)."""
    if version is None:
        return table
    rng = np.random.default_rng(1000 + salt)
    high = rng.integers(0, 2**63, table.num_rows, dtype=np.uint64)
    low = rng.integers(0, 2**63, table.num_rows, dtype=np.uint64)
    if version == 7:  # 48 bits of milliseconds of the event's time first
        millis = table.column("EventTime").cast(pa.int64()).to_numpy() // 1000
        high = (millis.astype(np.uint64) << np.uint64(16)) | (high & np.uint64(0xFFFF))
    ids = generate.uuid_strings(high, low, version)
    return table.set_column(table.schema.get_field_index("TrackId"), "TrackId", ids)


def _stream(run: Run, live: Live, table: pa.Table, with_ids: bool) -> dict:
    """One stream, the acknowledgement time of each SLICE events, then the wait for the lake."""
    requests = generate.encode_requests(table, 1000, run.cfg.scope,
                                        with_track_ids=with_ids)
    per_slice = SLICE // 1000
    marks = []
    started = time.perf_counter()

    def paced():
        for index, request in enumerate(requests):
            if index % per_slice == 0:
                marks.append(time.perf_counter())
            yield request

    response = live.rpc.track_stream(paced(), timeout=3600)
    acknowledged = time.perf_counter() - started
    barrier = lake_barrier(live.rpc, run.cfg.scope)
    marks.append(started + acknowledged)
    if len(response.track_ids) != table.num_rows:
        raise RuntimeError(f"{len(response.track_ids)} ids for {table.num_rows} events")
    seconds = acknowledged + barrier
    return {"seconds": seconds, "lake_wait_seconds": barrier,
            "events_per_s": table.num_rows / seconds,
            "acknowledged_per_s": table.num_rows / acknowledged,
            "slice_seconds": [b - a for a, b in zip(marks, marks[1:])]}


def _scope_events(run: Run, live: Live) -> int:
    from trackstore.v1 import trackevents_pb2 as pb

    response = live.rpc.preview(pb.PreviewRequest(scope=run.cfg.scope, query="Events | count"),
                                timeout=600)
    return int(response.items[0].fields["Count"].number_value)
