"""The client commands of `trackstore`: each reads its arguments, makes one kind of call through
`trackstore.Client`, and prints the answer (JSON unless `--format` says otherwise)."""
from __future__ import annotations

import trackstore

from .inputs import InputError, read_events, read_query
from .output import print_json, print_rows
from .progress import counting

LIST_WINDOW = 10_000  # List answers only while skip + top is under this


def _client(args) -> trackstore.Client:
    # The server makes the TrackIds: a stream is not retried, and ids made here would not make
    # a second run of the same file idempotent either.
    return trackstore.Client(args.target, api_key=args.api_key, scope=args.scope,
                             client_track_ids=False)


def cmd_track(args) -> int:
    events = read_events(args.file)
    with _client(args) as client, counting(events) as sending:
        track_ids = client.track_stream(sending)
    print_json({"track_ids": track_ids})
    return 0


def cmd_preview(args) -> int:
    query = read_query(args.query, args.file)
    with _client(args) as client:
        result = client.preview(query)
    caption = _rows(len(result)) + (" (truncated: the query has more)" if result.truncated
                                     else "")
    print_rows(result.to_dict(), [c.name for c in result.columns], result.rows, args.format,
               caption)
    return 0


def _rows(count: int) -> str:
    return f"{count} row" if count == 1 else f"{count} rows"


def _check_window(skip: int | None, top: int | None) -> None:
    skip_value, top_value = skip or 0, 100 if top is None else top
    if skip_value < 0 or top_value < 0:
        raise InputError("--skip and --top must not be negative")
    if skip_value + top_value >= LIST_WINDOW:
        raise InputError(f"--skip + --top must be under {LIST_WINDOW:,} (List pages within the "
                         f"first {LIST_WINDOW:,} events), got {skip_value + top_value:,}")


def cmd_list(args) -> int:
    _check_window(args.skip, args.top)
    with _client(args) as client:
        result = client.list(args.filter, args.orderby, args.skip, args.top)
    print_rows(result.to_dict(), [c.name for c in result.columns], result.rows, args.format,
               _rows(len(result)))
    return 0


def cmd_delete(args) -> int:
    with _client(args) as client:
        if len(args.track_ids) == 1 and not args.allow_missing:
            print_json({"deleted": client.delete(args.track_ids[0])})
        else:
            print_json({"deleted": client.batch_delete(args.track_ids,
                                                       allow_missing=args.allow_missing)})
    return 0


def cmd_compact(args) -> int:
    with _client(args) as client:
        print_json(dict(client.compact()))
    return 0


def cmd_stats(args) -> int:
    with _client(args) as client:
        stats = dict(client.stats())
    rows = [{"statistic": name, "value": value} for name, value in _flat(stats)]
    print_rows(stats, ["statistic", "value"], rows, args.format)
    return 0


def _flat(fields: dict, prefix: str = ""):
    """(name, value) of every field, a message's as "memory.resident_bytes"."""
    for name, value in fields.items():
        if isinstance(value, dict):
            yield from _flat(value, f"{prefix}{name}.")
        else:
            yield prefix + name, value


def cmd_serve(args) -> int:
    from trackstore_server import config
    from trackstore_server.api.app import serve

    try:
        settings = config.load(flags=vars(args))
    except config.ConfigError as error:
        raise InputError(str(error)) from None
    try:
        serve(settings)
    except RuntimeError as error:  # e.g. a damaged write-ahead log: say so, no traceback
        raise CommandFailed(f"cannot start: {error}") from None
    return 0


def cmd_backup(args) -> int:
    from trackstore_server.backup import BackupFailed, backup

    try:
        copied = backup(args.data_dir, args.destination)
    except (BackupFailed, OSError) as error:
        raise CommandFailed(f"backup failed: {error}") from None
    print_json(copied)
    return 0


class CommandFailed(Exception):
    """A command failed for a reason other than a call's status (exit status 1)."""
