"""Export configurations: checked, stored in the lake table export_configurations, read back.

A configuration is named within its scope. Its destination's secret is sealed (secrets.py)
before it is stored and opened only for a run or a probe: a Configuration read for an answer
carries the sealed bytes, never the secret.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, replace

import duckdb

import querylang
from trackstore.v1 import export_pb2 as pb

from ..errors import AlreadyExists, BadQuery, BadRequest, FieldViolation, NotFound
from ..event_batch import normalize_scope
from ..lake import rollback
from .destinations import Destination
from .formats import FileFormat
from .secrets import SecretBox
from .tables import CONFIGURATIONS_TABLE, RUNS_TABLE
from .times import from_millis, to_millis, utc_now

_NAME = re.compile(r"^[A-Za-z0-9._\-]{1,100}$")
SCHEDULES = {pb.EXPORT_SCHEDULE_ONCE: "once", pb.EXPORT_SCHEDULE_HOURLY: "hourly",
             pb.EXPORT_SCHEDULE_DAILY: "daily", pb.EXPORT_SCHEDULE_WEEKLY: "weekly",
             pb.EXPORT_SCHEDULE_MONTHLY: "monthly"}
FORMATS = {pb.EXPORT_FORMAT_CSV: "csv", pb.EXPORT_FORMAT_TSV: "tsv",
           pb.EXPORT_FORMAT_NDJSON: "ndjson", pb.EXPORT_FORMAT_PARQUET: "parquet"}
COMPRESSIONS = {pb.EXPORT_COMPRESSION_UNSPECIFIED: "none", pb.EXPORT_COMPRESSION_NONE: "none",
                pb.EXPORT_COMPRESSION_GZIP: "gzip", pb.EXPORT_COMPRESSION_ZSTD: "zstd",
                pb.EXPORT_COMPRESSION_LZ4: "lz4"}
UPDATABLE = ("schedule", "start_at", "event_types", "event_names", "where", "format",
             "compression", "destination")
_WHERE_PREFIX = "Events | where (\n"  # the predicate starts on line 2, column 1
_COLUMNS = ('"Scope", "Name", "Schedule", "StartAt", "EventTypes", "EventNames", "Where", '
            '"Format", "Compression", "Destination", "Secret", "CreatedAt", "UpdatedAt"')


@dataclass(frozen=True)
class Configuration:
    scope: str
    name: str
    schedule: str
    start_at: dt.datetime
    event_types: tuple[str, ...]
    event_names: tuple[str, ...]
    where: str
    file_format: FileFormat
    destination: Destination  # without its secret (sealed_secret holds it)
    sealed_secret: bytes | None
    created_at: dt.datetime
    updated_at: dt.datetime

    def to_proto(self, exported_until: dt.datetime | None) -> pb.ExportConfiguration:
        destination = self.destination.to_proto()
        if destination.HasField("s3"):
            destination.s3.secret_access_key_set = self.sealed_secret is not None
        codes = {value: key for key, value in FORMATS.items()}
        return pb.ExportConfiguration(
            scope=self.scope, name=self.name,
            schedule={v: k for k, v in SCHEDULES.items()}[self.schedule],
            start_at=to_millis(self.start_at), event_types=self.event_types,
            event_names=self.event_names, where=self.where,
            format=codes[self.file_format.format],
            compression={v: k for k, v in COMPRESSIONS.items()
                         if k != pb.EXPORT_COMPRESSION_UNSPECIFIED}[self.file_format.compression],
            destination=destination, create_time=to_millis(self.created_at),
            update_time=to_millis(self.updated_at),
            exported_until=to_millis(exported_until) if exported_until else 0)

    def with_secret(self, box: SecretBox) -> Destination:
        """The destination with its secret, for a run or a probe."""
        if self.sealed_secret is None:
            return self.destination
        return replace(self.destination, secret=box.open(self.sealed_secret))


def _bad(field: str, description: str) -> BadRequest:
    return BadRequest(f"{field} {description}", [FieldViolation(field, description)])


def where_query(where: str) -> str:
    """The KQL query of a `where` predicate, which starts on its line 2, column 1."""
    return f"{_WHERE_PREFIX}{where}\n)"


def check_where(where: str, field: str = "configuration.where") -> None:
    """A KQL predicate over the events, or BadQuery at its own line and column."""
    if not where.strip():
        return
    try:
        querylang.compile(where_query(where), source_sql='"events"')
    except querylang.QueryError as error:
        lines = where.split("\n")
        line, column, message = error.line - 1, error.column, error.message
        if line > len(lines):  # at the closing parenthesis the predicate is wrapped in
            line, column = len(lines), len(lines[-1]) + 1
            message = message.replace("found ')'", "found the end of the predicate")
        raise BadQuery(f"line {max(1, line)}, column {column}: {message}", field) from None


def checked(message: pb.ExportConfiguration, box: SecretBox,
            stored: Configuration | None = None) -> Configuration:
    """The configuration a request describes, every field checked; `stored` is the one it
    replaces (its name, creation time and, for an empty S3 secret, its secret)."""
    if not _NAME.match(message.name):
        raise _bad("configuration.name", "must be 1 to 100 letters, digits, '.', '_' or '-'")
    if message.schedule not in SCHEDULES:
        raise _bad("configuration.schedule", "must be once, hourly, daily, weekly or monthly")
    start_at = from_millis(message.start_at) if message.HasField("start_at") else None
    if start_at is None:
        raise _bad("configuration.start_at",
                   "is required: the EventTime of the earliest event, in ms since the epoch")
    if message.format not in FORMATS:
        raise _bad("configuration.format", "must be csv, tsv, ndjson or parquet")
    file_format = FileFormat.checked(FORMATS[message.format],
                                     COMPRESSIONS.get(message.compression, "?"))
    for field in ("event_types", "event_names"):
        for index, value in enumerate(getattr(message, field)):
            if "\0" in value:
                raise _bad(f"configuration.{field}[{index}]", "must not contain NUL (U+0000)")
    check_where(message.where)
    destination = Destination.from_proto(
        message.destination, "configuration.destination",
        secret_required=not (stored and stored.sealed_secret))
    sealed = (box.seal(destination.secret) if destination.secret
              else stored.sealed_secret if stored and destination.kind == "s3" else None)
    now = utc_now()
    return Configuration(
        scope=normalize_scope(message.scope), name=message.name,
        schedule=SCHEDULES[message.schedule], start_at=start_at,
        event_types=tuple(message.event_types), event_names=tuple(message.event_names),
        where=message.where, file_format=file_format,
        destination=replace(destination, secret=""), sealed_secret=sealed,
        created_at=stored.created_at if stored else now, updated_at=now)


class Configurations:
    """The stored configurations, read and written on cursors the caller gives."""

    def __init__(self, box: SecretBox):
        self.box = box

    def create(self, cursor: duckdb.DuckDBPyConnection,
               message: pb.ExportConfiguration) -> Configuration:
        configuration = checked(message, self.box)
        self._write(cursor, configuration, replaces=False)
        return configuration

    def update(self, cursor: duckdb.DuckDBPyConnection, message: pb.ExportConfiguration,
               paths: list[str]) -> Configuration:
        unknown = sorted(set(paths) - set(UPDATABLE))
        if unknown:
            raise _bad("update_mask", f"cannot change {', '.join(unknown)}; it may name "
                                      f"{', '.join(UPDATABLE)}")
        stored = self.get(cursor, message.scope, message.name)
        merged = self._stored_message(stored)
        for path in paths or UPDATABLE:
            merged.ClearField(path)
            if path in ("event_types", "event_names"):
                getattr(merged, path).extend(getattr(message, path))
            elif path == "destination":
                merged.destination.CopyFrom(message.destination)
            else:
                setattr(merged, path, getattr(message, path))
        if message.destination.WhichOneof("target") is None and "destination" not in paths:
            merged.destination.CopyFrom(stored.destination.to_proto())
        configuration = checked(merged, self.box, stored)
        self._write(cursor, configuration, replaces=True)
        return configuration

    @staticmethod
    def _stored_message(stored: Configuration) -> pb.ExportConfiguration:
        message = stored.to_proto(None)
        if message.destination.HasField("s3"):
            message.destination.s3.secret_access_key_set = False
        return message

    def get(self, cursor: duckdb.DuckDBPyConnection, scope: str, name: str) -> Configuration:
        if not _NAME.match(name):  # no configuration has it; nor does it reach DuckLake
            raise _bad("name", "must be 1 to 100 letters, digits, '.', '_' or '-'")
        scope = normalize_scope(scope)
        found = self._select(cursor, '"Scope" = ? AND "Name" = ?', [scope, name])
        if not found:
            raise NotFound(f"no export configuration {name!r} in scope {scope!r}")
        return found[0]

    def list(self, cursor: duckdb.DuckDBPyConnection, scope: str | None) -> list[Configuration]:
        """A scope's configurations by name; every scope's when `scope` is None."""
        if scope is None:
            return self._select(cursor, "true", [])
        return self._select(cursor, '"Scope" = ?', [normalize_scope(scope)])

    def delete(self, cursor: duckdb.DuckDBPyConnection, scope: str, name: str) -> None:
        """The configuration and its runs' records (the files they wrote stay)."""
        stored = self.get(cursor, scope, name)
        _in_transaction(cursor, [
            (f'DELETE FROM {CONFIGURATIONS_TABLE} WHERE "Scope" = ? AND "Name" = ?',
             [stored.scope, stored.name]),
            (f'DELETE FROM {RUNS_TABLE} WHERE "Scope" = ? AND "Name" = ?',
             [stored.scope, stored.name])])

    def _write(self, cursor: duckdb.DuckDBPyConnection, configuration: Configuration,
               replaces: bool) -> None:
        key = [configuration.scope, configuration.name]
        existing = self._select(cursor, '"Scope" = ? AND "Name" = ?', key)
        if existing and not replaces:
            raise AlreadyExists(f"an export configuration {configuration.name!r} exists in "
                                f"scope {configuration.scope!r}")
        c = configuration
        row = [c.scope, c.name, c.schedule, c.start_at, list(c.event_types),
               list(c.event_names), c.where, c.file_format.format, c.file_format.compression,
               c.destination.public_json(), c.sealed_secret, c.created_at, c.updated_at]
        _in_transaction(cursor, [
            (f'DELETE FROM {CONFIGURATIONS_TABLE} WHERE "Scope" = ? AND "Name" = ?', key),
            (f"INSERT INTO {CONFIGURATIONS_TABLE} ({_COLUMNS}) VALUES "
             f"({', '.join('?' * 13)})", row)])

    @staticmethod
    def _select(cursor: duckdb.DuckDBPyConnection, where: str, params: list) -> list:
        rows = cursor.execute(f"SELECT {_COLUMNS} FROM {CONFIGURATIONS_TABLE} WHERE {where} "
                              f'ORDER BY "Scope", "Name"', params).fetchall()
        return [Configuration(
            scope=r[0], name=r[1], schedule=r[2], start_at=r[3], event_types=tuple(r[4]),
            event_names=tuple(r[5]), where=r[6], file_format=FileFormat(r[7], r[8]),
            destination=Destination.from_json(r[9], ""),
            sealed_secret=bytes(r[10]) if r[10] is not None else None,
            created_at=r[11], updated_at=r[12]) for r in rows]


def _in_transaction(cursor: duckdb.DuckDBPyConnection, statements: list) -> None:
    cursor.execute("BEGIN")
    try:
        for sql, params in statements:
            cursor.execute(sql, params)
        cursor.execute("COMMIT")
    except BaseException:
        rollback(cursor)
        raise
