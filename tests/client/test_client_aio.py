"""trackstore.aio.Client against the real server: the same methods, awaited."""
from __future__ import annotations

import asyncio

import pyarrow as pa
import pytest

import trackstore
import trackstore.aio
from helpers import event


def run(coroutine):
    return asyncio.run(coroutine)


def test_every_method_awaited(shared_server):
    async def calls():
        async with trackstore.aio.Client(shared_server.target, scope="aio") as client:
            ids = await client.track([event(1), event(2)])
            streamed = await client.track_stream(event(i) for i in range(10, 15))
            count = (await client.preview("Events | count"))[0]["Count"]
            page = await client.list(orderby="EventTime asc", top=3)
            every = [row["TrackId"] async for row in client.iter_list(page_size=2)]
            deleted = await client.delete(ids[0])
            batch = await client.batch_delete([ids[1], streamed[0]])
            stats = await client.stats()
            compacted = await client.compact()
            return ids, streamed, count, page, every, deleted, batch, stats, compacted

    ids, streamed, count, page, every, deleted, batch, stats, compacted = run(calls())
    assert len(ids) == 2 and len(streamed) == 5 and count == 7
    assert len(page) == 3 and page.to_arrow().schema.field("EventTime").type == \
        pa.timestamp("us", tz="UTC")
    assert sorted(every) == sorted(ids + streamed)
    assert deleted == ids[0] and batch == [ids[1], streamed[0]]
    # Deletions of events still unflushed are complete at once; the others wait for compaction.
    assert stats.events == 4 and compacted.applied_deletions == stats.pending_deletions


def test_track_stream_takes_an_async_iterable(shared_server):
    async def events():
        for i in range(1500):
            yield event(i)

    async def stream():
        async with trackstore.aio.Client(shared_server.target, scope="aio-stream") as client:
            ids = await client.track_stream(events(), batch_size=500)
            return ids, (await client.preview("Events | count"))[0]["Count"]

    ids, count = run(stream())
    assert len(set(ids)) == 1500 and count == 1500


def test_errors_are_the_same_classes(shared_server):
    async def failing():
        async with trackstore.aio.Client(shared_server.target) as client:
            await client.preview("Events | where", scope="aio-errors")

    with pytest.raises(trackstore.InvalidArgument) as error:
        run(failing())
    assert error.value.reason == "QUERY_INVALID"


def test_the_tracker_of_an_async_client(shared_server):
    async def tracked():
        async with trackstore.aio.Client(shared_server.target, scope="aio-tracker") as client:
            tracker = client.tracker(max_delay=0.05)
            for i in range(300):
                tracker.track(event(i))
            await asyncio.to_thread(tracker.close)
            return tracker.stats(), (await client.preview("Events | count"))[0]["Count"]

    stats, count = run(tracked())
    assert stats["acknowledged"] == 300 and count == 300
