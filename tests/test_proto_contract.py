"""`buf breaking` guards the published contract: proto/ stays compatible with the previous
commit's proto/ (or TRACKSTORE_PROTO_BASE's, a git ref such as a merge base). A breaking change
must be deliberate: a new package version (proto/trackstore/v2/, package trackstore.v2) beside
the published v1, never an edit of v1. `make breaking-proto PROTO_BASE=REF` runs the same check."""
from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def buf() -> str:
    path = shutil.which("buf") or str(pathlib.Path(sys.executable).parent / "buf")
    if not pathlib.Path(path).exists():
        pytest.fail("buf is not installed; it comes with the dev extras (buf-bin)")
    return path


def test_proto_keeps_the_previous_commits_contract():
    base = os.environ.get("TRACKSTORE_PROTO_BASE", "HEAD~1")
    known = subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"{base}^{{commit}}"],
                           cwd=ROOT, capture_output=True, text=True)
    if known.returncode != 0:
        pytest.skip(f"no commit {base} to compare proto/ with (a shallow clone?): "
                    "fetch more history or set TRACKSTORE_PROTO_BASE")
    result = subprocess.run([buf(), "breaking", "proto", "--against", f".git#ref={base},subdir=proto"],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, (
        f"proto/ breaks the contract of {base}; a breaking change needs a new package "
        f"(trackstore.v2):\n{result.stdout}{result.stderr}")


def test_buf_breaking_refuses_a_renamed_field(tmp_path):
    changed = tmp_path / "proto"
    shutil.copytree(ROOT / "proto", changed)
    contract = changed / "trackstore" / "v1" / "trackevents.proto"
    text = contract.read_text()
    assert "  string track_id = 2;\n" in text
    contract.write_text(text.replace("  string track_id = 2;\n", "  string trackid = 2;\n", 1))
    result = subprocess.run([buf(), "breaking", str(changed), "--against", "proto"],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode != 0
    assert 'changed name from "track_id" to "trackid"' in result.stdout
