"""The `trackstore` command: runs the server, and talks to one as a client.

Argument parsing is the standard library's argparse; output is one JSON document on stdout
(orjson); a failed call prints `CODE: message` on stderr and exits 1.
"""
from __future__ import annotations

import argparse
import itertools
import os
import sys
from typing import Iterator

import orjson

TRACK_BATCH_SIZE = 1000


def _print_json(document) -> None:
    sys.stdout.write(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode() + "\n")


def _fail(message: str, code: int = 1) -> int:
    sys.stderr.write(message.rstrip() + "\n")
    return code


def _read_events(source: str) -> Iterator[dict]:
    handle = sys.stdin if source == "-" else open(source, encoding="utf-8")
    with handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                document = orjson.loads(line)
            except orjson.JSONDecodeError as error:
                raise ValueError(f"{source}:{number}: not valid JSON: {error}") from None
            if not isinstance(document, dict):
                raise ValueError(f"{source}:{number}: an event must be a JSON object")
            yield number, document


def _batches(source: str):
    from .client import event_from_json

    def converted():
        for number, document in _read_events(source):
            try:
                yield event_from_json(document)
            except ValueError as error:
                raise ValueError(f"{source}:{number}: {error}") from None

    events = converted()
    while batch := list(itertools.islice(events, TRACK_BATCH_SIZE)):
        yield batch


def _client(args):
    from .client import Client

    return Client(args.target, api_key=args.api_key)


def cmd_serve(args) -> int:
    from trackstore_server import config
    from trackstore_server.api.app import serve

    try:
        settings = config.load(flags=vars(args))
    except config.ConfigError as error:
        return _fail(str(error), 2)
    try:
        serve(settings)
    except RuntimeError as error:  # e.g. a damaged write-ahead log: say so, no traceback
        return _fail(f"cannot start: {error}", 1)
    return 0


def cmd_track(args) -> int:
    # Convert the whole input before sending, so a bad line stores nothing rather than the
    # batches before it.
    batches = list(_batches(args.file))
    with _client(args) as client:
        track_ids = client.track_stream(args.scope, batches)
    _print_json({"track_ids": track_ids})
    return 0


def cmd_preview(args) -> int:
    with _client(args) as client:
        _print_json(client.preview(args.scope, args.query))
    return 0


def cmd_list(args) -> int:
    with _client(args) as client:
        _print_json(client.list(args.scope, args.filter, args.orderby, args.skip, args.top))
    return 0


def cmd_delete(args) -> int:
    with _client(args) as client:
        if len(args.track_ids) == 1 and not args.allow_missing:
            _print_json({"deleted": client.delete(args.scope, args.track_ids[0])})
        else:
            _print_json({"deleted": client.batch_delete(args.scope, args.track_ids,
                                                        args.allow_missing)})
    return 0


def cmd_compact(args) -> int:
    with _client(args) as client:
        _print_json(client.compact())
    return 0


def cmd_stats(args) -> int:
    with _client(args) as client:
        _print_json(client.stats())
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trackstore", description="An event store for product analytics, queried in KQL."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the server")
    from trackstore_server import config

    config.add_arguments(serve)
    serve.set_defaults(run=cmd_serve)

    def client_command(name: str, help: str):
        command = commands.add_parser(name, help=help)
        command.add_argument(
            "--target", default=os.environ.get("TRACKSTORE_TARGET", "localhost:50051"),
            help="server address host:port (env TRACKSTORE_TARGET)",
        )
        command.add_argument(
            "--api-key", default=os.environ.get("TRACKSTORE_API_KEY"),
            help="API key (env TRACKSTORE_API_KEY)",
        )
        command.add_argument("--scope", default="default", help="the scope (default: default)")
        return command

    track = client_command("track", "track events from newline-delimited JSON")
    track.add_argument("file", nargs="?", default="-", help="a .ndjson file, or - for stdin")
    track.set_defaults(run=cmd_track)

    preview = client_command("preview", "run a KQL query (at most 1000 rows)")
    preview.add_argument("query", help="e.g. \"Events | where EventType == 'pageview' | take 5\"")
    preview.set_defaults(run=cmd_preview)

    listing = client_command("list", "list events with an OData $filter and $orderby")
    listing.add_argument("--filter", default="", help="e.g. \"EventType eq 'pageview'\"")
    listing.add_argument("--orderby", default="", help="e.g. 'EventTime desc'")
    listing.add_argument("--skip", type=int, default=None, help="events to skip (default 0)")
    listing.add_argument("--top", type=int, default=None, help="events to return (default 100)")
    listing.set_defaults(run=cmd_list)

    delete = client_command(
        "delete", "delete events by TrackId (several: up to 1000, all or none)")
    delete.add_argument("track_ids", nargs="+", metavar="track_id")
    delete.add_argument("--allow-missing", action="store_true",
                        help="skip TrackIds that are not stored instead of failing")
    delete.set_defaults(run=cmd_delete)
    compact = client_command("compact", "compact the store now (apply deletions, merge files)")
    compact.set_defaults(run=cmd_compact)

    stats = client_command("stats", "show store statistics")
    stats.set_defaults(run=cmd_stats)
    from .cli_export import add_commands as add_export_commands  # export, exports, import
    add_export_commands(commands, client_command)
    return parser


def main(argv: list[str] | None = None) -> int:
    from .client import TrackstoreError

    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except TrackstoreError as error:
        return _fail(f"{error.code.name}: {error.message}")
    except (ValueError, OSError) as error:
        return _fail(str(error), 2)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
