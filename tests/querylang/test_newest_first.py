"""Which queries may be read newest first (querylang/newest_first.py)."""
from __future__ import annotations

import pytest

import querylang
from querylang.newest_first import NewestFirst

ELIGIBLE = [
    ("Events | top 10 by EventTime desc", NewestFirst(10, 10, "EventTime")),
    ("Events | where EventType == 'x' and User.Email != '' | top 10 by EventTime", NewestFirst(10, 10, "EventTime")),
    ("Events | sort by EventTime desc", NewestFirst(1001, 1001, "EventTime")),  # the row cap applies
    ("Events | sort by EventTime desc, DeviceId asc | take 5 | project EventType", NewestFirst(5, 5, None)),
    ("Events | sort by EventTime desc | take 5000", NewestFirst(1001, 1001, "EventTime")),
    ("Events | extend T = EventTime | top 3 by T", NewestFirst(3, 3, "EventTime")),
    ("Events | project-rename T = EventTime | top 2 by T desc nulls last", NewestFirst(2, 2, "T")),
    ("Events | project EventTime, EventType | where EventType != '' | top 4 by EventTime",
     NewestFirst(4, 4, "EventTime")),
    ("Events | top 4 by EventTime | project-rename When = EventTime", NewestFirst(4, 4, "When")),
    ("Events | top 4 by EventTime | extend EventTime = 1", NewestFirst(4, 4, None)),
]

NOT_ELIGIBLE = [
    "Events | top 10 by EventTime asc",
    "Events | top 10 by EventTime desc nulls first",
    "Events | extend EventTime = EventTime + 1h | top 3 by EventTime",
    "Events | extend T = EventTime | extend T = T + 1h | top 3 by T",
    "Events | project-rename T = EventTime, EventTime = PageUri | top 3 by EventTime",
    "Events | summarize count() by EventType | top 3 by count_",
    "Events | take 5 | sort by EventTime desc",
    "Events | sort by EventTime desc | where EventType == 'a'",
    "Events | sort by EventTime desc | take 5 | take 2",
    "Events | distinct EventType, EventTime | top 3 by EventTime",
    "Events | top 10 by DeviceId desc",
    "Events | where EventType == 'a' | count",
    "Events | top 0 by EventTime desc",
]


@pytest.mark.parametrize("query,expected", ELIGIBLE)
def test_newest_first_queries_say_how_many_rows_make_them_exact(query, expected):
    assert querylang.compile(query, max_rows=1001).newest_first == expected


@pytest.mark.parametrize("query", NOT_ELIGIBLE)
def test_other_queries_are_read_whole(query):
    assert querylang.compile(query, max_rows=1001).newest_first is None


def test_list_pages_ordered_newest_first_count_their_skip():
    page = querylang.compile_list("EventType eq 'a'", "", skip=9900, top=50)
    assert page.newest_first == NewestFirst(50, 9950, "EventTime")
    explicit = querylang.compile_list("", "EventTime desc, DeviceId", skip=0, top=20)
    assert explicit.newest_first == NewestFirst(20, 20, "EventTime")


@pytest.mark.parametrize("orderby", ["EventTime asc", "DeviceId desc", "EventType, EventTime desc"])
def test_list_pages_in_another_order_are_read_whole(orderby):
    assert querylang.compile_list("", orderby, skip=0, top=20).newest_first is None
