"""One run of an export configuration: the range it exports, the files it writes, its record.

A run exports the events with EventTime in [from, to): `from` is where the newest succeeded run
ended (or the configuration's start_at), `to` is the run's start less the safety lag
(--export-safety-lag-seconds), so events other servers acknowledged but have not flushed yet
are not passed over. A run whose newest predecessor failed (or never ended: its server died)
retries that predecessor's range exactly, into the same file name, so a half-written file is
replaced rather than joined by a second one: no gaps and no duplicates, across restarts too.
The range's end becomes the mark only with the record `succeeded`, written once the file is
complete.

The run reads one DuckLake snapshot, taken on the lake thread after a flush (every event this
server acknowledged is in it), and writes the file with COPY: a local file from the lake's own
connection, a bucket's through a DuckDB instance of its own that reads the snapshot as an Arrow
stream (destinations.writer_connection). One server runs a configuration at a time: it
holds the lease `export:<scope>/<name>` (server/leases.py) for the run.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import uuid
from dataclasses import dataclass, replace
from typing import Callable

import duckdb

import querylang
from trackstore.v1 import export_pb2 as pb

from .. import leases
from ..errors import ExportBusy, TrackstoreError
from ..event_schema import COLUMN_NAMES
from ..lake import rollback
from ..snapshot_holds import current_snapshot
from .configurations import Configuration, check_where, where_query
from .destinations import Destination, prepare_local_directory, writer_connection
from .events_at import EventsAt
from .tables import RUNS_TABLE
from .times import to_millis, utc_now

log = logging.getLogger(__name__)

STATES = {"running": pb.EXPORT_RUN_STATE_RUNNING, "succeeded": pb.EXPORT_RUN_STATE_SUCCEEDED,
          "failed": pb.EXPORT_RUN_STATE_FAILED}
ARROW_BATCH_ROWS = 122_880
_COLUMNS = ('"Scope", "Name", "RunId", "State", "RangeStart", "RangeEnd", "Rows", "Bytes", '
            '"Files", "Error", "StartedAt", "EndedAt", "ServerId"')
_TIME_NAME = "%Y%m%dT%H%M%S%fZ"


@dataclass(frozen=True)
class Run:
    scope: str
    name: str
    run_id: str
    state: str
    range_start: dt.datetime
    range_end: dt.datetime
    rows: int
    bytes: int
    files: tuple[str, ...]
    error: str
    started_at: dt.datetime
    ended_at: dt.datetime | None
    server_id: str

    def to_proto(self) -> pb.ExportRun:
        return pb.ExportRun(
            run_id=self.run_id, name=self.name, state=STATES[self.state],
            range_start=to_millis(self.range_start), range_end=to_millis(self.range_end),
            rows=self.rows, bytes=self.bytes, files=self.files, error=self.error,
            start_time=to_millis(self.started_at),
            end_time=to_millis(self.ended_at) if self.ended_at else 0, server_id=self.server_id)


def runs_of(cursor: duckdb.DuckDBPyConnection, scope: str, name: str) -> list[Run]:
    """A configuration's runs, newest first."""
    rows = cursor.execute(
        f'SELECT {_COLUMNS} FROM {RUNS_TABLE} WHERE "Scope" = ? AND "Name" = ? '
        f'ORDER BY "StartedAt" DESC, "RunId"', [scope, name]).fetchall()
    return [Run(*row[:8], tuple(row[8] or ()), row[9] or "", *row[10:]) for row in rows]


def exported_until(runs: list[Run]) -> dt.datetime | None:
    """The mark: where the newest succeeded run ended."""
    return max((r.range_end for r in runs if r.state == "succeeded"), default=None)


def next_range(configuration: Configuration, runs: list[Run],
               now: dt.datetime, lag_seconds: float) -> tuple[dt.datetime, dt.datetime]:
    """[from, to) of the next run (see the module's docstring)."""
    if runs and runs[0].state != "succeeded":
        return runs[0].range_start, runs[0].range_end
    start = exported_until(runs) or configuration.start_at
    return start, max(start, now - dt.timedelta(seconds=lag_seconds))


def file_name(configuration: Configuration, start: dt.datetime, end: dt.datetime) -> str:
    return (f"{configuration.name}-{start.strftime(_TIME_NAME)}-{end.strftime(_TIME_NAME)}."
            f"{configuration.file_format.extension}")


def _record(cursor: duckdb.DuckDBPyConnection, run: Run) -> None:
    cursor.execute("BEGIN")
    try:
        cursor.execute(f'DELETE FROM {RUNS_TABLE} WHERE "RunId" = ?', [run.run_id])
        cursor.execute(f"INSERT INTO {RUNS_TABLE} ({_COLUMNS}) VALUES ({', '.join('?' * 13)})",
                       [run.scope, run.name, run.run_id, run.state, run.range_start,
                        run.range_end, run.rows, run.bytes, list(run.files), run.error,
                        run.started_at, run.ended_at, run.server_id])
        cursor.execute("COMMIT")
    except BaseException:
        rollback(cursor)
        raise


@dataclass(frozen=True)
class RunContext:
    """What a run needs of the server."""

    engine: object  # server/engine.py's Engine: server_id, lake_cursor, on_lake_thread
    local_root: str
    lag_seconds: float
    lease_seconds: float


def run(context: RunContext, configuration: Configuration, destination: Destination,
        wanted: Callable[[list[Run]], bool] = lambda runs: True) -> Run | None:
    """Runs the configuration if no other server is running it (ExportBusy otherwise) and
    `wanted(runs)` still holds once its lease is held (None otherwise); the run as recorded."""
    engine = context.engine
    lease = f"export:{configuration.scope}/{configuration.name}"
    with engine.lake_cursor() as cursor:
        if not leases.claim(cursor, lease, engine.server_id, context.lease_seconds):
            raise ExportBusy(f"export {configuration.name!r} of scope {configuration.scope!r} is "
                             f"running on server {leases.holder_of(cursor, lease)}; try later")
        try:
            runs = runs_of(cursor, configuration.scope, configuration.name)
            if not wanted(runs):
                return None
            return _run_held(context, cursor, configuration, destination, runs)
        finally:
            leases.release(cursor, lease, engine.server_id)


def _run_held(context: RunContext, cursor: duckdb.DuckDBPyConnection,
              configuration: Configuration, destination: Destination, runs: list[Run]) -> Run:
    start, end = next_range(configuration, runs, utc_now(), context.lag_seconds)
    began = utc_now()
    current = Run(configuration.scope, configuration.name, str(uuid.uuid4()), "running", start,
                  end, 0, 0, (), "", began, None, context.engine.server_id)
    _record(cursor, current)
    try:
        rows, size, files = (0, 0, ()) if end <= start else _write(
            context, configuration, destination, start, end)
        current = replace(current, state="succeeded", rows=rows, bytes=size, files=files)
    except Exception as error:  # noqa: BLE001 - recorded on the run; the next one retries
        current = replace(current, state="failed", error=_describe(error) + (
            "; the next run retries this range. TestExportDestination (trackstore exports "
            "test) names what a destination refuses"))
        log.warning("export %s/%s failed: %s", configuration.scope, configuration.name,
                    current.error)
    current = replace(current, ended_at=utc_now())
    _record(cursor, current)
    return current


def _describe(error: Exception) -> str:
    if isinstance(error, TrackstoreError):
        return error.message
    return str(error).splitlines()[0] if str(error) else type(error).__name__


def selection(configuration: Configuration, snapshot: int, start: dt.datetime,
              end: dt.datetime) -> tuple[str, dict]:
    """The SELECT of a run's events at `snapshot`, and its parameters: fixed SQL text, with the
    configuration's `where` compiled by querylang (its values bound as parameters)."""
    select = EventsAt("run_", configuration.scope, snapshot)
    select.where(f'"EventTime" >= {select.param("start", start)}')
    select.where(f'"EventTime" < {select.param("end", end)}')
    select.one_of("EventType", configuration.event_types)
    select.one_of("Value", configuration.event_names)
    source, params = f"({select.sql()})", select.params
    if not configuration.where.strip():
        return f"SELECT * FROM {source}", params
    check_where(configuration.where)
    compiled = querylang.compile(where_query(configuration.where), source_sql=source)
    return compiled.sql, {**compiled.params, **params}


def _write(context: RunContext, configuration: Configuration, destination: Destination,
           start: dt.datetime, end: dt.datetime) -> tuple[int, int, tuple[str, ...]]:
    """(rows, bytes, files) of the run's file, written complete or not at all.

    A local file is written by the lake's own connection, one DuckDB pipeline from the Parquet
    scan to the file: handing the rows to a second instance as an Arrow stream cost about half
    again the CPU at 10M events (bench/NOTES.md#export). An object store's file goes
    through an instance of its own, which alone holds the destination's secret."""
    engine = context.engine
    snapshot = engine.on_lake_thread(lambda lake: current_snapshot(lake)[0],
                                     rewrites=False)
    sql, params = selection(configuration, snapshot, start, end)
    location = destination.location(context.local_root,
                                    file_name(configuration, start, end))
    file_format = configuration.file_format

    def copy(rows: str) -> str:
        return (f"COPY (SELECT {file_format.select_list(COLUMN_NAMES)} FROM ({rows})) "
                f"TO $path ({file_format.copy_options()})")

    if destination.kind == "local":
        prepare_local_directory(destination, context.local_root)
        with engine.lake_cursor() as lake:
            # A file promises no row order; without keeping the scan's, both cores write.
            lake.execute("SET SESSION preserve_insertion_order = false")
            rows = lake.execute(copy(sql), {**params, "path": location}).fetchall()[0][0]
        return rows, os.path.getsize(location), (location,)
    with writer_connection(destination, context.local_root) as out, \
            engine.lake_cursor() as lake:
        out.register("export_rows", lake.execute(sql, params).fetch_record_batch(
            ARROW_BATCH_ROWS))
        rows = out.execute(copy("SELECT * FROM export_rows"), {"path": location}
                           ).fetchall()[0][0]
        size = out.execute("SELECT size FROM read_blob($path)", {"path": location}
                           ).fetchall()[0][0]
    return rows, size, (location,)
