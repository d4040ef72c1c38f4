"""The scale-out setup: a PostgreSQL catalog and S3-compatible object storage shared by two
servers. PostgreSQL is the machine's own server binaries, started privately for the test; S3 is
moto's server (an S3-compatible endpoint on loopback)."""
from __future__ import annotations

import glob
import time

import grpc
import pytest

from trackstore_client import TrackstoreError
from helpers import event


def _eventually(client, query: str, count: int) -> list:
    """The items of a count query on "shop" once they read `count`, or after 15 s: what the
    other server flushed reaches this one's reads within its flush interval."""
    deadline = time.monotonic() + 15
    while (items := client.preview("shop", query)["items"]) != [{"Count": count}] \
            and time.monotonic() < deadline:
        time.sleep(0.1)
    return items


def test_two_servers_share_one_store(start_server, postgres, s3, tmp_path):
    shared = [
        "--catalog", postgres,
        "--data-path", "s3://events-lake/trackstore/",
        "--s3-endpoint", s3, "--s3-use-ssl", "false",
        "--s3-key-id", "test", "--s3-secret", "test", "--flush-seconds", "0.2",
    ]
    first = start_server(*shared, data_dir=tmp_path / "one")
    second = start_server(*shared, data_dir=tmp_path / "two")
    with first.client() as a, second.client() as b:
        small = a.track("shop", [event(i) for i in range(10)])
        large = a.track("shop", [event(i) for i in range(10, 2010)])
        # The first server sees its events at once; the other once they are flushed from the
        # first one's write-ahead log into the shared lake (--flush-seconds, default 1 s).
        assert a.stats()["events"] == 2010
        deadline = time.monotonic() + 15
        while b.stats()["events"] < 2010 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert b.stats()["events"] == 2010
        b.delete("shop", small[0])
        with pytest.raises(TrackstoreError) as gone:
            a.delete("shop", small[0])
        assert gone.value.code == grpc.StatusCode.NOT_FOUND
        assert a.stats()["pending_deletions"] == 1
        assert a.compact()["applied_deletions"] == 1
        after = b.stats()
        assert (after["events"], after["pending_deletions"]) == (2009, 0)
        assert large[-1] not in small
        # The first server promoted Payload.price; the second learns it from the catalog when
        # it flushes, so the typed column holds its events' prices too.
        assert "Payload.price:real" in a.stats()["promoted_keys"]
        b.track("shop", [event(i, Payload={"price": 99_999.0 + i}) for i in range(5)])
        query = "Events | where Payload.price > 99990 | count"
        assert _eventually(a, query, 5) == [{"Count": 5}]
        assert b.preview("shop", query)["items"] == [{"Count": 5}]
        # An event type new to the store, tracked on the second server: the first has read
        # the known values of the scope already (no 'refund' there), and must notice the change.
        refunds = "Events | where EventType == 'refund' | count"
        assert a.preview("shop", refunds)["items"] == [{"Count": 0}]
        b.track("shop", [event(i, EventType="refund") for i in range(3)])
        assert _eventually(a, refunds, 3) == [{"Count": 3}]
        # So must a device new to the store (an embedded catalog's servers rule out devices
        # they never saw; these two must not).
        tablets = "Events | where DeviceId == 'tablet-7' | count"
        assert a.preview("shop", tablets)["items"] == [{"Count": 0}]
        b.track("shop", [event(i, DeviceId="tablet-7") for i in range(2)])
        assert _eventually(a, tablets, 2) == [{"Count": 2}]
    # Nothing of the store is in the servers' local directories.
    assert not glob.glob(str(tmp_path / "one" / "**" / "*.parquet"), recursive=True)
