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
Every call goes through `trackstore.Client`'s segment methods. Output and exit statuses are the
CLI's (cli.py): one JSON document, or with `--format` on the reading commands ndjson, a table
or csv; `get` prints `parameters` as a file writes them, so its output can be applied again.
A bad file or value is a usage error (status 2), a refusal by the server status 1.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import pathlib
import time

import yaml

import trackstore
from querylang.templates import value_from_text
from trackstore.segments import PARAMETER_TYPES, definition_message

from .commands import CommandFailed
from .inputs import InputError
from .output import print_json, print_rows

REFRESH_WAIT_POLL_SECONDS = 0.5
DEFINITION_COLUMNS = ["name", "category", "description", "parameters", "update_time", "etag"]
SEGMENT_COLUMNS = ["name", "filter_definition", "parameters", "device_count", "computed_at",
                   "last_error", "etag"]


# -- values and files ---------------------------------------------------------------------------

def typed_values(declared: dict[str, str], given: dict) -> dict:
    """Values from a command line or a file (text, or YAML's numbers and dates) as Python values
    of their parameters' types, for trackstore.Client."""
    unknown = sorted(set(given) - set(declared))
    if unknown:
        raise InputError(f"not parameters of the definition: {', '.join(unknown)} "
                         f"(it has: {', '.join(declared) or 'none'})")
    typed = {}
    for name, value in given.items():
        if isinstance(value, (dt.date, dt.datetime)):
            value = value.isoformat()
        text = value if isinstance(value, str) else json.dumps(value)
        try:
            if value is None:
                raise ValueError("has no value")
            typed[name] = value_from_text(declared[name], text)
        except ValueError as error:
            raise InputError(f"parameter {name} ({declared[name]}): {error}") from None
    return typed


def read_file(path: str) -> dict:
    """A YAML or JSON document (JSON is YAML) holding a mapping."""
    try:
        document = yaml.safe_load(pathlib.Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise InputError(f"{path}: cannot read: {error.strerror or error}") from None
    except yaml.YAMLError as error:
        raise InputError(f"{path}: not valid YAML or JSON: {error}") from None
    if not isinstance(document, dict):
        raise InputError(f"{path}: must hold a mapping of fields (name, query, ...)")
    return document


def _pairs(items: list[str] | None, what: str) -> dict[str, str]:
    pairs = {}
    for item in items or ():
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise InputError(f"{what} must be written name=value, got {item!r}")
        pairs[name] = value
    return pairs


def _declared(parameters) -> dict[str, str]:
    """A file's parameters: a mapping name: type, or a list of {name, type}."""
    if isinstance(parameters, dict):
        return {str(k): str(v) for k, v in parameters.items()}
    return {str(p["name"]): str(p["type"]) for p in parameters or ()}


def definition_fields(args) -> dict:
    """The definition of --file and the flags (which win), as trackstore.Client's arguments."""
    document = read_file(args.file) if args.file else {}
    fields = {key: getattr(args, key) or document.get(key) or ""
              for key in ("name", "query", "description", "category")}
    fields["parameters"] = _declared(document.get("parameters")) | _pairs(args.type, "--type")
    unknown = sorted(set(fields["parameters"].values()) - set(PARAMETER_TYPES))
    if unknown:
        raise InputError(f"unknown parameter types: {', '.join(unknown)} "
                         f"(types: {', '.join(PARAMETER_TYPES)})")
    return fields


def segment_fields(client, args) -> dict:
    """The segment of --file and the flags (which win), its values typed by its definition."""
    document = read_file(args.file) if args.file else {}
    definition = args.filter_definition or document.get("filter_definition") or ""
    fields = {"name": args.name or document.get("name") or "", "filter_definition": definition,
              "description": args.description or document.get("description") or ""}
    interval = args.refresh_interval or document.get("refresh_interval")
    if interval is not None:
        fields["refresh_interval"] = _timespan(interval)
    given = dict(document.get("parameters") or {}) | _pairs(args.param, "--param")
    fields["values"] = typed_values(_declared_of(client, definition), given) if definition \
        else {}
    return fields


def _timespan(value) -> dt.timedelta:
    return typed_values({"refresh_interval": "timespan"}, {"refresh_interval": value})[
        "refresh_interval"]


def _declared_of(client, definition: str) -> dict[str, str]:
    return client.get_filter_definition(definition)["parameters"]


# -- commands -----------------------------------------------------------------------------------

def _run(handler, columns: list[str] | None = None, field: str | None = None):
    """A command's function: `handler(client, args)` returns the document to print; with
    `columns`, `--format` prints `document[field]` (or the document) as rows of them."""
    def run(args) -> int:
        with trackstore.Client(args.target, api_key=args.api_key, scope=args.scope) as client:
            document = handler(client, args)
        if columns is None:
            print_json(document)
        else:
            rows = document[field] if field else [document]
            print_rows(document, columns, rows, args.format)
        return 0
    return run


def _listing(method: str, field: str):
    """List's handler: one page, or with --all every page from --page-token on."""
    def handler(client, args) -> dict:
        found, token = [], args.page_token or ""
        while True:
            page = getattr(client, method)(args.prefix or "", page_size=args.page_size,
                                           page_token=token)
            found.extend(page[field])
            token = page["next_page_token"]
            if not (args.all and token):
                return {field: found, "next_page_token": token}
    return handler


def filters_preview(client, args):
    """A stored definition by name, or an inline one from --file/--query and --type."""
    if args.file or args.query:
        fields = definition_fields(args)
        definition = definition_message(**fields)
        values = typed_values(fields["parameters"], _pairs(args.param, "--param"))
        return client.preview_filter_definition(definition=definition, values=values)
    if not args.stored:
        raise InputError("name a stored definition, or give one with --file or --query")
    values = typed_values(_declared_of(client, args.stored), _pairs(args.param, "--param"))
    return client.preview_filter_definition(args.stored, values)


def cmd_filters_preview(args) -> int:
    with trackstore.Client(args.target, api_key=args.api_key, scope=args.scope) as client:
        result = filters_preview(client, args)
    print_rows(result.to_dict(), [c.name for c in result.columns], result.rows, args.format,
               f"{len(result)} rows" + (" (truncated: the query has more)"
                                        if result.truncated else ""))
    return 0


def segments_refresh(client, args) -> dict:
    """Starts a refresh; with --wait, waits until the segment holds its result (or its error)."""
    started = client.refresh_segment(args.name)
    if not args.wait:
        return {"request_time": started}
    deadline = time.monotonic() + args.timeout
    while True:
        segment = client.get_segment(args.name)
        if _at_or_after(segment.get("computed_at"), started) or _at_or_after(
                segment.get("last_error_time"), started):
            return segment
        if time.monotonic() > deadline:
            raise CommandFailed(f"segment {args.name} was not refreshed within "
                                f"{args.timeout:g} s")
        time.sleep(REFRESH_WAIT_POLL_SECONDS)


def _at_or_after(stamp: str | None, start: str) -> bool:
    return bool(stamp) and _instant(stamp) >= _instant(start)


def _instant(stamp: str) -> dt.datetime:
    # RFC 3339 text as protobuf writes it: "Z", and 0, 3, 6 or 9 fractional digits.
    whole, _, fraction = stamp.rstrip("Z").partition(".")
    return dt.datetime.fromisoformat(whole).replace(
        microsecond=int((fraction + "000000")[:6]))


def segments_evaluate(client, args) -> dict:
    """A page of DeviceIds, or with --all every page from --page-token on."""
    devices, token = [], args.page_token or ""
    while True:
        page = client.evaluate_segment(args.name, page_size=args.page_size, page_token=token,
                                       fresh=args.fresh)
        devices.extend(page["device_ids"])
        token = page["next_page_token"]
        if not (args.all and token):
            return {**page, "device_ids": devices, "next_page_token": token}


def _evaluate_rows(args) -> int:
    with trackstore.Client(args.target, api_key=args.api_key, scope=args.scope) as client:
        document = segments_evaluate(client, args)
    print_rows(document, ["device_id"], [{"device_id": d} for d in document["device_ids"]],
               args.format, f"{document['device_count']} devices, computed at "
                            f"{document['computed_at']}")
    return 0


HANDLERS = {
    ("filters", "create"): lambda client, args: client.create_filter_definition(
        **definition_fields(args)),
    ("filters", "replace"): lambda client, args: client.replace_filter_definition(
        **definition_fields(args), etag=args.etag or ""),
    ("filters", "get"): lambda client, args: client.get_filter_definition(args.name),
    ("filters", "delete"): lambda client, args: client.delete_filter_definition(
        args.name, etag=args.etag or "") or {"deleted": args.name},
    ("segments", "create"): lambda client, args: client.create_segment(
        **segment_fields(client, args)),
    ("segments", "replace"): lambda client, args: client.replace_segment(
        **segment_fields(client, args), etag=args.etag or ""),
    ("segments", "get"): lambda client, args: client.get_segment(args.name),
    ("segments", "delete"): lambda client, args: client.delete_segment(
        args.name, etag=args.etag or "") or {"deleted": args.name},
    ("segments", "refresh"): segments_refresh,
    ("segments", "is-in"): lambda client, args: {
        "device_id": args.device_id,
        "in_segment": client.is_in_segment(args.device_id, args.segments)},
    ("segments", "of"): lambda client, args: {
        "device_id": args.device_id, "segments": client.segments_of(args.device_id)},
}


# -- the parsers --------------------------------------------------------------------------------

EXAMPLES = {
    "filters": """examples:
  trackstore filters create --scope shop --file examples/segments/viewed-product.yaml
  trackstore filters preview --scope shop viewed-product --param product=shoes-42 --param window=7d
  trackstore filters list --scope shop --prefix viewed --format table""",
    "segments": """examples:
  trackstore segments create --scope shop --file examples/segments/viewed-shoes.yaml
  trackstore segments refresh --scope shop viewed-shoes --wait
  trackstore segments evaluate --scope shop viewed-shoes --all --format csv
  trackstore segments is-in --scope shop visitor-1 viewed-shoes""",
}


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


class _Group:
    """The actions of `trackstore filters` or `trackstore segments`."""

    def __init__(self, commands, client_command, group: str, help: str):
        self.group, self.client_command = group, client_command
        parser = commands.add_parser(group, help=help, description=help,
                                     epilog=EXAMPLES[group],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
        self.actions = parser.add_subparsers(dest="action", required=True)

    def add(self, action: str, help: str, run=None, reads: bool = False):
        command = self.client_command(action, help, within=self.actions, reads=reads,
                                      examples=EXAMPLES[self.group])
        command.set_defaults(run=run or _run(HANDLERS[(self.group, action)]))
        return command

    def add_standard(self, what: str, flags, columns: list[str], field: str) -> None:
        """create, replace, get, delete and list of a definition or a segment."""
        flags(self.add("create", f"store a {what}"))
        replace = self.add("replace", f"replace a stored {what}")
        flags(replace)
        replace.add_argument("--etag", help=f"refuse if the {what} changed since")
        self.add("get", f"show a {what}").add_argument("name")
        delete = self.add("delete", f"delete a {what}")
        delete.add_argument("name")
        delete.add_argument("--etag", help=f"refuse if the {what} changed since")
        method = "list_filter_definitions" if field == "filter_definitions" else "list_segments"
        listing = self.add("list", f"list {what}s by name",
                           _run(_listing(method, field), columns, field), reads=True)
        listing.add_argument("--prefix", help="only names starting with it")
        _page_flags(listing, 50)


def _add_filters(group: _Group) -> None:
    group.add_standard("definition", _definition_flags, DEFINITION_COLUMNS,
                       "filter_definitions")
    preview = group.add("preview", "run a stored (NAME) or inline (--file) definition",
                        cmd_filters_preview, reads=True)
    preview.add_argument("stored", nargs="?", metavar="name", help="a stored definition")
    _definition_flags(preview)
    preview.add_argument("--param", action="append", metavar="NAME=VALUE")


def _add_segments(group: _Group) -> None:
    group.add_standard("segment", _segment_flags, SEGMENT_COLUMNS, "segments")
    refresh = group.add("refresh", "refresh a segment now")
    refresh.add_argument("name")
    refresh.add_argument("--wait", action="store_true", help="until it is refreshed")
    refresh.add_argument("--timeout", type=float, default=300.0, help="seconds --wait waits")
    evaluate = group.add("evaluate", "a segment's DeviceIds", _evaluate_rows, reads=True)
    evaluate.add_argument("name")
    evaluate.add_argument("--fresh", action="store_true",
                          help="evaluate now, not from the last refresh")
    _page_flags(evaluate, 1000)
    is_in = group.add("is-in", "whether a device is in segments")
    is_in.add_argument("device_id")
    is_in.add_argument("segments", nargs="+", metavar="segment")
    group.add("of", "the segments holding a device").add_argument("device_id")


def add_commands(commands: argparse._SubParsersAction, client_command) -> None:
    """`filters` and `segments` beside the other commands (parser._add_feature_commands);
    `client_command(name, help, within=, reads=, examples=)` makes a command with the
    connection options (--target, --api-key, --scope) and, when it reads, --format."""
    _add_filters(_Group(commands, client_command, "filters",
                        "filter definitions: KQL templates with typed parameters"))
    _add_segments(_Group(commands, client_command, "segments",
                         "segments: definitions bound to values, their devices, membership"))

