"""The asyncio client: `trackstore.aio.Client`, on grpc.aio, with the blocking client's methods.

    async with trackstore.aio.Client("localhost:50051") as client:
        ids = await client.track([{"EventType": "pageview"}])
        rows = await client.preview("Events | count")
        async for event in client.iter_list("EventType eq 'pageview'"):
            ...

Create it inside a running event loop. Deadlines, retries and errors are the blocking
client's (see `trackstore.Client`).
"""
from __future__ import annotations

import asyncio
from typing import AsyncIterator

import grpc
import grpc.aio

from .calls import STREAM_BATCH, Call, ClientBase, ListPages, StreamRequests
from .retry import Attempts
from .segments import SegmentMethods


class Client(SegmentMethods, ClientBase):
    """Same arguments as `trackstore.Client`; every method is a coroutine except `iter_list`
    (an async iterator) and `tracker` (a thread-backed `trackstore.Tracker`)."""

    def _open_channel(self, target, credentials, options):
        if credentials is not None:
            return grpc.aio.secure_channel(target, credentials, options=options)
        return grpc.aio.insecure_channel(target, options=options)

    async def _run(self, call: Call):
        method = self._methods[call.method]
        attempts = Attempts(self.retry, self._timeout(call.method, call.timeout),
                            call.safe_to_repeat)
        for timeout in attempts:
            try:
                return call.answer(
                    await method(call.request, timeout=timeout, metadata=self._metadata))
            except grpc.RpcError as error:
                await asyncio.sleep(attempts.failed(error))

    async def track_stream(self, events, *, scope: str | None = None,
                           batch_size: int = STREAM_BATCH,
                           timeout: float | None = None) -> list[str]:
        """Streams events from an iterable or an async iterable; see Client.track_stream."""
        requests = StreamRequests(events, self._scope(scope), batch_size, self.client_track_ids)
        while True:  # a stream per answer that fits one message (StreamRequests)
            source = aiter(requests) if hasattr(events, "__aiter__") else iter(requests)
            try:
                response = await self._methods["TrackStream"](
                    source, timeout=self._timeout("TrackStream", timeout),
                    metadata=self._metadata)
            except grpc.RpcError as error:
                raise requests.failure(error) from None
            if requests.answered(response):
                return requests.track_ids

    async def iter_list(self, filter: str = "", orderby: str = "", *, skip: int = 0,
                        top: int | None = None, page_size: int = 1000,
                        scope: str | None = None,
                        timeout: float | None = None) -> AsyncIterator[dict]:
        """Every matching event, page by page, within List's window; see Client.iter_list."""
        pages = ListPages(skip, top, page_size)
        for page_skip, page_top in pages:
            page = await self.list(filter, orderby, page_skip, page_top, scope=scope,
                                   timeout=timeout)
            pages.got(page_top, len(page))
            for row in page:
                yield row

    def tracker(self, max_batch: int = 1000, max_delay: float = 0.2, **options):
        """A batching tracker (threads and a blocking channel of its own to the same server):
        `track()` never awaits; await `asyncio.to_thread(tracker.flush)` to wait for it."""
        from .client import Client as BlockingClient

        return BlockingClient(**self._settings).tracker(max_batch, max_delay,
                                                        close_client=True, **options)

    async def close(self) -> None:
        await self._channel.close()

    async def __aenter__(self) -> "Client":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()
