"""Small helpers shared by the end-to-end tests."""
from __future__ import annotations

import glob
import os
import pathlib
import socket
import time

import duckdb
import pytest
from google.rpc import error_details_pb2

from trackstore_client import TrackstoreError


def detail(error: TrackstoreError, message_type):
    """The first google.rpc detail of the given type carried by a failed call, or None."""
    for packed in error.details:
        if packed.Is(message_type.DESCRIPTOR):
            value = message_type()
            packed.Unpack(value)
            return value
    return None


def error_reason(error: TrackstoreError) -> str | None:
    info = detail(error, error_details_pb2.ErrorInfo)
    return info.reason if info else None


def parquet_files(data_dir: pathlib.Path) -> list[str]:
    return sorted(glob.glob(str(data_dir / "data" / "**" / "*.parquet"), recursive=True))


def stored_track_ids(data_dir: pathlib.Path, scope: str = "default") -> set[str]:
    """Reads the store directly (the server must be stopped): what is really on disk."""
    from trackstore_server.config import Settings
    from trackstore_server.lake import EVENTS_TABLE
    from trackstore_server.store import open_store

    conn = open_store(Settings(data_dir=str(data_dir)))
    try:
        rows = conn.execute(
            f'SELECT "TrackId" FROM {EVENTS_TABLE} WHERE "Scope" = ?', [scope]
        ).fetchall()
    finally:
        conn.close()
    return {row[0] for row in rows}


def rows_in_data_files(data_dir: pathlib.Path, column: str, value: str) -> int:
    """How many rows of the Parquet files on disk hold `value` in `column`, reading every file."""
    total = 0
    conn = duckdb.connect()
    for path in parquet_files(data_dir):
        if path.endswith("-delete.parquet"):
            continue
        names = [r[0] for r in conn.execute("DESCRIBE SELECT * FROM read_parquet(?)", [path]).fetchall()]
        if column in names:
            total += conn.execute(
                f'SELECT count(*) FROM read_parquet(?) WHERE "{column}" = ?', [path, value]
            ).fetchone()[0]
    return total


def event(i: int, **fields) -> dict:
    document = {
        "DeviceId": f"device-{i % 7}",
        "EventType": "pageview" if i % 2 == 0 else "purchase",
        "Value": f"event {i}",
        "PageUri": f"https://example.com/p/{i}",
        "User": {"Email": f"user{i}@example.com", "Name": f"User {i}"} if i % 3 == 0 else None,
        "Payload": {"price": i * 1.5, "sku": f"sku-{i}", "nested": {"n": i}},
        "CountryCode": "SE",
        "EventTime": f"2020-01-{1 + i % 28:02d}T12:00:{i % 60:02d}Z",
    }
    document.update(fields)
    return {k: v for k, v in document.items() if v is not None}


def count(client, scope: str, where: str = "") -> int:
    """The Preview count of `scope`'s events, of those matching the KQL `where` if given."""
    query = f"Events | where {where} | count" if where else "Events | count"
    return client.preview(scope, query)["items"][0]["Count"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def scale_out_missing(reason: str):
    """A part of the scale-out setup (PostgreSQL, moto) is not installed."""
    # CI installs PostgreSQL (see .ci/run) and sets this, so a missing server fails there.
    if os.environ.get("TRACKSTORE_REQUIRE_SCALE_OUT") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


def faults_missing(reason: str):
    """A part of the fault tests' setup (a mount for a small disk) is not possible here."""
    # CI runs as root and sets this (see .ci/run), so a fault test never silently skips there.
    if os.environ.get("TRACKSTORE_REQUIRE_FAULTS") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


# Servers whose tests look at the files on disk after a compaction answer queries for at most
# this long, so compaction removes replaced files this long (and a margin) after it replaced them.
SHORT_QUERY_LIMIT = ("--preview-timeout-seconds", "1")


def compact_until_replaced_files_leave(client) -> dict:
    """Compacts, waits until no read can still use the files that compaction replaced (a server
    started with SHORT_QUERY_LIMIT), and compacts again, which removes them from disk."""
    from trackstore_server.compaction import SNAPSHOT_MARGIN_SECONDS

    report = client.compact()
    time.sleep(float(SHORT_QUERY_LIMIT[1]) + SNAPSHOT_MARGIN_SECONDS + 0.5)
    client.compact()
    return report


def live_data_files(data_dir: pathlib.Path) -> list[str]:
    """The events table's data files in the store's current snapshot (the server must be
    stopped); files that compaction replaced stay on disk a while for running reads."""
    from trackstore_server.config import Settings
    from trackstore_server.lake import LAKE
    from trackstore_server.store import open_store

    conn = open_store(Settings(data_dir=str(data_dir)))
    try:
        return sorted(row[0] for row in conn.execute(
            "SELECT data_file FROM ducklake_list_files(?, 'events')", [LAKE]).fetchall())
    finally:
        conn.close()


def kill_in_process(engine) -> None:
    """Ends an in-process Engine as a kill would: what it acknowledged stays in its write-ahead
    log only, nothing more reaches the lake, and its connection is closed without
    Engine.close(). Its writer's threads end too, so none of them is left to flush into the
    closed connection when the test process exits."""
    writer = engine._writer
    writer._guarded_flush = lambda: None  # the kill comes before any further flush
    writer.close()
    engine._conn.close()
