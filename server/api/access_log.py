"""The access log: one line per gRPC or HTTP call, a JSON object of what the edge knows of it
(method, scope, status, duration in ms, rows; never event contents or keys), written before
the call is answered.

Through `logging` a line cost a batch-1 Track call about as much as building its batch, part
of it under the handler's lock that every call thread takes
(bench/NOTES.md#batch-1-at-half-the-no-op-ceiling). So the entry point (`app.serve`), which
configures logging itself, has `write_directly` write each line as its log format would
(`LOG_FORMAT`: time, level, logger, message), in one unlocked write of the whole line to the
log's file descriptor: appends of a line this short are not interleaved with other writers'
on a file or a pipe. Until then (a server made by `create_server` in tests or in another
program) lines go through `logging`, with whatever handlers the program set.
"""
from __future__ import annotations

import logging
import os
import time

import orjson

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
NAME = "trackstore.access"
_logger = logging.getLogger(NAME)


class _DirectLines:
    """Lines as logging.Formatter(LOG_FORMAT) writes them, at INFO, straight to `fd`."""

    def __init__(self, fd: int):
        self.fd = fd
        self._second_text = (None, "")  # one tuple, so threads never pair mismatched parts

    def write(self, entry: dict) -> None:
        now = time.time()
        second = int(now)
        cached, text = self._second_text
        if cached != second:
            # logging.Formatter's default asctime: local time, then milliseconds after a comma.
            text = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(second))
            self._second_text = (second, text)
        millis = int((now - second) * 1000)
        os.write(self.fd, b"%s,%03d INFO %s %s\n" % (
            text.encode(), millis, NAME.encode(), orjson.dumps(entry)))


_direct: _DirectLines | None = None


def write_directly(fd: int | None) -> None:
    """Writes lines straight to `fd` from now on (None: through `logging` again)."""
    global _direct
    _direct = None if fd is None else _DirectLines(fd)


def write(entry: dict) -> None:
    """Writes the access-log line of one call, unless the access log's level is above INFO."""
    if not _logger.isEnabledFor(logging.INFO):
        return
    direct = _direct
    if direct is None:
        _logger.info(orjson.dumps(entry).decode())
    else:
        direct.write(entry)
