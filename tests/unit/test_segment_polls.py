"""The segment scheduler's poll thread of an engine whose lake connection was closed without
Engine.close() (as a test that stands for a kill does): it stops, rather than logging a
traceback every poll for the rest of the process."""
from __future__ import annotations

from trackstore_server.config import Settings
from trackstore_server.engine import Engine
from helpers import kill_in_process


def test_polls_stop_once_the_engines_connection_is_closed(tmp_path, caplog):
    engine = Engine(Settings(data_dir=str(tmp_path / "data"), segment_poll_seconds=0.05))
    poll = next(t for t in engine.segments._scheduler._threads if t.name == "segment-poll")
    assert poll.is_alive()
    kill_in_process(engine)
    poll.join(10)
    assert not poll.is_alive()
    assert "segment polls stop" in caplog.text and "segment poll failed" not in caplog.text
    engine.segments.close()
