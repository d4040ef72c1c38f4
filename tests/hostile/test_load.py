"""The 30-second version of the mixed-load soak (bench/mixed_load.py, issue 20): 32 clients
calling Track, TrackStream, Preview, List, Export and Delete at once against a real server.
No call answers a status the load does not explain, the server's memory stays under its bound,
and afterwards the store counts exactly the events the clients were told are stored. The
latencies it reports are figures for bench/, not asserted here."""
from __future__ import annotations

import argparse
import importlib.util
import pathlib

BENCH = pathlib.Path(__file__).resolve().parents[2] / "bench" / "mixed_load.py"


def mixed_load():
    spec = importlib.util.spec_from_file_location("mixed_load", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_thirty_seconds_of_32_mixed_clients():
    bench = mixed_load()
    figures = bench.run(argparse.Namespace(clients=32, seconds=30.0, events=20_000,
                                           max_rss_mb=bench.MAX_RSS_MIB, mix=bench.WEIGHTS))
    assert figures["unexpected_statuses"] == {}
    assert set(bench.METHODS) <= set(figures["methods"]), figures["methods"]
    assert figures["rss_within_bound"], figures["server_rss_peak_mib"]
    assert figures["events"]["server"] == figures["events"]["clients_were_told"]
    assert figures["counts_agree"]
