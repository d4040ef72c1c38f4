"""Whose thread writes the next group of acknowledgements: a waiting caller's, or the log
thread's.

Batches queue here for the write-ahead log; each turn takes every batch queued (up to a size
limit) and acknowledges them as one group (writer.Writer._acknowledge: one append, one
fdatasync). A Track call waits for its acknowledgement anyway, so when no turn is running its
own thread takes the turn, and when one is, it queues and sleeps; a turn that ends with batches
queued hands the next turn to the first of them: to its waiting caller, who had to be woken
to answer anyway, or to the log thread when no caller waits for it (TrackStream, imports).
Handing every group to a log thread and back cost each batch-1 call two thread wake-ups more
under the GIL (bench/NOTES.md#batch-1-at-half-the-no-op-ceiling).

A log-thread turn that follows a group of several batches first waits, briefly, for as many
batches as that group had (`_gather`). Track calls on the event loop (server/api/servicer.py)
all hand their batches to the log thread, whose turns then took groups of 1.7 batch-1 calls
on average, and each turn's wake-ups, append and sync cost more CPU than a call's own work
(bench/NOTES.md#group-commits-that-wait-for-company). A lone caller's groups are of one batch,
so its calls never wait.

Invariant: one turn at a time, so groups are acknowledged one after another, in the order
they were taken, and the duplicate check of a group sees every group before it; a turn ends
with the queue empty or handed on, so every queued batch is acknowledged (or failed).
"""
from __future__ import annotations

import collections
import threading
from concurrent.futures import Future
from typing import Callable

from .errors import ShuttingDown


class Item:
    """A queued batch and the future of its acknowledgement."""

    __slots__ = ("batch", "future", "_wake", "_leads")

    def __init__(self, batch):
        self.batch = batch
        self.future = Future()
        self._wake = None  # a waiting caller's: released when acknowledged or handed the turn
        self._leads = False


_STOP = Item(None)
# The longest a log-thread turn waits for the company its last group had.
GATHER_SECONDS = 0.002


class GroupCommit:
    def __init__(self, acknowledge: Callable[[list[Item]], None], size: Callable[[Item], int],
                 limit: int, thread_name: str = "log-writer"):
        """`acknowledge(group)` settles every item's future; a turn takes items up to `limit`
        in `size`, at least one."""
        self._acknowledge = acknowledge
        self._size = size
        self._limit = limit
        self._lock = threading.Lock()
        self._queue: collections.deque[Item] = collections.deque()
        self._gathered = threading.Condition(self._lock)
        self._gather_until = 0  # while a turn gathers: the queue length that ends the wait
        self._last_group = 0
        self._turn_taken = False
        self._closed = False
        self._stopped = False
        self._log_turns = threading.Semaphore(0)  # turns handed to the log thread (and stop)
        self._thread = threading.Thread(target=self._log_loop, name=thread_name, daemon=True)
        self._thread.start()

    def submit(self, item: Item) -> None:
        """Queues `item`; its future settles once a turn acknowledged it."""
        if self._enqueue(item):
            self._log_turns.release()

    def commit(self, item: Item) -> None:
        """Queues `item` and returns once it is acknowledged (its future settled), having
        acknowledged its group on this thread when the turn was free or handed to it."""
        item._wake = threading.Lock()
        item._wake.acquire()
        if not self._enqueue(item):
            item._wake.acquire()
            if not item._leads:
                return
        self._take_turn()

    def close(self) -> None:
        """Acknowledges everything queued, then stops the log thread; later batches are
        refused (ShuttingDown)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        if self._enqueue(_STOP, closing=True):
            self._log_turns.release()
        self._thread.join()

    def _enqueue(self, item: Item, closing: bool = False) -> bool:
        """Queues `item`; True when the caller now holds the turn."""
        with self._lock:
            if self._closed and not closing:
                raise ShuttingDown()
            self._queue.append(item)
            if self._gather_until and (len(self._queue) >= self._gather_until or closing):
                self._gathered.notify()
            if self._turn_taken:
                return False
            self._turn_taken = True
            return True

    def _log_loop(self) -> None:
        while True:
            self._log_turns.acquire()
            if self._stopped:
                return
            self._gather()
            self._take_turn()

    def _gather(self) -> None:
        """Waits up to GATHER_SECONDS until the queue holds as many batches as the last group."""
        with self._lock:
            wanted = self._last_group
            if wanted < 2 or len(self._queue) >= wanted or self._closed:
                return
            self._gather_until = wanted
            try:
                self._gathered.wait(GATHER_SECONDS)
            finally:
                self._gather_until = 0

    def _take_turn(self) -> None:
        group = self._take_group()
        stop = bool(group) and group[-1] is _STOP
        if stop:
            group.pop()
        try:
            if group:
                self._acknowledge(group)
        except BaseException as error:  # settled here, so no caller waits forever
            for item in group:
                if not item.future.done():
                    item.future.set_exception(error)
        finally:
            for item in group:
                if item._wake is not None:
                    item._wake.release()
            if stop:
                self._stopped = True
                self._log_turns.release()
            self._pass_turn()

    def _take_group(self) -> list[Item]:
        with self._lock:
            group, total = [], 0
            while self._queue and (not group or total < self._limit):
                item = self._queue.popleft()
                group.append(item)
                if item is _STOP:
                    break
                total += self._size(item)
            self._last_group = len(group)
            return group

    def _pass_turn(self) -> None:
        with self._lock:
            if not self._queue:
                self._turn_taken = False
                return
            following = self._queue[0]
        if following._wake is None:
            self._log_turns.release()
        else:
            following._leads = True
            following._wake.release()
