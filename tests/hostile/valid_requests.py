"""A valid request of each method known when this was written, so a text set in one of its
fields (test_injection.py) or a key tried on it (test_tenants.py) goes as deep as the call
does; a method added since starts from its empty message."""
from __future__ import annotations

import pathlib

from trackstore.v1 import export_pb2 as export_pb
from trackstore.v1 import trackevents_pb2 as pb

from grpc_calls import request_class

IMPORT_DOCUMENT = (pathlib.Path(__file__).resolve().parents[1] / "data" / "imports" /
                   "profilestore-event.json").read_bytes()
# A configuration's first run is due once its start is past: none of these runs in a test.
FAR_FUTURE = 4_102_444_800_000  # 2100-01-01, in ms since the epoch
BASE_CONFIGURATION = export_pb.ExportConfiguration(
    name="base", schedule=export_pb.EXPORT_SCHEDULE_DAILY, start_at=FAR_FUTURE,
    format=export_pb.EXPORT_FORMAT_NDJSON,
    destination=export_pb.ExportDestination(local=export_pb.LocalDirectory(path="base")))
BASES = {
    "Track": pb.TrackRequest(events=[pb.TrackEvent(event_type="injection")]),
    "TrackStream": pb.TrackStreamRequest(events=[pb.TrackEvent(event_type="injection")]),
    "Preview": pb.PreviewRequest(query="Events | count"),
    "Delete": pb.DeleteRequest(track_id="no-such-event"),
    "BatchDelete": pb.BatchDeleteRequest(track_ids=["no-such-event"], allow_missing=True),
    "CreateExportConfiguration": export_pb.CreateExportConfigurationRequest(
        configuration=BASE_CONFIGURATION),
    "UpdateExportConfiguration": export_pb.UpdateExportConfigurationRequest(
        configuration=BASE_CONFIGURATION),
    "GetExportConfiguration": export_pb.GetExportConfigurationRequest(name="base"),
    "ListExportRuns": export_pb.ListExportRunsRequest(name="base"),
    "TestExportDestination": export_pb.TestExportDestinationRequest(
        destination=BASE_CONFIGURATION.destination),
    "Import": export_pb.ImportRequest(format=export_pb.IMPORT_FORMAT_PROFILESTORE,
                                      data=IMPORT_DOCUMENT),
}


def base_request(method):
    base = BASES.get(method.name)
    return base if base is not None and base.DESCRIPTOR == method.input_type \
        else request_class(method)()
