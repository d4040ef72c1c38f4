"""The blocking client: `trackstore.Client`.

    with trackstore.Client("localhost:50051", api_key=None, scope="default") as client:
        ids = client.track([{"EventType": "pageview", "Payload": {"sku": "a-1"}}])
        rows = client.preview("Events | where EventType == 'pageview' | take 10")
        table = rows.to_arrow()

Every call has a deadline (the client's `timeout`, else a default per method, overridable per
call) and is retried as `trackstore.retry` says; a failed call raises a `TrackstoreError`
subclass. One client (one channel) is safe to share between threads.
"""
from __future__ import annotations

import time
from typing import Iterable, Iterator

import grpc

from .calls import STREAM_BATCH, Call, ClientBase, ListPages, StreamRequests
from .retry import Attempts
from .segments import SegmentMethods


class Client(SegmentMethods, ClientBase):
    """A connection to one trackstore server. Arguments: `target` host:port, `api_key`,
    `tls` (True for TLS with the system's roots, or grpc.ChannelCredentials), `scope` the
    default scope of every call; keyword-only: `timeout` seconds for every call (default: 60,
    Preview 150, TrackStream and Compact 3600), `retry` a RetryPolicy, `client_track_ids`
    (default True: events without a TrackId get one before the first try, so Track is safe to
    retry), `options` extra gRPC channel options."""

    def _open_channel(self, target, credentials, options):
        if credentials is not None:
            return grpc.secure_channel(target, credentials, options=options)
        return grpc.insecure_channel(target, options=options)

    def _run(self, call: Call):
        method = self._methods[call.method]
        attempts = Attempts(self.retry, self._timeout(call.method, call.timeout),
                            call.safe_to_repeat)
        for timeout in attempts:
            try:
                return call.answer(method(call.request, timeout=timeout, metadata=self._metadata))
            except grpc.RpcError as error:
                time.sleep(attempts.failed(error))

    def track_stream(self, events: Iterable, *, scope: str | None = None,
                     batch_size: int = STREAM_BATCH, timeout: float | None = None) -> list[str]:
        """Streams any number of events, `batch_size` a message, in as many TrackStream calls
        as their answers need (each lists its TrackIds in one message: about 1.7 million
        events a call); returns every TrackId once all are durable. Not retried (an iterable
        cannot be read twice); a failure leaves the earlier calls' events stored, and since the
        events carry client TrackIds, sending the same events again stores none twice."""
        requests = StreamRequests(events, self._scope(scope), batch_size, self.client_track_ids)
        while True:  # a stream per answer that fits one message (StreamRequests)
            try:
                response = self._methods["TrackStream"](
                    iter(requests), timeout=self._timeout("TrackStream", timeout),
                    metadata=self._metadata)
            except grpc.RpcError as error:
                raise requests.failure(error) from None
            if requests.answered(response):
                return requests.track_ids

    def iter_list(self, filter: str = "", orderby: str = "", *, skip: int = 0,
                  top: int | None = None, page_size: int = 1000, scope: str | None = None,
                  timeout: float | None = None) -> Iterator[dict]:
        """Every matching event (or `top` of them), fetched page by page, within List's window:
        skip + top stays under 10,000 (a ListWindowWarning says when events were left)."""
        pages = ListPages(skip, top, page_size)
        for page_skip, page_top in pages:
            page = self.list(filter, orderby, page_skip, page_top, scope=scope, timeout=timeout)
            pages.got(page_top, len(page))
            yield from page

    def tracker(self, max_batch: int = 1000, max_delay: float = 0.2, **options):
        """A batching tracker over this client: see `trackstore.Tracker`."""
        from .tracker import Tracker

        return Tracker(self, max_batch=max_batch, max_delay=max_delay, **options)

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
