"""Newest-first reads (server/reads/newest_first.py) answer exactly like a read of the whole scope."""
from __future__ import annotations

import datetime as dt

import pytest

from helpers import event

START = dt.datetime(2023, 1, 1)
COUNT = 3000


def _time(i: int) -> dt.datetime:
    # Out of order, spread over ~400 days, with runs of equal times (ties for the TrackId order).
    return START + dt.timedelta(hours=(i * 7919) % COUNT * 3.2 // 1)


def _stamp(value: dt.datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _doc(i: int) -> dict:
    kind = "purchase" if i % 10 == 0 else "pageview"
    return event(i, TrackId=f"nf-{i:05d}", EventType=kind, EventTime=_stamp(_time(i)))


@pytest.fixture(scope="module")
def store(shared_server):
    with shared_server.client() as client:
        client.track_stream("newest", ([_doc(i) for i in range(b, b + 500)]
                                       for b in range(0, COUNT, 500)))
    return shared_server


def _expected(kind: str | None) -> list[str]:
    docs = [_doc(i) for i in range(COUNT) if kind is None or _doc(i)["EventType"] == kind]
    docs.sort(key=lambda d: (-_time(int(d["TrackId"][3:])).timestamp(), d["TrackId"]))
    return [d["TrackId"] for d in docs]


@pytest.mark.parametrize("skip,top", [(0, 20), (37, 5), (250, 40), (290, 30), (2900, 50)])
def test_list_pages_equal_the_order_of_the_whole_scope(store, skip, top):
    with store.client() as client:
        purchases = client.list("newest", filter="EventType eq 'purchase'", skip=skip, top=top)
        everything = client.list("newest", skip=skip, top=top)
    assert [i["TrackId"] for i in purchases["items"]] == _expected("purchase")[skip:skip + top]
    assert [i["TrackId"] for i in everything["items"]] == _expected(None)[skip:skip + top]


def test_top_by_event_time_equals_the_whole_scope(store):
    with store.client() as client:
        top = client.preview("newest", "Events | where EventType == 'purchase' "
                                       "| top 7 by EventTime desc | project TrackId")
        capped = client.preview("newest", "Events | sort by EventTime desc, TrackId asc")
    assert [i["TrackId"] for i in top["items"]] == _expected("purchase")[:7]
    assert capped["truncated"] is True
    assert [i["TrackId"] for i in capped["items"]] == _expected(None)[:1000]


def test_a_new_event_heads_the_list_at_once_and_leaves_it_when_deleted(store):
    newest = _stamp(START + dt.timedelta(days=500))
    with store.client() as client:
        client.list("newest", filter="EventType eq 'purchase'", top=3)  # warm the caches
        client.track("newest", [event(1, TrackId="nf-new", EventType="purchase",
                                      EventTime=newest)])
        head = client.list("newest", filter="EventType eq 'purchase'", top=3)
        assert [i["TrackId"] for i in head["items"]] == ["nf-new", *_expected("purchase")[:2]]
        client.delete("newest", "nf-new")
        after = client.list("newest", filter="EventType eq 'purchase'", top=3)
    assert [i["TrackId"] for i in after["items"]] == _expected("purchase")[:3]
