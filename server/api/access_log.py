"""The access log: one line per gRPC or HTTP call, a JSON object of what the edge knows of it
(method, scope, status, duration in ms, rows; never event contents or keys), written before
the call is answered (HTTP), or with the other lines of the same turn of the gRPC server's
event loop, once the turn's calls are answered (`write_soon`).

Through `logging` a line cost a batch-1 Track call about as much as building its batch, part
of it under the handler's lock that every call thread takes
(bench/NOTES.md#batch-1-at-half-the-no-op-ceiling). So the entry point (`app.serve`), which
configures logging itself, has `write_directly` write each line as its log format would
(`LOG_FORMAT`: time, level, logger, message), in one unlocked write of the whole line to the
log's file descriptor: appends of a line this short are not interleaved with other writers'
on a file or a pipe. Until then (a server made by `create_server` in tests or in another
program) lines go through `logging`, with whatever handlers the program set.

On the event loop a write of its own per call was a tenth of IsInSegment's throughput: each
system call lets another thread take the GIL, and the loop waits to get it back
(bench/NOTES.md#one-event-loop-for-every-call). So the loop's lines wait for the end of the
loop's turn and go out in one write.
"""
from __future__ import annotations

import asyncio
import logging
import os
import select
import threading
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
        self._turns = threading.local()  # each event loop's lines of its current turn

    def write(self, entry: dict) -> None:
        _write_all(self.fd, self._line(entry))

    def write_soon(self, entry: dict) -> None:
        """Writes the line with the others of this turn of the running event loop."""
        turn = self._turns
        lines = getattr(turn, "lines", None)
        if lines is None:
            lines = turn.lines = []
        lines.append(self._line(entry))
        if len(lines) == 1:
            asyncio.get_running_loop().call_soon(self._write_turn)

    def _write_turn(self) -> None:
        lines, self._turns.lines = self._turns.lines, []
        # Writes of at most PIPE_BUF bytes to a pipe are not interleaved with other writers'.
        chunk, size = [], 0
        for line in lines:
            if chunk and size + len(line) > select.PIPE_BUF:
                _write_all(self.fd, b"".join(chunk))
                chunk, size = [], 0
            chunk.append(line)
            size += len(line)
        _write_all(self.fd, b"".join(chunk))

    def _line(self, entry: dict) -> bytes:
        now = time.time()
        second = int(now)
        cached, text = self._second_text
        if cached != second:
            # logging.Formatter's default asctime: local time, then milliseconds after a comma.
            text = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(second))
            self._second_text = (second, text)
        millis = int((now - second) * 1000)
        return b"%s,%03d INFO %s %s\n" % (text.encode(), millis, NAME.encode(),
                                          orjson.dumps(entry))


def _write_all(fd: int, data: bytes) -> None:
    while data:
        data = data[os.write(fd, data):]


_direct: _DirectLines | None = None


def write_directly(fd: int | None) -> None:
    """Writes lines straight to `fd` from now on (None: through `logging` again)."""
    global _direct
    _direct = None if fd is None else _DirectLines(fd)


def write(entry: dict) -> None:
    """Writes the access-log line of one call, unless the access log's level is above INFO."""
    _emit(entry, soon=False)


def write_soon(entry: dict) -> None:
    """`write`, from code on an event loop: the line goes out with the others of the loop's
    current turn (the module's docstring says why)."""
    _emit(entry, soon=True)


def _emit(entry: dict, soon: bool) -> None:
    if not _logger.isEnabledFor(logging.INFO):
        return
    direct = _direct
    if direct is None:
        _logger.info(orjson.dumps(entry).decode())
    elif soon:
        direct.write_soon(entry)
    else:
        direct.write(entry)
