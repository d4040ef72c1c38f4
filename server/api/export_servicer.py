"""The ExportService and ImportService RPCs: check access, make one call to the exports
(server/exports/service.py) or the import (server/imports/service.py), write the answer."""
from __future__ import annotations

from trackstore.v1 import export_pb2 as pb

from ..errors import BadRequest, FieldViolation
from ..exports.paging import ExportQuery
from ..imports import service as imports
from ..limits import MAX_IMPORT_BYTES
from .rpc import rpc
from .servicer import TrackEventsServicer, _with_items

EXPORT_ITEMS_FIELD = pb.ExportResponse.DESCRIPTOR.fields_by_name["items"].number
IMPORT_FORMATS = {pb.IMPORT_FORMAT_PROFILESTORE: "profilestore",
                  pb.IMPORT_FORMAT_STATSIG: "statsig", pb.IMPORT_FORMAT_ABSMARTLY: "absmartly",
                  pb.IMPORT_FORMAT_CROCT: "croct"}


class _BesideTrack:
    """A servicer that takes the engine, the scope check and access from TrackEventsServicer."""

    def __init__(self, track_servicer: TrackEventsServicer):
        self._track = track_servicer


class ExportServicer(_BesideTrack):
    SERVICE = pb.DESCRIPTOR.services_by_name["ExportService"]
    RESPONSE_ENCODERS = {"Export": TrackEventsServicer.RESPONSE_ENCODERS["List"]}
    exports = None  # set with the engine (server/api/app.py)

    def _exports(self):
        self._track._engine()  # Starting until the store is open
        return self.exports

    @rpc()
    def Export(self, request, context, call):
        exports = self._exports()
        query = ExportQuery.checked(
            self._track._scope(request.scope, call),
            request.start if request.HasField("start") else None,
            request.end if request.HasField("end") else None,
            request.page_size, request.event_types)
        rows, next_cursor = exports.page(query, request.cursor)
        call["rows"] = len(rows)
        return _with_items(pb.ExportResponse(next_cursor=next_cursor), rows, EXPORT_ITEMS_FIELD)

    @rpc()
    def CreateExportConfiguration(self, request, context, call):
        exports = self._exports()
        self._track._scope(request.configuration.scope, call)
        return pb.CreateExportConfigurationResponse(
            configuration=exports.create(request.configuration))

    @rpc()
    def ListExportConfigurations(self, request, context, call):
        exports = self._exports()
        found = exports.list(self._track._scope(request.scope, call))
        call["rows"] = len(found)
        return pb.ListExportConfigurationsResponse(configurations=found)

    @rpc()
    def GetExportConfiguration(self, request, context, call):
        exports = self._exports()
        return pb.GetExportConfigurationResponse(
            configuration=exports.get(self._track._scope(request.scope, call), request.name))

    @rpc()
    def UpdateExportConfiguration(self, request, context, call):
        exports = self._exports()
        self._track._scope(request.configuration.scope, call)
        return pb.UpdateExportConfigurationResponse(configuration=exports.update(
            request.configuration, list(request.update_mask.paths)))

    @rpc()
    def DeleteExportConfiguration(self, request, context, call):
        exports = self._exports()
        exports.delete(self._track._scope(request.scope, call), request.name)
        return pb.DeleteExportConfigurationResponse(name=request.name)

    @rpc()
    def RunExportConfiguration(self, request, context, call):
        exports = self._exports()
        run = exports.run_now(self._track._scope(request.scope, call), request.name)
        call["rows"] = run.rows
        return pb.RunExportConfigurationResponse(run=run)

    @rpc()
    def ListExportRuns(self, request, context, call):
        exports = self._exports()
        found = exports.runs(self._track._scope(request.scope, call), request.name)
        call["rows"] = len(found)
        return pb.ListExportRunsResponse(runs=found)

    @rpc()
    def TestExportDestination(self, request, context, call):
        exports = self._exports()
        scope = self._track._scope(request.scope, call)
        which = request.WhichOneof("subject")
        if which is None:
            raise BadRequest("destination or name is required",
                             [FieldViolation("subject", "give a destination or a name")])
        probe = exports.test_destination(
            scope, request.destination if which == "destination" else None, request.name)
        return pb.TestExportDestinationResponse(probe=probe)


class ImportServicer(_BesideTrack):
    SERVICE = pb.DESCRIPTOR.services_by_name["ImportService"]

    @rpc()
    def Import(self, request_iterator, context, call):
        engine = self._track._engine()
        first, chunks, size = None, [], 0
        for request in request_iterator:
            if first is None:
                first = request
                self._track._scope(request.scope, call)
                if request.format not in IMPORT_FORMATS:
                    raise BadRequest("format must be profilestore, statsig, absmartly or croct",
                                     [FieldViolation("format", "not set or unknown")])
            size += len(request.data)
            if size > MAX_IMPORT_BYTES:
                raise BadRequest(
                    f"an import document is at most {MAX_IMPORT_BYTES} bytes; split it",
                    [FieldViolation("data", "too large")], reason="IMPORT_TOO_LARGE")
            chunks.append(request.data)
        if first is None:
            raise BadRequest("an import needs at least one message",
                             [FieldViolation("data", "no message")])
        outcome = imports.import_document(engine, first.scope, IMPORT_FORMATS[first.format],
                                          first.skip_invalid, b"".join(chunks))
        call["rows"] = len(outcome.track_ids)
        return pb.ImportResponse(
            records=outcome.records, imported=outcome.imported,
            already_stored=outcome.already_stored,
            skipped=len(outcome.problems), track_ids=outcome.track_ids,
            problems=[pb.ImportProblem(index=p.index, line=p.line, column=p.column,
                                       message=p.problem) for p in outcome.problems])
