"""The store's format version: older stores are upgraded on open, newer ones refused, and a
running server stops writing to a shared store another release has upgraded."""
from __future__ import annotations

import concurrent.futures
import pathlib
import time

import grpc
import pytest

from trackstore_client import TrackstoreError
from trackstore_client.local import LocalServer
from trackstore_server.config import Settings
from trackstore_server.lake import LAKE, attach
from trackstore_server.store import FORMAT_VERSION, STORE_FORMAT_TABLE
from helpers import count, event

# The row a release of the next format version would have written.
UPGRADED_BY_A_NEWER_RELEASE = (f"INSERT INTO {STORE_FORMAT_TABLE} VALUES "
                               f"({FORMAT_VERSION + 1}, TIMESTAMP '2030-01-01', 'a newer release')")

def _versions(settings: Settings) -> list[int]:
    conn = attach(settings)  # as the store is, not upgraded
    try:
        return [row[0] for row in conn.execute(
            f'SELECT "Version" FROM {STORE_FORMAT_TABLE} ORDER BY 1').fetchall()]
    finally:
        conn.close()


def _change(settings: Settings, *statements: str) -> None:
    conn = attach(settings)
    try:
        for statement in statements:
            conn.execute(statement)
    finally:
        conn.close()


def _stored(start_server, tmp_path, events: list[dict]) -> tuple[pathlib.Path, Settings]:
    """A store that a server made and stopped, holding `events` in scope 'shop'."""
    data_dir = tmp_path / "data"
    server = start_server(data_dir=data_dir)
    with server.client() as client:
        client.track("shop", events)
    server.stop()
    return data_dir, Settings(data_dir=str(data_dir))


def _shared_settings(postgres: str, tmp_path) -> Settings:
    """The shared store of the PostgreSQL tests, as a process other than their servers opens it."""
    return Settings(data_dir=str(tmp_path / "other"), catalog=postgres,
                    data_path=str(tmp_path / "lake"))


def test_a_store_made_before_format_versions_is_brought_to_the_current_one(start_server, tmp_path):
    data_dir, settings = _stored(start_server, tmp_path, [event(i) for i in range(6)])
    assert _versions(settings) == list(range(1, FORMAT_VERSION + 1))
    # As a release before versions were recorded left it: no store_format, no column_values,
    # Parquet version 1.
    _change(settings, f"DROP TABLE {STORE_FORMAT_TABLE}", f"DROP TABLE {LAKE}.main.column_values",
            f"CALL {LAKE}.set_option('parquet_version', 1)")
    server = start_server(data_dir=data_dir)
    with server.client() as client:
        assert count(client, "shop") == 6
        # The known values of the scope were filled from the stored events, so a filter on an
        # EventType the scope has finds its events.
        purchases = "Events | where EventType == 'purchase' | count"
        assert client.preview("shop", purchases)["items"] == [{"Count": 3}]
    server.stop()
    assert _versions(settings) == list(range(1, FORMAT_VERSION + 1))
    conn = attach(settings)
    try:
        assert conn.execute(f"SELECT value FROM {LAKE}.options() WHERE option_name = "
                            "'parquet_version' AND scope = 'GLOBAL'").fetchone() == ("V2",)
        assert conn.execute(f"SELECT value FROM {LAKE}.options() WHERE option_name = "
                            "'target_file_size' AND scope = 'GLOBAL'").fetchone() == ("128000000",)
        assert conn.execute(f"SELECT count(*) FROM {LAKE}.main.column_values WHERE "
                            "\"Scope\" = 'shop' AND \"Column\" = 'EventType'").fetchone() == (2,)
    finally:
        conn.close()


def test_a_server_refuses_a_store_of_a_newer_format(start_server, tmp_path):
    data_dir, settings = _stored(start_server, tmp_path, [event(1)])
    _change(settings, UPGRADED_BY_A_NEWER_RELEASE)
    with pytest.raises(RuntimeError, match="server did not start") as refused:
        start_server(data_dir=data_dir)
    log = str(refused.value)
    assert (f"the store has format version {FORMAT_VERSION + 1}, newer than version "
            f"{FORMAT_VERSION} of this server") in log
    assert "Traceback" not in log
    assert _versions(settings)[-1] == FORMAT_VERSION + 1  # nothing was written


def test_a_server_stops_writing_to_a_shared_store_a_newer_release_upgraded(
        start_server, postgres, tmp_path):
    shared = ["--catalog", postgres, "--data-path", str(tmp_path / "lake"),
              "--flush-seconds", "0.2"]
    settings = _shared_settings(postgres, tmp_path)
    server = start_server(*shared, data_dir=tmp_path / "one")
    with server.client() as client:
        acknowledged = client.track("shop", [event(i) for i in range(5)])
        # Another server, of a newer release, upgrades the shared store.
        _change(settings, UPGRADED_BY_A_NEWER_RELEASE)
        deadline = time.monotonic() + 20
        while True:  # acknowledged until a flush finds the newer format, refused after it
            try:
                acknowledged += client.track("shop", [event(len(acknowledged))])
            except TrackstoreError as error:
                refusal = error
                break
            assert time.monotonic() < deadline, "Track was never refused"
            time.sleep(0.1)
        assert refusal.code == grpc.StatusCode.FAILED_PRECONDITION
        assert f"format version {FORMAT_VERSION + 1}, newer than version {FORMAT_VERSION}" \
            in refusal.message
        with pytest.raises(TrackstoreError) as deleting:
            client.delete("shop", acknowledged[0])
        assert deleting.value.code == grpc.StatusCode.FAILED_PRECONDITION
        # Reads go on, the events only this server holds included.
        assert count(client, "shop") == len(acknowledged)
    server.stop()
    # The operator runs a release that knows the format (here: the row is taken back); the
    # events acknowledged meanwhile come from the server's write-ahead log into the lake.
    _change(settings, f'DELETE FROM {STORE_FORMAT_TABLE} WHERE "Version" > {FORMAT_VERSION}')
    server = start_server(*shared, data_dir=tmp_path / "one")
    with server.client() as client:
        client.delete("shop", acknowledged[0])
    other = start_server(*shared, data_dir=tmp_path / "two")
    with other.client() as client:
        assert count(client, "shop") == len(acknowledged) - 1


def test_servers_opening_a_new_shared_store_together_both_start(postgres, tmp_path):
    shared = ["--catalog", postgres, "--data-path", str(tmp_path / "lake")]
    servers = [LocalServer(tmp_path / name, *shared) for name in ("one", "two")]
    try:
        # Both take the format steps at once: their commits conflict, and each goes on.
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            list(pool.map(lambda server: server.start(), servers))
        with servers[0].client() as one, servers[1].client() as two:
            one.track("shop", [event(1)])
            two.track("shop", [event(2)])
    finally:
        for server in servers:
            server.stop()
    assert set(_versions(_shared_settings(postgres, tmp_path))) == set(range(1, FORMAT_VERSION + 1))
