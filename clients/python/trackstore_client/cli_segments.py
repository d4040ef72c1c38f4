"""`trackstore filters ...` and `trackstore segments ...`: filter definitions and segments.

Definitions and segments can be written in YAML or JSON files (`--file`), so that they live in
a repository and are applied from it:

    # viewed-product.yaml                       # viewed-shoes.yaml
    name: viewed-product                        name: viewed-shoes
    query: |                                    filter_definition: viewed-product
      Events                                    parameters:
      | where EventType == 'pageview'             product: shoes-42
          and Payload.product == {{product}}      window: 7d
          and EventTime > ago({{window}})       refresh_interval: 1h
    parameters:
      product: string
      window: timespan

A value (`--param name=value`, or a file's `parameters`) is typed by the definition's parameter:
true/false, a number, an ISO 8601 datetime, a timespan such as 7d or 1.02:00:00, any text.
Output is one JSON document (the CLI's own helpers), whose `parameters` read back as a file's.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import pathlib
import time

import yaml
from google.protobuf import json_format, timestamp_pb2

from querylang.templates import value_from_text
from trackstore.v1 import segments_pb2 as spb
from trackstore.v1 import segments_pb2_grpc as sgrpc

from .cli import _print_json
from .client import Client, _struct_items

INT32 = (-(2**31), 2**31 - 1)
TYPE_NUMBERS = {v.name.removeprefix("PARAMETER_TYPE_").lower(): v.number
                for v in spb.ParameterType.DESCRIPTOR.values if v.number}
TYPE_NAMES = {number: name for name, number in TYPE_NUMBERS.items()}
REFRESH_WAIT_POLL_SECONDS = 0.5


# -- values and files ---------------------------------------------------------------------------

def parameter_value(kind: str, value) -> spb.ParameterValue:
    """A value from a command line or a file, as the ParameterValue of parameter type `kind`."""
    if value is None:
        raise ValueError("has no value")
    if isinstance(value, (dt.date, dt.datetime)):
        value = value.isoformat()
    typed = value_from_text(kind, value if isinstance(value, str) else json.dumps(value))
    message = spb.ParameterValue()
    if kind == "datetime":
        message.datetime_value.FromDatetime(typed)
    elif kind == "timespan":
        message.timespan_value.FromTimedelta(typed)
    elif kind == "int" and not INT32[0] <= typed <= INT32[1]:
        message.long_value = typed  # the server names the parameter and its range
    else:
        setattr(message, {"guid": "guid_value", "int": "int_value", "long": "long_value",
                          "double": "double_value", "string": "string_value",
                          "bool": "bool_value"}[kind], typed)
    return message


def typed_values(declared: dict[str, str], given: dict) -> dict[str, spb.ParameterValue]:
    unknown = sorted(set(given) - set(declared))
    if unknown:
        raise ValueError(f"not parameters of the definition: {', '.join(unknown)} "
                         f"(it has: {', '.join(declared) or 'none'})")
    typed = {}
    for name, value in given.items():
        try:
            typed[name] = parameter_value(declared[name], value)
        except ValueError as error:
            raise ValueError(f"parameter {name} ({declared[name]}): {error}") from None
    return typed


def read_file(path: str) -> dict:
    """A YAML or JSON document (JSON is YAML) holding a mapping."""
    try:
        document = yaml.safe_load(pathlib.Path(path).read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise ValueError(f"{path}: not valid YAML or JSON: {error}") from None
    if not isinstance(document, dict):
        raise ValueError(f"{path}: must hold a mapping of fields (name, query, ...)")
    return document


def _pairs(items: list[str], what: str) -> dict[str, str]:
    pairs = {}
    for item in items or ():
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise ValueError(f"{what} must be written name=value, got {item!r}")
        pairs[name] = value
    return pairs


def _declared(parameters) -> dict[str, str]:
    """A file's parameters: a mapping name: type, or a list of {name, type}."""
    if isinstance(parameters, dict):
        return {str(k): str(v) for k, v in parameters.items()}
    return {str(p["name"]): str(p["type"]) for p in parameters or ()}


def definition_message(args) -> spb.FilterDefinition:
    document = read_file(args.file) if args.file else {}
    fields = {key: getattr(args, key) or document.get(key, "")
              for key in ("name", "description", "category", "query")}
    declared = _declared(document.get("parameters")) | _pairs(args.type, "--type")
    unknown = sorted(set(declared.values()) - set(TYPE_NUMBERS))
    if unknown:
        raise ValueError(f"unknown parameter types: {', '.join(unknown)} "
                         f"(types: {', '.join(TYPE_NUMBERS)})")
    return spb.FilterDefinition(
        **fields, etag=getattr(args, "etag", None) or "",
        parameters=[spb.FilterParameter(name=n, type=TYPE_NUMBERS[t]) for n, t in declared.items()])


# -- output -------------------------------------------------------------------------------------

def _plain_value(message: spb.ParameterValue):
    return json_format.MessageToDict(message, unquote_int64_if_possible=True).popitem()[1]


def plain(message) -> dict:
    """A definition or segment as JSON, its parameters as a file writes them."""
    document = json_format.MessageToDict(message, preserving_proto_field_name=True,
                                         always_print_fields_with_no_presence=True,
                                         unquote_int64_if_possible=True)
    if isinstance(message, spb.FilterDefinition):
        document["parameters"] = {p.name: TYPE_NAMES.get(p.type, "unspecified")
                                  for p in message.parameters}
    elif isinstance(message, spb.Segment):
        document["parameters"] = {name: _plain_value(value)
                                  for name, value in sorted(message.parameters.items())}
    return document


# -- commands -----------------------------------------------------------------------------------

class _Calls:
    """The two services on one client's channel; failures raise the client's TrackstoreError."""

    def __init__(self, args):
        self.client = Client(args.target, api_key=args.api_key)
        self.definitions = sgrpc.FilterDefinitionServiceStub(self.client._channel)
        self.segments = sgrpc.SegmentServiceStub(self.client._channel)

    def __call__(self, method, request):
        return self.client._call(method, request)

    def declared(self, scope: str, definition: str) -> dict[str, str]:
        """The parameter types of a stored definition."""
        found = self(self.definitions.GetFilterDefinition,
                     spb.GetFilterDefinitionRequest(scope=scope, name=definition))
        return {p.name: TYPE_NAMES[p.type] for p in found.filter_definition.parameters}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.client.close()


def _run(handler):
    """A command's function: `handler(calls, args)` returns the JSON document to print."""
    def run(args) -> int:
        with _Calls(args) as calls:
            _print_json(handler(calls, args))
        return 0
    return run


def _listing(service: str, method: str, request_type, field: str):
    """List's handler: one page, or with --all every page from --page-token on."""
    def handler(calls, args) -> dict:
        found, token = [], args.page_token or ""
        while True:
            page = calls(getattr(getattr(calls, service), method),
                         request_type(scope=args.scope, page_size=args.page_size,
                                      page_token=token, name_prefix=args.prefix or ""))
            found.extend(plain(item) for item in getattr(page, field))
            token = page.next_page_token
            if not (args.all and token):
                return {field: found, "next_page_token": token}
    return handler


# filters

def filters_create(calls, args) -> dict:
    return plain(calls(calls.definitions.CreateFilterDefinition, spb.CreateFilterDefinitionRequest(
        scope=args.scope, filter_definition=definition_message(args))).filter_definition)


def filters_get(calls, args) -> dict:
    return plain(calls(calls.definitions.GetFilterDefinition, spb.GetFilterDefinitionRequest(
        scope=args.scope, name=args.name)).filter_definition)


def filters_replace(calls, args) -> dict:
    return plain(calls(calls.definitions.ReplaceFilterDefinition,
                       spb.ReplaceFilterDefinitionRequest(
                           scope=args.scope, filter_definition=definition_message(args)))
                 .filter_definition)


def filters_delete(calls, args) -> dict:
    calls(calls.definitions.DeleteFilterDefinition, spb.DeleteFilterDefinitionRequest(
        scope=args.scope, name=args.name, etag=args.etag or ""))
    return {"deleted": args.name}


def filters_preview(calls, args) -> dict:
    """A stored definition by name, or an inline one from --file/--query and --type."""
    request = spb.PreviewFilterDefinitionRequest(scope=args.scope)
    if args.file or args.query:
        request.inline_definition.CopyFrom(definition_message(args))
        declared = {p.name: TYPE_NAMES[p.type] for p in request.inline_definition.parameters}
    elif args.stored:
        request.name = args.stored
        declared = calls.declared(args.scope, args.stored)
    else:
        raise ValueError("name a stored definition, or give one with --file or --query")
    for name, value in typed_values(declared, _pairs(args.param, "--param")).items():
        request.parameters[name].CopyFrom(value)
    response = calls(calls.definitions.PreviewFilterDefinition, request)
    return {"columns": [{"name": c.name, "type": c.type} for c in response.columns],
            "items": _struct_items(response.items, [c.name for c in response.columns]),
            "count": response.count, "truncated": response.truncated}


# segments

def segment_message(calls, args) -> spb.Segment:
    """The segment of --file and the flags (which win); values typed by its definition."""
    document = read_file(args.file) if args.file else {}
    definition = args.filter_definition or document.get("filter_definition", "")
    segment = spb.Segment(name=args.name or document.get("name", ""), filter_definition=definition,
                          description=args.description or document.get("description", ""),
                          etag=getattr(args, "etag", None) or "")
    interval = args.refresh_interval or document.get("refresh_interval")
    if interval is not None:
        segment.refresh_interval.FromTimedelta(value_from_text("timespan", str(interval)))
    given = dict(document.get("parameters") or {}) | _pairs(args.param, "--param")
    if definition:
        for name, value in typed_values(calls.declared(args.scope, definition), given).items():
            segment.parameters[name].CopyFrom(value)
    return segment


def segments_create(calls, args) -> dict:
    return plain(calls(calls.segments.CreateSegment, spb.CreateSegmentRequest(
        scope=args.scope, segment=segment_message(calls, args))).segment)


def segments_get(calls, args) -> dict:
    return plain(calls(calls.segments.GetSegment, spb.GetSegmentRequest(
        scope=args.scope, name=args.name)).segment)


def segments_replace(calls, args) -> dict:
    return plain(calls(calls.segments.ReplaceSegment, spb.ReplaceSegmentRequest(
        scope=args.scope, segment=segment_message(calls, args))).segment)


def segments_delete(calls, args) -> dict:
    calls(calls.segments.DeleteSegment, spb.DeleteSegmentRequest(
        scope=args.scope, name=args.name, etag=args.etag or ""))
    return {"deleted": args.name}


def segments_refresh(calls, args) -> dict:
    """Starts a refresh; with --wait, waits until the segment holds its result (or its error)."""
    started = calls(calls.segments.RefreshSegment, spb.RefreshSegmentRequest(
        scope=args.scope, name=args.name)).request_time
    if not args.wait:
        return {"request_time": started.ToJsonString()}
    deadline = time.monotonic() + args.timeout
    while True:
        segment = calls(calls.segments.GetSegment, spb.GetSegmentRequest(
            scope=args.scope, name=args.name)).segment
        if _at_or_after(segment.computed_at, started) or _at_or_after(
                segment.last_error_time, started):
            return plain(segment)
        if time.monotonic() > deadline:
            raise TimeoutError(f"segment {args.name} was not refreshed within {args.timeout:g} s")
        time.sleep(REFRESH_WAIT_POLL_SECONDS)


def _at_or_after(stamp: timestamp_pb2.Timestamp, start: timestamp_pb2.Timestamp) -> bool:
    return (stamp.seconds, stamp.nanos) >= (start.seconds, start.nanos) and stamp.seconds > 0


def segments_evaluate(calls, args) -> dict:
    """A page of DeviceIds, or with --all every page from --page-token on."""
    devices, token = [], args.page_token or ""
    while True:
        page = calls(calls.segments.EvaluateSegment, spb.EvaluateSegmentRequest(
            scope=args.scope, name=args.name, page_size=args.page_size, page_token=token,
            fresh=args.fresh))
        devices.extend(page.device_ids)
        token = page.next_page_token
        if not (args.all and token):
            return {"device_ids": devices, "device_count": page.device_count,
                    "computed_at": (page.computed_at.ToJsonString()
                                    if page.HasField("computed_at") else None),
                    "next_page_token": token}


def segments_is_in(calls, args) -> dict:
    answer = calls(calls.segments.IsInSegment, spb.IsInSegmentRequest(
        scope=args.scope, device_id=args.device_id, segments=args.segments))
    return {"device_id": args.device_id,
            "in_segment": dict(zip(args.segments, answer.in_segment))}


def segments_of(calls, args) -> dict:
    answer = calls(calls.segments.SegmentsOf, spb.SegmentsOfRequest(
        scope=args.scope, device_id=args.device_id))
    return {"device_id": args.device_id, "segments": list(answer.segments)}


# -- the parsers --------------------------------------------------------------------------------

def _definition_flags(command) -> None:
    command.add_argument("--file", help="a YAML or JSON file of the definition")
    command.add_argument("--name", help="its name (overrides the file's)")
    command.add_argument("--query", help="its KQL template, {{name}} for a parameter")
    command.add_argument("--type", action="append", metavar="NAME=TYPE",
                         help="a parameter and its type (bool, datetime, guid, int, long, "
                              "double, string, timespan); repeat for more")
    command.add_argument("--description")
    command.add_argument("--category")


def _segment_flags(command) -> None:
    command.add_argument("--file", help="a YAML or JSON file of the segment")
    command.add_argument("--name", help="its name (overrides the file's)")
    command.add_argument("--filter-definition", help="the definition it evaluates")
    command.add_argument("--param", action="append", metavar="NAME=VALUE",
                         help="a parameter value, typed by the definition; repeat for more")
    command.add_argument("--refresh-interval", help="e.g. 1h, 30m, 1d (default 24h)")
    command.add_argument("--description")


def _page_flags(command, default_size: int) -> None:
    command.add_argument("--page-size", type=int, default=0,
                         help=f"items per page (default {default_size})")
    command.add_argument("--page-token", help="the next_page_token of the previous page")
    command.add_argument("--all", action="store_true", help="every page, as one document")


def _add_filters(actions, client_command) -> None:
    _add_writes(actions, client_command, "definition", _definition_flags, filters_create,
                filters_replace)
    preview = client_command("preview", "run a stored (NAME) or inline (--file) definition",
                             within=actions)
    preview.add_argument("stored", nargs="?", metavar="name", help="a stored definition")
    _definition_flags(preview)
    preview.add_argument("--param", action="append", metavar="NAME=VALUE")
    preview.set_defaults(run=_run(filters_preview))
    _add_common(actions, client_command, "definition", filters_get, filters_delete,
                _listing("definitions", "ListFilterDefinitions",
                         spb.ListFilterDefinitionsRequest, "filter_definitions"))


def _add_writes(actions, client_command, what: str, flags, create, replace) -> None:
    """`create` and `replace` of a definition or segment, from --file and flags."""
    command = client_command("create", f"store a {what}", within=actions)
    flags(command)
    command.set_defaults(run=_run(create))
    command = client_command("replace", f"replace a stored {what}", within=actions)
    flags(command)
    command.add_argument("--etag", help=f"refuse if the {what} changed since")
    command.set_defaults(run=_run(replace))


def _add_common(actions, client_command, what: str, get, delete, listing) -> None:
    command = client_command("get", f"show a {what}", within=actions)
    command.add_argument("name")
    command.set_defaults(run=_run(get))
    command = client_command("delete", f"delete a {what}", within=actions)
    command.add_argument("name")
    command.add_argument("--etag", help=f"refuse if the {what} changed since")
    command.set_defaults(run=_run(delete))
    command = client_command("list", f"list {what}s by name", within=actions)
    command.add_argument("--prefix", help="only names starting with it")
    _page_flags(command, 50)
    command.set_defaults(run=_run(listing))


def _add_segments(actions, client_command) -> None:
    _add_writes(actions, client_command, "segment", _segment_flags, segments_create,
                segments_replace)
    _add_common(actions, client_command, "segment", segments_get, segments_delete,
                _listing("segments", "ListSegments", spb.ListSegmentsRequest, "segments"))
    refresh = client_command("refresh", "refresh a segment now", within=actions)
    refresh.add_argument("name")
    refresh.add_argument("--wait", action="store_true", help="until it is refreshed")
    refresh.add_argument("--timeout", type=float, default=300.0, help="seconds --wait waits")
    refresh.set_defaults(run=_run(segments_refresh))
    evaluate = client_command("evaluate", "a segment's DeviceIds", within=actions)
    evaluate.add_argument("name")
    evaluate.add_argument("--fresh", action="store_true",
                          help="evaluate now, not from the last refresh")
    _page_flags(evaluate, 1000)
    evaluate.set_defaults(run=_run(segments_evaluate))
    is_in = client_command("is-in", "whether a device is in segments", within=actions)
    is_in.add_argument("device_id")
    is_in.add_argument("segments", nargs="+", metavar="segment")
    is_in.set_defaults(run=_run(segments_is_in))
    of = client_command("of", "the segments holding a device", within=actions)
    of.add_argument("device_id")
    of.set_defaults(run=_run(segments_of))


def add_commands(commands: argparse._SubParsersAction, client_command) -> None:
    """`filters` and `segments` beside the other commands; `client_command(name, help,
    within=...)` makes a command with the connection options (--target, --api-key, --scope)."""
    for name, help, add in (
            ("filters", "filter definitions: KQL templates with typed parameters", _add_filters),
            ("segments", "segments: definitions bound to values, their devices, membership",
             _add_segments)):
        add(commands.add_parser(name, help=help).add_subparsers(dest="action", required=True),
            client_command)
