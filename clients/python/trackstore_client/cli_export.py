"""The `trackstore` commands of exports and imports (issue 26): `export` (cursor paging),
`exports create|list|get|update|delete|run|runs|test` (scheduled file exports) and
`import --from FORMAT FILE|-`. They speak to the generated stubs directly; output and errors
go through cli.py's helpers (one JSON document on stdout, `CODE: message` on stderr).
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import Iterator

import grpc
import orjson
from google.protobuf import field_mask_pb2, json_format

from trackstore.v1 import export_pb2 as pb
from trackstore.v1 import export_pb2_grpc as pb_grpc

from .client import TrackstoreError, parse_event_time
from .output import print_json

SECRET_ENV = "TRACKSTORE_EXPORT_SECRET_ACCESS_KEY"
IMPORT_CHUNK_BYTES = 1 << 20
# The enums' values by their short names (EXPORT_FORMAT_CSV -> csv).
ENUMS = {enum: {value.name[len(prefix):].lower(): value.number for value in
                enum.DESCRIPTOR.values if value.number}
         for enum, prefix in ((pb.ExportSchedule, "EXPORT_SCHEDULE_"),
                              (pb.ExportFormat, "EXPORT_FORMAT_"),
                              (pb.ExportCompression, "EXPORT_COMPRESSION_"),
                              (pb.ExportRunState, "EXPORT_RUN_STATE_"),
                              (pb.ImportFormat, "IMPORT_FORMAT_"))}
_SHORT = {f"{prefix}{name.upper()}": name for enum, prefix in (
    (pb.ExportSchedule, "EXPORT_SCHEDULE_"), (pb.ExportFormat, "EXPORT_FORMAT_"),
    (pb.ExportCompression, "EXPORT_COMPRESSION_"), (pb.ExportRunState, "EXPORT_RUN_STATE_"))
    for name in ENUMS[enum]}


class _Calls:
    """The two services on the command's channel, with its API key; failures as
    TrackstoreError, as the client raises them."""

    def __init__(self, args):
        self._channel = grpc.insecure_channel(args.target)
        self._metadata = [("authorization", f"epi-single {args.api_key}")] if args.api_key else []
        self.exports = pb_grpc.ExportServiceStub(self._channel)
        self.imports = pb_grpc.ImportServiceStub(self._channel)

    def __call__(self, method, request):
        try:
            return method(request, metadata=self._metadata)
        except grpc.RpcError as error:
            raise TrackstoreError.from_rpc_error(error) from None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._channel.close()


def plain(message) -> dict:
    """A message as JSON-shaped values: proto field names, enums by short name, int64 numbers."""
    document = json_format.MessageToDict(message, preserving_proto_field_name=True,
                                         always_print_fields_with_no_presence=True)
    return _shorten(document)


def _shorten(value):
    if isinstance(value, dict):
        return {key: _shorten(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_shorten(item) for item in value]
    if isinstance(value, str):
        if value in _SHORT:
            return _SHORT[value]
        if value.lstrip("-").isdigit() and len(value) < 20:
            return int(value)  # int64 fields arrive as strings in proto3 JSON
    return value


def _millis(text: str) -> int:
    """ms since the epoch from digits or RFC 3339 text."""
    if text.lstrip("-").isdigit():
        return int(text)
    stamp = parse_event_time(text)
    return stamp.seconds * 1000 + stamp.nanos // 1_000_000


# -- export (cursor paging) -------------------------------------------------------------------

def _page_request(args, cursor: str) -> pb.ExportRequest:
    request = pb.ExportRequest(scope=args.scope, page_size=args.page_size, cursor=cursor,
                               event_types=args.event_type)
    if args.start is not None:
        request.start = _millis(args.start)
    if args.end is not None:
        request.end = _millis(args.end)
    return request


def _items(response) -> list[dict]:
    from trackstore.results import EVENT_COLUMNS, rows_of

    return rows_of(response.items, EVENT_COLUMNS)


def cmd_export(args) -> int:

    with _Calls(args) as call:
        if not args.all:
            response = call(call.exports.Export, _page_request(args, args.cursor))
            print_json({"items": _items(response), "next_cursor": response.next_cursor})
            return 0
        progress = _Progress(sys.stderr)
        for items in _pages(call, args):
            for item in items:
                sys.stdout.write(orjson.dumps(item).decode() + "\n")
            progress.add(len(items))
        progress.done()
    return 0


def _pages(call, args) -> Iterator[list[dict]]:
    cursor = args.cursor
    while True:
        response = call(call.exports.Export, _page_request(args, cursor))
        yield _items(response)
        cursor = response.next_cursor
        if not cursor:
            return


class _Progress:
    """Events and pages so far, redrawn on one line of a terminal; silent otherwise."""

    def __init__(self, stream):
        self._stream = stream if stream.isatty() else None
        self._events = self._pages = 0

    def add(self, events: int) -> None:
        self._events += events
        self._pages += 1
        if self._stream:
            bar = "#" * min(40, self._pages % 41)
            self._stream.write(f"\rexporting [{bar:<40}] {self._events:,} events, "
                               f"{self._pages:,} pages")
            self._stream.flush()

    def done(self) -> None:
        if self._stream:
            self._stream.write(f"\rexported {self._events:,} events in {self._pages:,} pages"
                               f"{' ' * 30}\n")


# -- exports (scheduled file exports) ---------------------------------------------------------

# option dest -> the configuration field it sets (what `exports update` puts in the mask)
_CONFIG_OPTIONS = {"schedule": "schedule", "start_at": "start_at", "event_type": "event_types",
                   "event_name": "event_names", "where": "where", "format": "format",
                   "compression": "compression"}
_DESTINATION_OPTIONS = ("dir", "bucket", "prefix", "access_key_id", "secret_access_key",
                        "endpoint", "region", "no_ssl", "virtual_host_style")


def _destination(args) -> pb.ExportDestination | None:
    if args.dir is not None:
        return pb.ExportDestination(local=pb.LocalDirectory(path=args.dir))
    if args.bucket is None:
        return None
    secret = args.secret_access_key or os.environ.get(SECRET_ENV, "")
    return pb.ExportDestination(s3=pb.S3Bucket(
        bucket=args.bucket, prefix=args.prefix or "", access_key_id=args.access_key_id or "",
        secret_access_key=secret, endpoint=args.endpoint or "", region=args.region or "",
        disable_ssl=args.no_ssl, virtual_host_style=args.virtual_host_style))


def _configuration(args) -> tuple[pb.ExportConfiguration, list[str]]:
    """The configuration the options describe, and the fields they set."""
    message = pb.ExportConfiguration(scope=args.scope, name=args.name)
    given = []
    for option, name in _CONFIG_OPTIONS.items():
        value = getattr(args, option)
        if value is None or value == []:
            continue
        given.append(name)
        if name in ("event_types", "event_names"):
            getattr(message, name).extend(value)
        elif name == "start_at":
            message.start_at = _millis(value)
        elif name in ("schedule", "format", "compression"):
            enum = {"schedule": pb.ExportSchedule, "format": pb.ExportFormat,
                    "compression": pb.ExportCompression}[name]
            setattr(message, name, ENUMS[enum][value])
        else:
            setattr(message, name, value)
    destination = _destination(args)
    if destination is not None:
        message.destination.CopyFrom(destination)
        given.append("destination")
    return message, given


def cmd_exports(args) -> int:

    with _Calls(args) as call:
        print_json(_EXPORTS_ACTIONS[args.action](call, args))
    return 0


def _create(call, args) -> dict:
    message, _ = _configuration(args)
    request = pb.CreateExportConfigurationRequest(configuration=message)
    return plain(call(call.exports.CreateExportConfiguration, request).configuration)


def _update(call, args) -> dict:
    message, given = _configuration(args)
    if not given:
        raise ValueError("exports update: give the options to change")
    request = pb.UpdateExportConfigurationRequest(
        configuration=message, update_mask=field_mask_pb2.FieldMask(paths=given))
    return plain(call(call.exports.UpdateExportConfiguration, request).configuration)


def _test(call, args) -> dict:
    request = pb.TestExportDestinationRequest(scope=args.scope)
    destination = _destination(args)
    if destination is not None:
        request.destination.CopyFrom(destination)
    elif args.name:
        request.name = args.name
    else:
        raise ValueError("exports test: give a configuration NAME or destination options")
    return {"ok": True, **plain(call(call.exports.TestExportDestination, request))}


_EXPORTS_ACTIONS = {
    "create": _create,
    "update": _update,
    "test": _test,
    "list": lambda call, args: plain(call(call.exports.ListExportConfigurations,
                                          pb.ListExportConfigurationsRequest(scope=args.scope))),
    "get": lambda call, args: plain(call(call.exports.GetExportConfiguration,
                                         pb.GetExportConfigurationRequest(
                                             scope=args.scope, name=args.name)).configuration),
    "delete": lambda call, args: plain(call(call.exports.DeleteExportConfiguration,
                                            pb.DeleteExportConfigurationRequest(
                                                scope=args.scope, name=args.name))),
    "run": lambda call, args: plain(call(call.exports.RunExportConfiguration,
                                         pb.RunExportConfigurationRequest(
                                             scope=args.scope, name=args.name)).run),
    "runs": lambda call, args: plain(call(call.exports.ListExportRuns, pb.ListExportRunsRequest(
        scope=args.scope, name=args.name))),
}


# -- import ------------------------------------------------------------------------------------

def _chunks(source: str, first: pb.ImportRequest) -> Iterator[pb.ImportRequest]:
    handle = sys.stdin.buffer if source == "-" else open(source, "rb")
    with handle:
        sent = False
        while chunk := handle.read(IMPORT_CHUNK_BYTES):
            if not sent:
                first.data = chunk
                yield first
                sent = True
            else:
                yield pb.ImportRequest(data=chunk)
        if not sent:
            yield first


def cmd_import(args) -> int:

    if args.file != "-" and not os.path.isfile(args.file):
        raise ValueError(f"{args.file}: no such file")
    first = pb.ImportRequest(scope=args.scope, format=ENUMS[pb.ImportFormat][args.source],
                             skip_invalid=args.skip_invalid)
    with _Calls(args) as call:
        response = call(call.imports.Import, _chunks(args.file, first))
    document = plain(response)
    document.pop("track_ids")  # one per record: the count says enough on a terminal
    print_json(document)
    return 0


# -- the parsers ------------------------------------------------------------------------------

def _add_configuration_options(command, creating: bool) -> None:
    command.add_argument("--schedule", choices=ENUMS[pb.ExportSchedule], required=creating)
    command.add_argument("--start-at", dest="start_at", required=creating,
                         help="EventTime of the earliest event: ms since the epoch or RFC 3339")
    command.add_argument("--event-type", dest="event_type", action="append", default=[],
                         help="only events of this EventType (repeatable)")
    command.add_argument("--event-name", dest="event_name", action="append", default=[],
                         help="only events with this Value (repeatable)")
    command.add_argument("--where", default=None, help="a KQL predicate, e.g. 'Payload.price > 10'")
    command.add_argument("--format", choices=ENUMS[pb.ExportFormat], required=creating)
    command.add_argument("--compression", choices=ENUMS[pb.ExportCompression], default=None)


def _add_destination_options(command) -> None:
    group = command.add_argument_group("destination: --dir, or an S3 bucket")
    group.add_argument("--dir", default=None, help="a directory below the server's export root")
    group.add_argument("--bucket", default=None)
    group.add_argument("--prefix", default=None, help="start of the file names, '/' for folders")
    group.add_argument("--access-key-id", dest="access_key_id", default=None)
    group.add_argument("--secret-access-key", dest="secret_access_key", default=None,
                       help=f"the secret (better: env {SECRET_ENV})")
    group.add_argument("--endpoint", default=None, help="host[:port] of an S3-compatible server")
    group.add_argument("--region", default=None)
    group.add_argument("--no-ssl", dest="no_ssl", action="store_true", help="plain HTTP")
    group.add_argument("--virtual-host-style", dest="virtual_host_style", action="store_true")


def _add_exports(commands, client_command) -> None:
    exports = client_command("exports", "scheduled file exports: create, list, get, update, "
                                        "delete, run, runs, test")
    # Each action takes the connection options too (`exports run NAME --scope S`).
    common = argparse.ArgumentParser(add_help=False)
    for option in exports._actions:
        if option.dest in ("target", "api_key", "scope"):
            common._add_action(option)
    actions = exports.add_subparsers(dest="action", required=True)
    for action, help in (("create", "create a configuration"), ("update", "change one"),
                         ("get", "show one"), ("delete", "delete one (its files stay)"),
                         ("run", "run one now and show the run"), ("runs", "its runs"),
                         ("test", "write and remove a probe at a destination"),
                         ("list", "the scope's configurations")):
        command = actions.add_parser(action, help=help, parents=[common])
        if action != "list":
            command.add_argument("name", nargs="?" if action == "test" else None, default="")
        if action in ("create", "update"):
            _add_configuration_options(command, creating=action == "create")
        if action in ("create", "update", "test"):
            _add_destination_options(command)
    exports.set_defaults(run=cmd_exports)


def add_commands(commands, client_command) -> None:
    """Adds `export`, `exports` and `import` to the `trackstore` parser (cli.build_parser);
    `client_command(name, help)` makes a command with --target, --api-key and --scope."""
    export = client_command("export", "export a scope's events page by page")
    export.add_argument("--start", default=None, help="earliest EventTime: ms or RFC 3339")
    export.add_argument("--end", default=None, help="EventTime before which: ms or RFC 3339")
    export.add_argument("--page-size", dest="page_size", type=int, default=0,
                        help="1 to 1000 (default 100)")
    export.add_argument("--cursor", default="", help="the next_cursor of the page before")
    export.add_argument("--event-type", dest="event_type", action="append", default=[],
                        help="only this EventType (repeatable)")
    export.add_argument("--all", action="store_true",
                        help="follow the cursor to the end, writing NDJSON")
    export.set_defaults(run=cmd_export)
    _add_exports(commands, client_command)
    imports = client_command("import", "import another platform's events")
    imports.add_argument("--from", dest="source", required=True, choices=ENUMS[pb.ImportFormat])
    imports.add_argument("file", nargs="?", default="-", help="a JSON or NDJSON file, or -")
    imports.add_argument("--skip-invalid", dest="skip_invalid", action="store_true",
                         help="import the valid records; count and list the others")
    imports.set_defaults(run=cmd_import)
