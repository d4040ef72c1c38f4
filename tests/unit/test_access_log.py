"""The access log written directly is the line logging's formatter writes, and it obeys the
access logger's level."""
from __future__ import annotations

import asyncio
import logging
import os
import select
import time

import orjson
import pytest

from trackstore_server.api import access_log

ENTRY = {"method": "Track", "scope": "shop", "rows": 1, "status": "OK", "ms": 0.42}


@pytest.fixture
def direct_to(tmp_path):
    """The log file the access log writes to, at INFO as `serve` sets it."""
    fd = os.open(tmp_path / "server.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    logger = logging.getLogger(access_log.NAME)
    logger.setLevel(logging.INFO)
    access_log.write_directly(fd)
    yield tmp_path / "server.log"
    access_log.write_directly(None)
    logger.setLevel(logging.NOTSET)
    os.close(fd)


@pytest.mark.parametrize("now", [1765031999.0, 1765031999.9996, 1765032000.25])
def test_a_direct_line_is_the_line_logging_formats(direct_to, monkeypatch, now):
    monkeypatch.setattr(time, "time", lambda: now)
    access_log.write(ENTRY)
    record = logging.LogRecord(access_log.NAME, logging.INFO, __file__, 1,
                               orjson.dumps(ENTRY).decode(), None, None)
    record.created, record.msecs = now, int((now - int(now)) * 1000) + 0.0
    expected = logging.Formatter(access_log.LOG_FORMAT).format(record)
    assert direct_to.read_text() == expected + "\n"


def test_lines_from_many_calls_stay_whole(direct_to):
    for number in range(200):
        access_log.write(ENTRY | {"rows": number})
    lines = direct_to.read_text().splitlines()
    assert [orjson.loads(line.split(" trackstore.access ", 1)[1])["rows"] for line in lines] == (
        list(range(200)))


def test_the_access_loggers_level_silences_direct_lines(direct_to):
    logging.getLogger(access_log.NAME).setLevel(logging.WARNING)
    access_log.write(ENTRY)
    assert direct_to.read_text() == ""


def test_without_direct_lines_they_go_through_logging(caplog):
    with caplog.at_level(logging.INFO, logger=access_log.NAME):
        access_log.write(ENTRY)
    assert [orjson.loads(record.getMessage()) for record in caplog.records] == [ENTRY]


def test_a_loops_lines_go_out_together_at_the_end_of_its_turn(direct_to, monkeypatch):
    writes = []
    real_write = os.write
    monkeypatch.setattr(os, "write", lambda fd, data: writes.append(data) or real_write(fd, data))

    async def turn():
        for number in range(300):  # about 27 KB: more than one pipe-atomic write
            access_log.write_soon(ENTRY | {"rows": number})
        written_during_the_turn = direct_to.read_text()
        await asyncio.sleep(0)  # the turn ends
        return written_during_the_turn

    assert asyncio.run(turn()) == ""
    lines = direct_to.read_text().splitlines()
    assert [orjson.loads(line.split(" trackstore.access ", 1)[1])["rows"] for line in lines] == (
        list(range(300)))
    assert 1 < len(writes) < 300
    assert all(len(data) <= select.PIPE_BUF and data.endswith(b"\n") for data in writes)
