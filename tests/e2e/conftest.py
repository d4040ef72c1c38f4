"""Fixtures of the end-to-end tests beyond a server: a private PostgreSQL catalog."""
from __future__ import annotations

import glob
import os
import pathlib
import shutil
import subprocess
import tempfile

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
