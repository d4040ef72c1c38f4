"""The committed stubs are exactly what proto/ generates, and the contract passes buf lint."""
from __future__ import annotations

import filecmp
import pathlib
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
COMMITTED = ROOT / "clients" / "python" / "trackstore" / "v1"


def test_committed_stubs_match_proto(tmp_path):
    subprocess.run(
        [sys.executable, str(ROOT / "clients" / "python" / "generate_stubs.py"), "--out", str(tmp_path)],
        check=True,
    )
    fresh = tmp_path / "trackstore" / "v1"
    names = sorted(p.name for p in fresh.iterdir() if p.suffix in (".py", ".pyi"))
    assert "trackevents_pb2.py" in names and "admin_pb2_grpc.py" in names
    committed = sorted(p.name for p in COMMITTED.iterdir() if p.suffix in (".py", ".pyi"))
    assert committed == names, "stub files differ: run `make stubs`"
    _, mismatch, errors = filecmp.cmpfiles(fresh, COMMITTED, names, shallow=False)
    assert not mismatch and not errors, f"stale stubs {mismatch}: run `make stubs`"


def test_proto_passes_buf_lint():
    buf = shutil.which("buf") or str(pathlib.Path(sys.executable).parent / "buf")
    if not pathlib.Path(buf).exists():
        pytest.fail("buf is not installed; it comes with the dev extras (buf-bin)")
    result = subprocess.run([buf, "lint", "proto"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
