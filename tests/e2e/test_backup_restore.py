"""Moving and restoring a data directory: a store copied elsewhere (by `trackstore backup` or a
plain copy of a stopped server's data dir) starts there and serves every event, deletion and
promoted key it had; a running server's store is not backed up."""
from __future__ import annotations

import json
import shutil

from helpers import event
from tests_support import run_cli


def test_backup_restores_elsewhere_with_everything_it_had(start_server, tmp_path):
    original = tmp_path / "data"
    server = start_server("--flush-seconds", "600")
    with server.client() as client:
        ids = client.track("default", [event(i) for i in range(300)])
        client.compact()  # promotes keys
        client.delete("default", ids[0])  # in the lake: pending
        late = client.track("default", [event(1000)])  # in the write-ahead log only
        client.delete("default", late[0])  # unflushed: in the log too
        late += client.track("default", [event(1001)])
        refused = run_cli("backup", "--data-dir", str(original), str(tmp_path / "copy"))
        assert refused.returncode == 1 and "in use by a running server" in refused.stderr
        assert not (tmp_path / "copy").exists()
    server.stop()
    done = run_cli("backup", "--data-dir", str(original), str(tmp_path / "backup"))
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["events_in_lake"] == 300 and report["files"] > 0
    shutil.rmtree(original)  # the original is gone: the copy must not need it
    restored_dir = tmp_path / "elsewhere" / "restored"
    shutil.copytree(tmp_path / "backup", restored_dir)
    restored = start_server(data_dir=restored_dir)
    with restored.client() as client:
        stats = client.stats()
        assert stats["events"] == 300 and stats["pending_deletions"] == 1
        assert stats["promoted_keys"]
        listed = {row["TrackId"] for row in client.list("default", top=1000)["items"]}
        assert listed == set(ids[1:]) | {late[1]}
        client.track("default", [event(2000)])
        assert client.compact()["applied_deletions"] == 1
        assert client.stats()["events"] == 301
    assert "OVERRIDE_DATA_PATH" not in restored.log()


def test_backup_refuses_a_missing_store_and_a_destination_in_use(start_server, tmp_path):
    start_server().stop()
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "something").write_text("x")
    in_use = run_cli("backup", "--data-dir", str(tmp_path / "data"), str(tmp_path / "full"))
    assert in_use.returncode == 1 and "exists and is not empty" in in_use.stderr
    missing = run_cli("backup", "--data-dir", str(tmp_path / "nothing"), str(tmp_path / "b"))
    assert missing.returncode == 1
    assert missing.stderr.strip() == (f"backup failed: {tmp_path / 'nothing'} holds no store "
                                      f"(catalog.ducklake is missing)")

