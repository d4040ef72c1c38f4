"""Calls of the ExportService and ImportService for the end-to-end tests (the Python client
has no methods for them: the CLI speaks to the stubs, and so do these)."""
from __future__ import annotations

import grpc
import orjson
from google.protobuf import json_format

from trackstore.v1 import export_pb2 as pb
from trackstore.v1 import export_pb2_grpc as pb_grpc
from trackstore_client import TrackstoreError


class Calls:
    def __init__(self, server):
        self._channel = grpc.insecure_channel(server.target)
        self.exports = pb_grpc.ExportServiceStub(self._channel)
        self.imports = pb_grpc.ImportServiceStub(self._channel)

    def __call__(self, method, request, timeout: float = 120):
        try:
            return method(request, timeout=timeout)
        except grpc.RpcError as error:
            raise TrackstoreError.from_rpc_error(error) from None

    def page(self, scope="default", **fields) -> tuple[list[dict], str]:
        answer = self(self.exports.Export, pb.ExportRequest(scope=scope, **fields))
        return [json_format.MessageToDict(item) for item in answer.items], answer.next_cursor

    def create(self, **fields) -> pb.ExportConfiguration:
        request = pb.CreateExportConfigurationRequest(
            configuration=pb.ExportConfiguration(**fields))
        return self(self.exports.CreateExportConfiguration, request).configuration

    def run(self, name: str, scope: str = "default") -> pb.ExportRun:
        return self(self.exports.RunExportConfiguration,
                    pb.RunExportConfigurationRequest(scope=scope, name=name)).run

    def import_(self, source: str, data: bytes, scope: str = "default",
                skip_invalid: bool = False, chunk: int = 1000) -> pb.ImportResponse:
        first = pb.ImportRequest(scope=scope, format=getattr(pb, f"IMPORT_FORMAT_{source.upper()}"),
                                 skip_invalid=skip_invalid, data=data[:chunk])
        rest = [pb.ImportRequest(data=data[i:i + chunk]) for i in range(chunk, len(data), chunk)]
        return self(self.imports.Import, iter([first, *rest]))

    def close(self) -> None:
        self._channel.close()


def ndjson(events: list[dict]) -> bytes:
    return b"".join(orjson.dumps(event) + b"\n" for event in events)
