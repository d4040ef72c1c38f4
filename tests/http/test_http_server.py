"""The HTTP server inside `create_server`: it serves the same engine as gRPC, answers 503 when
the store is unavailable, refuses a port in use at start, and stops with the server."""
from __future__ import annotations

import socket

import duckdb
import pytest

from http_support import HttpApi
from helpers import event, free_port
from trackstore_client import Client
from trackstore_server.api.app import CannotStart, create_server
from trackstore_server.config import Settings


@pytest.fixture
def in_process(tmp_path):
    reported = []
    running = create_server(Settings(data_dir=str(tmp_path / "data"), port=0,
                                     http_port=free_port()), reported.append)
    yield running, HttpApi(running.http.port), reported
    running.stop(grace=None)


def test_http_and_grpc_serve_the_same_engine(in_process):
    running, api, _ = in_process
    with Client(f"127.0.0.1:{running.port}") as client:
        client.track("both", [event(1, TrackId="over-grpc")])
    api.track({"TrackId": "over-http", "Scope": "both", "EventType": "x"})
    listed = api.list("both", orderby="TrackId").json["items"]
    assert [item["TrackId"] for item in listed] == ["over-grpc", "over-http"]
    with Client(f"127.0.0.1:{running.port}") as client:
        assert client.preview("both", "Events | count")["items"] == [{"Count": 2}]


def test_an_unavailable_store_is_503(in_process):
    running, api, reported = in_process

    def fail(*args, **kwargs):
        raise duckdb.FatalException("database invalidated")

    running.engine._read = fail
    answer = api.preview("Events | count", "default")
    assert answer.status == 503
    assert answer.error["code"] == "UNAVAILABLE"
    assert answer.error["message"] == ("the storage engine failed and the server is "
                                       "restarting; retry shortly")
    assert [str(error) for error in reported] == ["database invalidated"]


def test_a_port_in_use_stops_the_start_with_a_clear_error(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(CannotStart, match=f"cannot serve HTTP on 127.0.0.1:{port}.*"
                                              r"choose another --http-port \(0 disables HTTP\)"):
            create_server(Settings(data_dir=str(tmp_path / "data"), port=0, http_port=port))


def test_http_port_0_serves_no_http(tmp_path):
    running = create_server(Settings(data_dir=str(tmp_path / "data"), port=0, http_port=0))
    try:
        assert running.http is None
    finally:
        running.stop(grace=None)


def test_stopping_the_server_closes_the_http_port(tmp_path):
    port = free_port()
    running = create_server(Settings(data_dir=str(tmp_path / "data"), port=0, http_port=port))
    assert HttpApi(port).call("GET", "/openapi.json").status == 200
    running.stop(grace=1)
    with pytest.raises(ConnectionRefusedError):
        HttpApi(port).call("GET", "/openapi.json")
