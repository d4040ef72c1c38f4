"""Every method of every service of the contract (proto/) is served by the running server, so a
new RPC cannot be silently UNIMPLEMENTED (server/api/registration.py); the server the factory
returns reports storage failures to its owner and refuses bad settings with an exception."""
from __future__ import annotations

import importlib
import pathlib

import duckdb
import grpc
import pytest

from trackstore.v1 import admin_pb2 as admin_pb
from trackstore_server.api.app import CannotStart, create_server
from trackstore_server.config import Settings
from trackstore_server.store import FORMAT_VERSION, STORE_FORMAT_TABLE, open_store

PROTO = pathlib.Path(__file__).resolve().parents[2] / "proto" / "trackstore" / "v1"


def contract_methods():
    """The methods of the services of each .proto file's generated module."""
    for path in sorted(PROTO.glob("*.proto")):
        module = importlib.import_module(f"trackstore.v1.{path.stem}_pb2")
        for service in module.DESCRIPTOR.services_by_name.values():
            yield from service.methods


METHODS = list(contract_methods())


@pytest.fixture(scope="module")
def running(tmp_path_factory):
    server = create_server(Settings(data_dir=str(tmp_path_factory.mktemp("served") / "data"),
                                    port=0, http_port=0))
    yield server
    server.stop(grace=None)


def call(running, method, timeout: float = 60):
    """The method called with an empty message (bytes in, bytes out); a stream sends one."""
    path = f"/{method.containing_service.full_name}/{method.name}"
    kind = ("stream" if method.client_streaming else "unary") + "_" + (
        "stream" if method.server_streaming else "unary")
    with grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel:
        stub = getattr(channel, kind)(path)
        answer = stub(iter([b""]) if method.client_streaming else b"", timeout=timeout)
        return list(answer) if method.server_streaming else answer


def test_the_contract_has_methods():
    assert {m.containing_service.name for m in METHODS} >= {"TrackEventsService", "AdminService"}


@pytest.mark.parametrize("method", METHODS, ids=lambda method: method.full_name)
def test_every_method_of_the_contract_is_served(running, method):
    try:
        call(running, method)
    except grpc.RpcError as error:  # an invalid empty request is an answer too
        assert error.code() != grpc.StatusCode.UNIMPLEMENTED, error.details()


def test_a_fatal_storage_error_is_reported_to_the_owner_and_answered_unavailable(tmp_path):
    reported = []
    server = create_server(Settings(data_dir=str(tmp_path / "data"), port=0, http_port=0),
                           reported.append)
    try:
        def fail():
            raise duckdb.FatalException("database invalidated")

        server.engine._compact = fail
        compact = admin_pb.DESCRIPTOR.services_by_name["AdminService"].methods_by_name["Compact"]
        with pytest.raises(grpc.RpcError) as error:
            call(server, compact)
        assert error.value.code() == grpc.StatusCode.UNAVAILABLE
        assert error.value.details() == ("the storage engine failed and the server is "
                                         "restarting; retry shortly")
        assert [str(e) for e in reported] == ["database invalidated"]  # the process lives on
    finally:
        server.stop(grace=None)


def test_create_server_refuses_an_open_public_address_with_an_exception(tmp_path):
    with pytest.raises(CannotStart, match="refusing to listen on 0.0.0.0 without API keys"):
        create_server(Settings(data_dir=str(tmp_path / "data"), host="0.0.0.0", port=0,
                               http_port=0))


def test_create_server_refuses_a_store_of_a_newer_format_with_an_exception(tmp_path):
    settings = Settings(data_dir=str(tmp_path / "data"), port=0, http_port=0)
    conn = open_store(settings)
    conn.execute(f"INSERT INTO {STORE_FORMAT_TABLE} VALUES "
                 f"({FORMAT_VERSION + 1}, TIMESTAMP '2030-01-01', 'a newer release')")
    conn.close()
    with pytest.raises(CannotStart, match=f"cannot open the store: the store has format "
                                          f"version {FORMAT_VERSION + 1}, newer than"):
        create_server(settings)
