"""Two servers sharing a PostgreSQL catalog, both with their schedulers on: each due run is run
by one of them (its lease), and the other's paged export cursor works on either server."""
from __future__ import annotations

import time

from trackstore.v1 import export_pb2 as pb
from export_support import Calls
from helpers import event


def test_two_schedulers_run_a_due_export_once(start_server, postgres, tmp_path):
    shared = ["--catalog", postgres, "--data-path", str(tmp_path / "lake"),
              "--flush-seconds", "0.2", "--export-safety-lag-seconds", "0",
              "--export-poll-seconds", "0.2", "--export-local-root", str(tmp_path / "exports"),
              "--secrets-key-file", str(tmp_path / "secrets.key")]
    servers = [start_server(*shared, data_dir=tmp_path / name) for name in ("one", "two")]
    calls = [Calls(server) for server in servers]
    with servers[0].client() as client:
        ids = client.track("default", [event(i) for i in range(40)])
    first, cursor = calls[0].page(page_size=25)
    rest, _ = calls[1].page(page_size=25, cursor=cursor)  # the other server reads the snapshot
    assert len(first + rest) == 40
    calls[1].create(name="once", schedule=pb.EXPORT_SCHEDULE_ONCE, start_at=1577836800000,
                    format=pb.EXPORT_FORMAT_PARQUET,
                    destination=pb.ExportDestination(local=pb.LocalDirectory(path="shared")))
    deadline = time.monotonic() + 30
    runs = []
    while time.monotonic() < deadline and not runs:
        runs = calls[0](calls[0].exports.ListExportRuns, pb.ListExportRunsRequest(name="once")).runs
        runs = [run for run in runs if run.state == pb.EXPORT_RUN_STATE_SUCCEEDED]
        time.sleep(0.2)
    time.sleep(1.5)  # both schedulers look several times more
    runs = calls[1](calls[1].exports.ListExportRuns, pb.ListExportRunsRequest(name="once")).runs
    assert [(run.state, run.rows) for run in runs] == [(pb.EXPORT_RUN_STATE_SUCCEEDED, 40)]
    assert len(list((tmp_path / "exports" / "shared").iterdir())) == 1
    assert sorted(item["TrackId"] for item in first + rest) == sorted(ids)
