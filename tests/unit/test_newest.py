"""The widening window of server/reads/newest_first.py gives the answer of the whole scope, read or not."""
from __future__ import annotations

import datetime as dt
import random

import pytest

from querylang.newest_first import NewestFirst
from trackstore_server.reads.newest_first import WindowPlanner, run_newest_first

START = dt.datetime(2024, 1, 1)


def make_events(seed: int, count: int, days: int) -> list[tuple[dt.datetime, int, bool]]:
    rng = random.Random(seed)
    return [(START + dt.timedelta(seconds=rng.randrange(days * 86400)), i, rng.random() < 0.05)
            for i in range(count)]


def page(events, since, skip, top):
    """A List page over the matching events at or after `since`: (EventTime desc, id)."""
    chosen = [e for e in events if e[2] and (since is None or e[0] >= since)]
    chosen.sort(key=lambda e: (-e[0].timestamp(), e[1]))
    return chosen[skip:skip + top]


def bounds(events):
    times = [e[0] for e in events]
    return (min(times), max(times)) if times else (None, None)


@pytest.mark.parametrize("seed", range(12))
def test_every_page_equals_the_page_of_the_whole_scope(seed):
    rng = random.Random(seed)
    events = make_events(seed, 3000, rng.choice([1, 30, 400]))
    planner = WindowPlanner()
    reads = []
    for _ in range(10):
        skip, top = rng.choice([0, 10, 100, 140, 1000]), rng.choice([1, 5, 50])
        hint = NewestFirst(top, skip + top)

        def since(t, skip=skip, top=top):
            reads.append(t)
            return page(events, t, skip, top)

        got = run_newest_first(planner, ("shape",), hint, bounds(events), since,
                               lambda skip=skip, top=top: page(events, None, skip, top))
        assert got == page(events, None, skip, top)


def test_a_learned_window_answers_the_next_call_in_one_read():
    events = make_events(1, 5000, 90)
    planner = WindowPlanner()
    hint = NewestFirst(20, 20)
    reads = []

    def since(t):
        reads.append(t)
        return page(events, t, 0, 20)

    def whole():
        raise AssertionError("the whole scope was read")

    first = run_newest_first(planner, ("q",), hint, bounds(events), since, whole)
    assert len(first) == 20 and len(reads) > 1  # one hour holds too few matches
    reads.clear()
    again = run_newest_first(planner, ("q",), hint, bounds(events), since, whole)
    assert again == first and len(reads) == 1


def test_a_window_reaching_the_oldest_event_reads_the_whole_scope_once():
    events = make_events(2, 200, 2)  # few matches: no window below the oldest event holds 50
    whole_reads = []
    result = run_newest_first(
        WindowPlanner(), ("q",), NewestFirst(50, 50), bounds(events),
        lambda t: page(events, t, 0, 50),
        lambda: whole_reads.append(1) or page(events, None, 0, 50))
    assert whole_reads == [1] and result == page(events, None, 0, 50)


def test_an_empty_scope_is_read_whole():
    result = run_newest_first(WindowPlanner(), ("q",), NewestFirst(5, 5), (None, None),
                              lambda t: pytest.fail("no window for an empty scope"), lambda: [])
    assert result == []


def test_the_span_of_an_exact_answer_sizes_the_next_window_tightly():
    events = make_events(4, 100_000, 90)  # 5,000 match
    planner = WindowPlanner()
    hint = NewestFirst(50, 2000)  # a page at skip 1950
    reads = []

    def since(t):
        reads.append(t)
        return page(events, t, 1950, 50)

    whole_reads = []

    def whole():
        whole_reads.append(1)
        return page(events, None, 1950, 50)

    def last_time(result):
        return result[-1][0]

    first = run_newest_first(planner, ("q",), hint, bounds(events), since, whole,
                             last_time=last_time)
    # The widening overshoots: the 8-fold steps of a page that comes back empty pass the 2000th
    # newest event (36 of the 90 days back) and reach the oldest, so the whole scope is read.
    newest = bounds(events)[1]
    needed = newest - first[-1][0]
    assert whole_reads == [1] and needed > dt.timedelta(days=20)
    reads.clear()
    again = run_newest_first(planner, ("q",), hint, bounds(events), since, whole,
                             last_time=last_time)
    assert again == first and len(reads) == 1 and whole_reads == [1]
    assert needed <= newest - reads[0] <= 1.31 * needed
