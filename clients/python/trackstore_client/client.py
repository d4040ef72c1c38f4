"""The first client's interface, kept for existing callers: the scope is every method's first
argument, answers are plain dicts, the server makes the TrackIds and nothing is retried.

New code uses `trackstore.Client` (keyword scope, typed results, client TrackIds, retries); this
class only adapts its calls.
"""
from __future__ import annotations

from typing import Iterable, Iterator

import grpc

import trackstore
from trackstore.calls import MAX_MESSAGE_BYTES  # noqa: F401  (kept importable from here)
from trackstore.errors import TrackstoreError, from_rpc_error
from trackstore.events import (  # noqa: F401  (kept importable from here)
    EVENT_FIELD_ORDER,
    STRING_FIELDS,
    event_from_json,
    event_to_json,
    parse_event_time,
    to_message,
)
from trackstore.retry import NO_RETRY
from trackstore.v1 import trackevents_pb2 as pb


class Client:
    def __init__(self, target: str = "localhost:50051", api_key: str | None = None,
                 credentials: grpc.ChannelCredentials | None = None,
                 timeout: float | None = None):
        self.client = trackstore.Client(target, api_key=api_key, tls=credentials or False,
                                        timeout=timeout, retry=NO_RETRY, client_track_ids=False)
        self.stub = _Stub(self.client._methods)
        self.admin = self.stub

    def close(self) -> None:
        self.client.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def track(self, scope: str, events: Iterable) -> list[str]:
        return self.client.track(events, scope=scope)

    def track_stream(self, scope: str, batches: Iterable[Iterable]) -> list[str]:
        """One TrackStream message per batch given."""
        failed: list[BaseException] = []

        def requests() -> Iterator[pb.TrackStreamRequest]:
            try:
                for batch in batches:
                    yield pb.TrackStreamRequest(
                        scope=scope, events=[to_message(e, False) for e in batch])
            except Exception as error:
                failed.append(error)
                raise

        try:
            response = self.client._methods["TrackStream"](
                requests(), timeout=self.client._timeout("TrackStream", None),
                metadata=self.client._metadata)
        except grpc.RpcError as error:
            raise (failed[0] if failed else from_rpc_error(error)) from None
        return list(response.track_ids)

    def preview(self, scope: str, query: str) -> dict:
        return self.client.preview(query, scope=scope).to_dict()

    def list(self, scope: str, filter: str = "", orderby: str = "",
             skip: int | None = None, top: int | None = None) -> dict:
        return self.client.list(filter, orderby, skip, top, scope=scope).to_dict()

    def delete(self, scope: str, track_id: str) -> str:
        return self.client.delete(track_id, scope=scope)

    def batch_delete(self, scope: str, track_ids: list[str],
                     allow_missing: bool = False) -> list[str]:
        """Deletes up to 1000 events at once, all or none; returns the TrackIds deleted."""
        return self.client.batch_delete(track_ids, allow_missing=allow_missing, scope=scope)

    def compact(self) -> dict:
        return dict(self.client.compact())

    def stats(self) -> dict:
        return dict(self.client.stats())


class _Stub:
    """The raw gRPC callables by RPC name (`client.stub.Track(request)`), as before."""

    def __init__(self, methods: dict):
        self.__dict__.update(methods)


__all__ = ["Client", "TrackstoreError", "event_from_json", "event_to_json"]
