"""Auth, TLS, health checking, reflection and start-up behaviour of the real server."""
from __future__ import annotations

import subprocess

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from trackstore_client import Client, TrackstoreError
from helpers import error_reason, event

KEYS = """
[keys.web]
key = "web-secret"
scopes = ["shop", "blog"]

[keys.ops]
key_sha256 = "{ops_digest}"
scopes = ["*"]
"""


@pytest.fixture
def keyed_server(start_server, tmp_path):
    import hashlib

    keys = tmp_path / "keys.toml"
    keys.write_text(KEYS.format(ops_digest=hashlib.sha256(b"ops-secret").hexdigest()))
    return start_server("--api-keys-file", str(keys))


def test_missing_key_is_unauthenticated(keyed_server):
    with keyed_server.client() as client:
        with pytest.raises(TrackstoreError) as error:
            client.track("shop", [event(1)])
    assert error.value.code == grpc.StatusCode.UNAUTHENTICATED
    assert "epi-single" in error.value.message


def test_wrong_key_is_unauthenticated(keyed_server):
    with keyed_server.client(api_key="guess") as client:
        with pytest.raises(TrackstoreError) as error:
            client.track("shop", [event(1)])
    assert error.value.code == grpc.StatusCode.UNAUTHENTICATED
    assert error_reason(error.value) == "API_KEY_INVALID"


def test_key_works_on_its_scopes_only(keyed_server):
    with keyed_server.client(api_key="web-secret") as client:
        [track_id] = client.track("shop", [event(1)])
        with pytest.raises(TrackstoreError) as denied:
            client.track("admin-only", [event(2)])
        assert denied.value.code == grpc.StatusCode.PERMISSION_DENIED
        with pytest.raises(TrackstoreError) as denied_delete:
            client.delete("other", track_id)
        assert denied_delete.value.code == grpc.StatusCode.PERMISSION_DENIED
        with pytest.raises(TrackstoreError) as denied_batch:
            client.batch_delete("other", [track_id])
        assert denied_batch.value.code == grpc.StatusCode.PERMISSION_DENIED
        # Administration needs a key allowed every scope.
        with pytest.raises(TrackstoreError) as denied_admin:
            client.compact()
        assert denied_admin.value.code == grpc.StatusCode.PERMISSION_DENIED
    with keyed_server.client(api_key="ops-secret") as ops:
        assert ops.stats()["events"] == 1
        assert ops.delete("shop", track_id) == track_id


def test_stream_checks_every_batch_scope(keyed_server):
    with keyed_server.client(api_key="web-secret") as client:
        with pytest.raises(TrackstoreError) as denied:
            client.track_stream("shop", [[event(1)], [event(2)]])  # allowed
            client.track_stream("secret", [[event(3)]])
        assert denied.value.code == grpc.StatusCode.PERMISSION_DENIED


def test_health_and_reflection_answer_without_a_key(keyed_server):
    with keyed_server.channel() as channel:
        health = health_pb2_grpc.HealthStub(channel)
        for service in ("", "trackstore.v1.TrackEventsService"):
            response = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
            assert response.status == health_pb2.HealthCheckResponse.SERVING
        reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
        responses = reflection.ServerReflectionInfo(
            iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=5
        )
        names = {s.name for r in responses for s in r.list_services_response.service}
    assert {"trackstore.v1.TrackEventsService", "trackstore.v1.AdminService",
            "grpc.health.v1.Health"} <= names


def test_open_server_refuses_a_public_address(tmp_path):
    from tests_support import run_cli

    result = run_cli("serve", "--data-dir", str(tmp_path / "d"), "--host", "0.0.0.0", "--port", "0",
                     timeout=60)
    assert result.returncode != 0
    assert "without API keys" in result.stderr


def test_sigterm_drains_and_exits_cleanly(start_server):
    server = start_server()
    with server.client() as client:
        client.track("default", [event(1)])
    assert server.stop() == 0
    assert "shutting down" in server.log()


def test_tls(start_server, tmp_path):
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True, capture_output=True,
    )
    server = start_server("--tls-cert", str(cert), "--tls-key", str(key))
    credentials = grpc.ssl_channel_credentials(cert.read_bytes())
    with Client(f"localhost:{server.port}", credentials=credentials) as client:
        assert len(client.track("default", [event(1)])) == 1
    with Client(f"localhost:{server.port}", timeout=3) as plaintext:
        with pytest.raises(TrackstoreError) as error:
            plaintext.track("default", [event(2)])
        assert error.value.code == grpc.StatusCode.UNAVAILABLE


def test_access_log_has_one_structured_line_per_call_without_contents_or_keys(keyed_server):
    import json

    with keyed_server.client(api_key="web-secret") as client:
        client.track("shop", [event(1, Payload={"secret": "payload-value-xyz"})])
        with pytest.raises(TrackstoreError):
            client.delete("shop", "nope")
    keyed_server.stop()
    log = keyed_server.log()
    assert "payload-value-xyz" not in log and "web-secret" not in log
    calls = [json.loads(line.split("trackstore.access ", 1)[1])
             for line in log.splitlines() if "trackstore.access " in line]
    assert [(c["method"], c["scope"], c["status"], c["rows"]) for c in calls] == [
        ("Track", "shop", "OK", 1), ("Delete", "shop", "NOT_FOUND", 0)]
    assert all(c["ms"] >= 0 for c in calls)


def _health(target: str) -> str:
    with grpc.insecure_channel(target) as channel:
        try:
            response = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service="trackstore.v1.TrackEventsService"), timeout=2)
        except grpc.RpcError as error:
            return error.code().name
    return health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)


def test_health_is_not_serving_while_draining(start_server):
    import signal
    import time

    server = start_server("--drain-seconds", "3")
    assert _health(server.target) == "SERVING"
    server.process.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    assert _health(server.target) == "NOT_SERVING"
    assert server.process.wait(30) == 0


def test_health_is_not_serving_while_starting(tmp_path):
    """A restart with a long write-ahead log to replay listens first and says NOT_SERVING."""
    import socket
    import sys
    import time

    from trackstore_client.local import LocalServer
    from trackstore.v1 import trackevents_pb2 as pb

    data_dir = tmp_path / "data"
    first = LocalServer(data_dir, "--flush-seconds", "3600", "--commit-max-rows", "10000000").start()
    with first.client() as client:
        client.track_stream("default", (
            [pb.TrackEvent(event_type="e", payload_json='{"n": %d, "text": "%s"}' % (i, "x" * 200))
             for i in range(1000)]
            for _ in range(300)
        ))
    first.kill()  # everything is in the log only
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "trackstore_client.cli", "serve", "--data-dir", str(data_dir),
         "--port", str(port), "--http-port", "0"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        seen = set()
        deadline = time.monotonic() + 60
        while "SERVING" not in seen and time.monotonic() < deadline:
            seen.add(_health(f"127.0.0.1:{port}"))
            time.sleep(0.02)
        assert "NOT_SERVING" in seen and "SERVING" in seen
        with Client(f"127.0.0.1:{port}") as client:
            assert client.stats()["events"] == 300_000
    finally:
        process.terminate()
        process.wait(30)
