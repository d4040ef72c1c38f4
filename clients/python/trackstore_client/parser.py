"""The `trackstore` command line: its commands, options and `--help` texts with examples."""
from __future__ import annotations

import argparse
import os

from . import commands
from .output import FORMATS

EXIT_STATUS = """exit status:
  0  success
  1  the server refused or failed the call: `STATUS_NAME: message` on stderr
     (e.g. INVALID_ARGUMENT, NOT_FOUND, UNAVAILABLE); also an unexpected local failure
  2  usage or local input error: `FILE:LINE: reason` or the option at fault on stderr
  130 interrupted (Ctrl-C)"""

EXAMPLES = {
    "track": """examples:
  trackstore track events.ndjson
  cat events.ndjson | trackstore track --scope shop -
  trackstore track --target db1:50051 --api-key "$KEY" events.ndjson""",
    "preview": """examples:
  trackstore preview "Events | where EventType == 'pageview' | take 5"
  trackstore preview -f daily_counts.kql --format table
  echo "Events | count" | trackstore preview - --format csv""",
    "list": """examples:
  trackstore list --filter "EventType eq 'pageview'" --orderby "EventTime desc" --top 10
  trackstore list --filter "User/Email ne null" --format table
  trackstore list --skip 100 --top 100 --format ndjson > page2.ndjson""",
    "delete": """examples:
  trackstore delete 0193f1c2-0000-7000-8000-000000000001
  trackstore delete --allow-missing ID1 ID2 ID3""",
    "compact": """examples:
  trackstore compact
  trackstore compact --target db1:50051 --api-key "$ADMIN_KEY\"""",
    "stats": """examples:
  trackstore stats
  trackstore stats --format table""",
    "export": """examples:
  trackstore export --scope shop --page-size 1000
  trackstore export --scope shop --start 1733443200000 --all > shop.ndjson""",
    "exports": """examples:
  trackstore exports create daily-s3 --schedule daily --format parquet --compression zstd ...
  trackstore exports run daily-s3
  trackstore exports runs daily-s3""",
    "import": """examples:
  trackstore import --from statsig events.json
  trackstore import --from profilestore --skip-invalid list-answer.json""",
    "serve": """examples:
  trackstore serve
  trackstore serve --data-dir /var/lib/trackstore --port 50051
  trackstore serve --config trackstore.toml""",
    "backup": """examples (the server stopped; restore: start a server on the copy):
  trackstore backup --data-dir /var/lib/trackstore /backups/trackstore-2026-12-06
  trackstore serve --data-dir /backups/trackstore-2026-12-06""",
}


class Parser(argparse.ArgumentParser):
    """argparse, with an option's value taken as given even when it is `--`."""

    def _get_values(self, action, arg_strings):
        # Python 3.11's argparse strips "--" from every argument list, an option's own value
        # included: `--scope=--` became [] (and a TypeError in the client) instead of "--".
        if action.option_strings and action.nargs is None and arg_strings == ["--"]:
            return self._get_value(action, "--")
        return super()._get_values(action, arg_strings)


def _command(commands_, name: str, help: str, run) -> Parser:
    command = commands_.add_parser(
        name, help=help, description=help, epilog=f"{EXAMPLES[name]}\n\n{EXIT_STATUS}",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    command.set_defaults(run=run)
    return command


def _client_command(commands_, name: str, help: str, run, reads: bool = False) -> Parser:
    command = _command(commands_, name, help, run)
    command.add_argument("--target", default=os.environ.get("TRACKSTORE_TARGET", "localhost:50051"),
                         help="server address host:port (env TRACKSTORE_TARGET)")
    command.add_argument("--api-key", default=os.environ.get("TRACKSTORE_API_KEY"),
                         help="API key (env TRACKSTORE_API_KEY)")
    command.add_argument("--scope", default="default", help="the scope (default: default)")
    if reads:
        command.add_argument("--format", choices=FORMATS, default="json",
                             help="json (default), ndjson (a row a line), table, csv")
    return command


def _add_serve(commands_) -> None:
    from trackstore_server import config

    serve = _command(commands_, "serve", "run the server", commands.cmd_serve)
    config.add_arguments(serve)
    backup = _command(commands_, "backup", "copy a stopped server's embedded store to a new "
                      "directory", commands.cmd_backup)
    backup.add_argument("--data-dir", default=config.DEFAULT_DATA_DIR,
                        help=f"the store to copy (default {config.DEFAULT_DATA_DIR})")
    backup.add_argument("destination", help="a new (or empty) directory")


def build_parser() -> Parser:
    parser = Parser(prog="trackstore", epilog=EXIT_STATUS,
                    description="An event store for product analytics, queried in KQL.",
                    formatter_class=argparse.RawDescriptionHelpFormatter)
    commands_ = parser.add_subparsers(dest="command", required=True)
    _add_serve(commands_)

    track = _client_command(commands_, "track", "track events from newline-delimited JSON",
                            commands.cmd_track)
    track.add_argument("file", nargs="?", default="-", help="a .ndjson file, or - for stdin")

    preview = _client_command(commands_, "preview", "run a KQL query (at most 1000 rows)",
                              commands.cmd_preview, reads=True)
    preview.add_argument("query", nargs="?", help="the query, or - to read it from stdin")
    preview.add_argument("-f", "--file", help="read the query from FILE (- for stdin)")

    listing = _client_command(commands_, "list", "list events with an OData $filter and "
                              "$orderby", commands.cmd_list, reads=True)
    listing.add_argument("--filter", default="", help="e.g. \"EventType eq 'pageview'\"")
    listing.add_argument("--orderby", default="", help="e.g. 'EventTime desc'")
    listing.add_argument("--skip", type=int, default=None, help="events to skip (default 0)")
    listing.add_argument("--top", type=int, default=None,
                         help="events to return (default 100); skip + top under 10,000")

    delete = _client_command(commands_, "delete", "delete events by TrackId (several: up to "
                             "1000, all or none)", commands.cmd_delete)
    delete.add_argument("track_ids", nargs="+", metavar="track_id")
    delete.add_argument("--allow-missing", action="store_true",
                        help="skip TrackIds that are not stored instead of failing")

    _client_command(commands_, "compact", "compact the store now (apply deletions, merge "
                    "files)", commands.cmd_compact)
    _client_command(commands_, "stats", "show store statistics", commands.cmd_stats, reads=True)
    _add_feature_commands(commands_)
    return parser


def _add_feature_commands(commands_) -> None:
    """The commands of the services beside track events, each in its own module."""
    from . import cli_export

    def client_command(name: str, help: str) -> Parser:
        return _client_command(commands_, name, help, None)

    cli_export.add_commands(commands_, client_command)
