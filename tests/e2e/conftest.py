"""Fixtures of the end-to-end tests beyond a server: a private PostgreSQL catalog, and moto's
S3-compatible server on loopback (accepting any key, or checking keys)."""
from __future__ import annotations

import glob
import os
import pathlib
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass

import pytest

from helpers import free_port, scale_out_missing


@pytest.fixture
def postgres(tmp_path):
    initdb = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not initdb:
        scale_out_missing("PostgreSQL server binaries are not installed (apt-get install postgresql)")
    bindir = os.path.dirname(initdb[-1])
    # Not under tmp_path: pytest's folders are private to root, and PostgreSQL runs as postgres.
    root = pathlib.Path(tempfile.mkdtemp(prefix="trackstore-pg-"))
    run_as = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        shutil.chown(root, "postgres")
        run_as = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    subprocess.run([*run_as, f"{bindir}/initdb", "-D", str(root / "db"), "-A", "trust",
                    "-U", "postgres"], check=True, capture_output=True)
    subprocess.run([*run_as, f"{bindir}/pg_ctl", "-D", str(root / "db"), "-w", "-l",
                    str(root / "log"), "-o", f"-p {port} -k {root} -c listen_addresses=127.0.0.1",
                    "start"], check=True, capture_output=True)
    yield f"postgres:host=127.0.0.1 port={port} dbname=postgres user=postgres"
    subprocess.run([*run_as, f"{bindir}/pg_ctl", "-D", str(root / "db"), "-m", "immediate",
                    "stop"], capture_output=True)
    shutil.rmtree(root, ignore_errors=True)


def _moto_server(env: dict | None = None) -> tuple[subprocess.Popen, str]:
    """moto's S3-compatible server on a free loopback port, accepting connections."""
    moto = shutil.which("moto_server") or os.path.join(os.path.dirname(sys.executable), "moto_server")
    if not os.path.exists(moto):
        scale_out_missing("moto_server is not installed (pip install 'moto[server]')")
    port = free_port()
    process = subprocess.Popen([moto, "-H", "127.0.0.1", "-p", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env={**os.environ, **(env or {})})
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process, f"127.0.0.1:{port}"
        except OSError:
            if time.monotonic() > deadline:
                process.kill()
                raise
            time.sleep(0.2)


@pytest.fixture
def s3(tmp_path):
    """moto's S3 server with the bucket `events-lake`; any key is accepted."""
    process, endpoint = _moto_server()
    urllib.request.urlopen(urllib.request.Request(f"http://{endpoint}/events-lake", method="PUT"))
    yield endpoint
    process.kill()
    process.wait()


@dataclass(frozen=True)
class S3WithKeys:
    endpoint: str
    key_id: str
    secret: str
    bucket: str

    def client(self, key_id: str | None = None, secret: str | None = None):
        import botocore.session

        return botocore.session.get_session().create_client(
            "s3", region_name="us-east-1", endpoint_url=f"http://{self.endpoint}",
            aws_access_key_id=key_id or self.key_id, aws_secret_access_key=secret or self.secret)


@pytest.fixture
def s3_with_keys():
    """moto's S3 server checking keys (its IAM): one user whose key may do anything to S3, and
    the bucket `exports`. Made by the first four requests, which moto lets through unsigned."""
    import botocore.session

    process, endpoint = _moto_server({"INITIAL_NO_AUTH_ACTION_COUNT": "4"})
    session = botocore.session.get_session()
    iam = session.create_client("iam", region_name="us-east-1", endpoint_url=f"http://{endpoint}",
                                aws_access_key_id="setup", aws_secret_access_key="setup")
    iam.create_user(UserName="exporter")
    key = iam.create_access_key(UserName="exporter")["AccessKey"]
    iam.put_user_policy(UserName="exporter", PolicyName="s3", PolicyDocument=(
        '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", '
        '"Resource": "*"}]}'))
    server = S3WithKeys(endpoint, key["AccessKeyId"], key["SecretAccessKey"], "exports")
    server.client().create_bucket(Bucket=server.bucket)
    yield server
    process.kill()
    process.wait()
