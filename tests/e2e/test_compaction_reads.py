"""Compaction beside running reads: a file a running query's snapshot lists stays on disk until
no read can use it any more (the query time limit and a margin), and leaves it then."""
from __future__ import annotations

import threading
import time

from helpers import event, parquet_files
from trackstore_server.compaction import SNAPSHOT_MARGIN_SECONDS

QUERY_LIMIT_SECONDS = 10.0  # the query takes 2 s on a quiet machine, 6 under a load of 20
BLOB = "lorem ipsum dolor sit amet " * 300


def test_a_query_running_while_compaction_merges_and_cleans_up_answers(start_server, tmp_path):
    # One DuckDB thread reads the files one after another; a flush every 1000 events makes
    # many small files for compaction to merge (three months: three partitions).
    server = start_server("--commit-max-rows", "1000", "--threads", "1", "--promote-keys",
                          "false", "--preview-timeout-seconds", str(QUERY_LIMIT_SECONDS))
    client = server.client()
    for f in range(40):
        client.track("default", [event(i, EventTime=f"2021-0{1 + f % 3}-0{1 + f % 9}T00:00:00Z",
                                       Payload={"text": BLOB, "tags": [
                                           "summer" if i % 7 == 0 else "winter"]})
                                 for i in range(1000)])
    deadline = time.monotonic() + 30
    while client.stats()["data_files"] < 30 and time.monotonic() < deadline:
        time.sleep(0.1)
    answer, finished = {}, {}

    def long_query():
        # Each `has` tokenizes the whole Payload text: two make the query outlast the compaction.
        answer["rows"] = client.preview(
            "default", "Events | where Payload has 'summer' or Payload has 'autumn' | count")
        finished["query"] = time.monotonic()

    reader = threading.Thread(target=long_query)
    reader.start()
    time.sleep(0.2)
    client.compact()  # merges the small files while the query reads them
    finished["compaction"] = time.monotonic()
    reader.join()
    assert answer["rows"]["items"] == [{"Count": 40 * 143}]
    assert finished["compaction"] < finished["query"], "the query ended before the cleanup"
    # Once no read can use them, the next compaction removes the merged files from disk.
    merged = len(parquet_files(tmp_path / "data"))
    time.sleep(QUERY_LIMIT_SECONDS + SNAPSHOT_MARGIN_SECONDS + 0.5)
    client.compact()
    assert len(parquet_files(tmp_path / "data")) < merged - 30
