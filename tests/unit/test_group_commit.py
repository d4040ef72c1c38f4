"""Group commit: one turn at a time, every item acknowledged once, callers lead when the turn is
free, the log thread when no caller waits, and close drains the queue."""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from trackstore_server.errors import ShuttingDown
from trackstore_server import group_commit
from trackstore_server.group_commit import GroupCommit, Item

WAIT = 10.0


class Recorder:
    """An acknowledge callback that records its groups and the threads that ran them, and
    fails when two turns overlap."""

    def __init__(self, seconds: float = 0.0, fail_on: object = None):
        self.groups: list[list] = []
        self.threads: list[str] = []
        self.seconds = seconds
        self.fail_on = fail_on
        self._inside = threading.Lock()

    def __call__(self, group: list[Item]) -> None:
        assert self._inside.acquire(blocking=False), "two turns overlapped"
        try:
            time.sleep(self.seconds)
            if any(item.batch == self.fail_on for item in group):
                raise RuntimeError("the log is unwritable")
            self.groups.append([item.batch for item in group])
            self.threads.append(threading.current_thread().name)
            for item in group:
                item.future.set_result(item.batch)
        finally:
            self._inside.release()


def test_a_caller_with_the_turn_free_acknowledges_on_its_own_thread():
    recorder = Recorder()
    commits = GroupCommit(recorder, lambda item: 1, limit=100)
    item = Item("a")
    commits.commit(item)
    assert item.future.result(0) == "a"
    assert recorder.threads == [threading.current_thread().name]
    commits.close()


def test_submitted_items_are_acknowledged_by_the_log_thread():
    recorder = Recorder()
    commits = GroupCommit(recorder, lambda item: 1, limit=100, thread_name="the-log")
    item = Item("a")
    commits.submit(item)
    assert item.future.result(WAIT) == "a"
    assert recorder.threads == ["the-log"]
    commits.close()


def test_concurrent_callers_are_each_acknowledged_once_in_groups_that_never_overlap():
    recorder = Recorder(seconds=0.002)
    commits = GroupCommit(recorder, lambda item: 1, limit=5)

    def call(number: int) -> object:
        item = Item(number)
        if number % 3 == 0:
            commits.submit(item)
            return item.future.result(WAIT)
        commits.commit(item)
        assert item.future.done()
        return item.future.result(0)

    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(call, range(400)))
    commits.close()
    assert answers == list(range(400))
    acknowledged = [number for group in recorder.groups for number in group]
    assert sorted(acknowledged) == list(range(400))
    assert max(len(group) for group in recorder.groups) <= 5
    assert len(recorder.groups) < 400  # callers that queued behind a turn shared a group
    assert any(name != "log-writer" for name in recorder.threads)


def test_a_failing_group_fails_its_items_and_the_next_turn_goes_on():
    recorder = Recorder(fail_on="bad")
    commits = GroupCommit(recorder, lambda item: 1, limit=1)
    bad, good = Item("bad"), Item("good")
    commits.commit(bad)
    commits.commit(good)
    with pytest.raises(RuntimeError, match="unwritable"):
        bad.future.result(0)
    assert good.future.result(0) == "good"
    commits.close()


def test_close_acknowledges_what_is_queued_then_refuses():
    recorder = Recorder(seconds=0.01)
    commits = GroupCommit(recorder, lambda item: 1, limit=1)
    items = [Item(number) for number in range(20)]
    for item in items:
        commits.submit(item)
    commits.close()
    assert [item.future.result(0) for item in items] == list(range(20))
    with pytest.raises(ShuttingDown):
        commits.commit(Item("late"))
    with pytest.raises(ShuttingDown):
        commits.submit(Item("late"))


class GatedRecorder(Recorder):
    """A Recorder whose first turn, once `entered` is set, waits for `gate`, so that later
    items queue behind it."""

    def __init__(self):
        super().__init__()
        self.entered, self.gate = threading.Event(), threading.Event()

    def __call__(self, group: list[Item]) -> None:
        if not self.groups:
            self.entered.set()
            assert self.gate.wait(WAIT)
        super().__call__(group)


def _queued_behind_a_turn(commits: GroupCommit, recorder: GatedRecorder, names: str) -> None:
    """Acknowledges `names[0]` alone and the rest as one group after it."""
    items = [Item(name) for name in names]
    commits.submit(items[0])
    assert recorder.entered.wait(WAIT)
    for item in items[1:]:
        commits.submit(item)
    recorder.gate.set()
    assert items[-1].future.result(WAIT) == names[-1]


def test_a_turn_after_a_group_of_several_waits_for_as_many_items(monkeypatch):
    monkeypatch.setattr(group_commit, "GATHER_SECONDS", WAIT)
    recorder = GatedRecorder()
    commits = GroupCommit(recorder, lambda item: 1, limit=100)
    _queued_behind_a_turn(commits, recorder, "abcd")
    items = {name: Item(name) for name in "efg"}
    began = time.monotonic()
    commits.submit(items["e"])
    time.sleep(0.2)
    assert not items["e"].future.done()  # waiting for company: the last group had three
    commits.submit(items["f"])
    commits.submit(items["g"])  # the third: the turn goes on at once
    assert items["g"].future.result(WAIT) == "g"
    assert time.monotonic() - began < WAIT / 2
    assert recorder.groups == [["a"], ["b", "c", "d"], ["e", "f", "g"]]
    commits.close()


def test_a_lone_caller_never_waits_for_company(monkeypatch):
    monkeypatch.setattr(group_commit, "GATHER_SECONDS", WAIT)
    recorder = Recorder()
    commits = GroupCommit(recorder, lambda item: 1, limit=100)
    began = time.monotonic()
    for name in "abcde":
        item = Item(name)
        commits.submit(item)
        assert item.future.result(WAIT) == name
    assert time.monotonic() - began < WAIT / 2  # five gathers would take five times WAIT
    assert recorder.groups == [[name] for name in "abcde"]
    commits.close()


def test_close_ends_a_turn_that_waits_for_company(monkeypatch):
    monkeypatch.setattr(group_commit, "GATHER_SECONDS", WAIT)
    recorder = GatedRecorder()
    commits = GroupCommit(recorder, lambda item: 1, limit=100)
    _queued_behind_a_turn(commits, recorder, "abc")
    last = Item("d")
    commits.submit(last)  # its turn waits for a second item: the last group had two
    time.sleep(0.2)
    began = time.monotonic()
    commits.close()
    assert time.monotonic() - began < WAIT / 2
    assert last.future.result(0) == "d"
    assert recorder.groups == [["a"], ["b", "c"], ["d"]]
