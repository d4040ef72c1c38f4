"""The storage engine: the one object the gRPC servicer talks to."""
from __future__ import annotations

import collections
import logging
import pathlib
import threading
import time
import uuid
from concurrent.futures import Future
from typing import Callable

import duckdb

import querylang
from querylang.top_by_key import BOUND_PARAMETER

from . import column_values, compaction, promoted
from .config import Settings
from .errors import FieldViolation, InvalidArgument
from .event_batch import MAX_TRACK_ID_LENGTH, EventBatch, build_batch, normalize_scope
from .lake import LAKE, EVENTS_TABLE, quote_identifier, pending_deletions, scalar
from .newest import WindowPlanner, run_newest_first
from .queries import QueryRunner
from .rows import ResultRows
from .store import open_store
from .top_bound import BoundPlanner, run_top_bound, without_late_materialization
from .wal import WriteAheadLog
from .writer import Writer

log = logging.getLogger(__name__)


MAX_LIST_WINDOW = 10_000
PROMOTION_SAMPLE_ROWS = 100_000
DEFAULT_TOP = 100
# TrackIds per BatchDelete: two IN lists of at most 500 constants each (deletes._CHUNK).
MAX_BATCH_DELETE = 1000


class Engine:
    def __init__(self, settings: Settings):
        self.settings = settings
        self._conn = open_store(settings)
        # What other servers sharing the catalog stored of the tracked columns' values.
        self._shared_catalog = bool(settings.catalog)
        self._lake_values = column_values.LakeValues()
        self._flushes_at_last_upkeep = 0
        # How often queries read each Payload/User property: compaction promotes those first.
        self._path_usage: collections.Counter = collections.Counter()
        self._usage_lock = threading.Lock()
        cursor = self._conn.cursor()
        try:
            keys = promoted.load(cursor)
        finally:
            cursor.close()
        data_dir = pathlib.Path(settings.data_dir)
        self._writer = Writer(
            self._conn, WriteAheadLog(data_dir / "wal"), _server_id(data_dir),
            commit_max_rows=settings.commit_max_rows,
            inline_row_limit=settings.inline_row_limit,
            flush_seconds=settings.flush_seconds,
            promoted_keys=keys, max_pending_deletes=settings.max_pending_deletes,
            delete_retry_seconds=settings.delete_retry_seconds,
            on_idle=self._upkeep, idle_seconds=5.0,
        )
        self._set_promoted(keys)
        self._refresh_lake_values()
        self._queries = QueryRunner(
            self._conn, settings.max_concurrent_queries, settings.max_queued_queries
        )
        self._windows = WindowPlanner()
        self._bounds = BoundPlanner()
        self._stop = threading.Event()
        # Compaction with key promotion (daily by default) and, between them, light compactions
        # that apply deletions and merge the small files flushes and deletes write (every 10
        # minutes): each DuckLake commit adds files that every read must open until then.
        for seconds, job, name in (
            (settings.compaction_interval_seconds, self.compact, "compaction"),
            (settings.merge_interval_seconds, self.light_compaction, "light compaction"),
        ):
            if seconds > 0:
                threading.Thread(
                    target=self._every, args=(seconds, job, name), name=name, daemon=True
                ).start()

    # -- writes -------------------------------------------------------------------------------

    def prepare(self, scope: str, events, encoded_size: int | None = None) -> EventBatch:
        return build_batch(scope, events, encoded_size)

    def submit(self, batch: EventBatch) -> Future:
        """Queues a batch for the next group commit; the future holds its TrackIds."""
        return self._writer.insert(batch)

    def track(self, scope: str, events, encoded_size: int | None = None) -> list[str]:
        batch = self.prepare(scope, events, encoded_size)
        if batch.size == 0:
            return []
        return self.submit(batch).result()

    def delete(self, scope: str, track_id: str) -> None:
        scope = normalize_scope(scope)
        if not track_id:
            raise InvalidArgument(
                "track_id is required", [FieldViolation("track_id", "must not be empty")]
            )
        self._writer.delete(scope, track_id).result()

    def batch_delete(self, scope: str, track_ids: list[str], allow_missing: bool) -> list[str]:
        scope = normalize_scope(scope)
        if not 1 <= len(track_ids) <= MAX_BATCH_DELETE:
            raise InvalidArgument(
                f"track_ids must hold 1 to {MAX_BATCH_DELETE} TrackIds, got {len(track_ids)}",
                [FieldViolation("track_ids", f"1 to {MAX_BATCH_DELETE} TrackIds")],
            )
        for index, track_id in enumerate(track_ids):
            if not track_id or len(track_id) > MAX_TRACK_ID_LENGTH:
                raise InvalidArgument(
                    f"track_ids[{index}] must be 1 to {MAX_TRACK_ID_LENGTH} characters",
                    [FieldViolation(f"track_ids[{index}]", "empty or too long")],
                )
        return self._writer.delete_batch(scope, track_ids, allow_missing).result()

    def compact(self) -> compaction.CompactionReport:
        return self._writer.run(self._compact_and_promote).result()

    def _compact_and_promote(self, cursor: duckdb.DuckDBPyConnection) -> compaction.CompactionReport:
        # Promote first: it rewrites the stored rows, and compaction then drops the old files.
        if self.settings.promote_keys:
            known = promoted.load(cursor)
            with self._usage_lock:
                queried = dict(self._path_usage)
            new_keys = promoted.discover(
                cursor, known, sample_rows=PROMOTION_SAMPLE_ROWS,
                min_share=self.settings.promote_min_share,
                max_keys=self.settings.max_promoted_keys, queried=queried,
            )
            if new_keys or promoted.lacking_order_columns(known):
                # Move inlined rows to Parquet first, so the rewrite works on files only.
                compaction.flush_inlined(cursor)
                promoted.promote(cursor, new_keys, known, self.settings.inline_row_limit)
            self._set_promoted(promoted.load(cursor))
        return compaction.compact(cursor, self.settings.inline_row_limit)

    def _set_promoted(self, keys) -> None:
        # Runs on the lake thread (or before it takes work), so flushes never miss a column.
        self._writer.promoted = keys
        # One assignment, so a concurrent read never pairs a schema with another's sources.
        self._read_view = (promoted.schema_with(keys), *self._scoped_sources(keys))

    def _scoped_sources(self, keys) -> tuple[str, str]:
        """What a compiled query reads instead of the table, confined to the scope the server
        binds, so no text a user wrote can widen what a query sees: the lake alone, and the lake
        with the acknowledged events not yet flushed. The second costs twice as much (measured:
        10 ms instead of 5 for a query matching nothing, 46 instead of 17 for a top 10), so it
        is used only while there are such events."""
        columns = ", ".join(quote_identifier(c) for c in promoted.column_names(keys))
        lake_only = f'(SELECT {columns} FROM {EVENTS_TABLE} WHERE "Scope" = $srv_scope)'
        with_recent = (
            f'(SELECT {columns} FROM {EVENTS_TABLE} WHERE "Scope" = $srv_scope '
            f"UNION ALL {self._writer.recent_source_sql(keys)})"
        )
        return lake_only, with_recent

    def _read_plan(self):
        """(schema, source, prepare) for a read starting now. An event acknowledged before this
        moment is in the lake or in recent; if recent is empty, it is in the lake."""
        schema, lake_only, with_recent = self._read_view
        if schema.promoted != self._writer.promoted:  # the writer learned keys from the catalog
            self._set_promoted(self._writer.promoted)
            schema, lake_only, with_recent = self._read_view
        if self._writer.has_recent():
            return schema, with_recent, self._writer.register_recent
        return schema, lake_only, None

    def stats(self) -> dict:
        cursor = self._conn.cursor()
        try:
            self._writer.register_recent(cursor)
            events = scalar(
                cursor,
                f"SELECT (SELECT count(*) FROM {EVENTS_TABLE}) + "
                f"(SELECT count(*) FROM ({self._writer.recent_source_sql(())}))",
                {"srv_scope": None, "srv_server": self._writer.server_id},
            )
            pending = pending_deletions(cursor)
            files = scalar(cursor, "SELECT count(*) FROM ducklake_list_files(?, 'events')", [LAKE])
        finally:
            cursor.close()
        return {
            "events": events,
            "pending_deletions": pending,
            "max_pending_deletions": self.settings.max_pending_deletes,
            "data_files": files,
            "promoted_keys": [
                f"{k.dynamic_column}.{'.'.join(k.path)}:{k.type}" for k in self._read_view[0].promoted
            ],
        }

    # -- reads --------------------------------------------------------------------------------

    def preview(self, scope: str, query: str, timeout_seconds: float | None = None,
                on_cancel: Callable | None = None):
        scope = normalize_scope(scope)
        max_rows = self.settings.preview_max_rows
        result, compiled = self._read(
            lambda schema, source, known: querylang.compile(
                query, schema=schema, source_sql=source, max_rows=max_rows + 1, known=known,
                order_key_output=True),
            scope, timeout_seconds, on_cancel,
        )
        truncated = len(result.rows) > max_rows
        rows = result.rows[:max_rows]
        columns = [(c.name, c.type) for c in compiled.columns]
        return columns, ResultRows(result.names, result.json_columns, rows), truncated

    def list(self, scope: str, filter: str, orderby: str, skip: int | None, top: int | None,
             timeout_seconds: float | None = None, on_cancel: Callable | None = None):
        scope = normalize_scope(scope)
        skip = 0 if skip is None else skip
        top = DEFAULT_TOP if top is None else top
        violations = []
        if skip < 0:
            violations.append(FieldViolation("skip", "must not be negative"))
        if top < 0:
            violations.append(FieldViolation("top", "must not be negative"))
        if not violations and skip + top >= MAX_LIST_WINDOW:
            violations.append(FieldViolation(
                "top", f"skip + top must be under {MAX_LIST_WINDOW}, got {skip + top}"))
        if violations:
            raise InvalidArgument(
                "; ".join(f"{v.field} {v.description}" for v in violations), violations
            )
        result, _ = self._read(
            lambda schema, source, known: querylang.compile_list(
                filter or "", orderby or "", skip=skip, top=top, schema=schema, source_sql=source,
                known=known, order_key_output=True),
            scope, timeout_seconds, on_cancel,
        )
        return ResultRows(result.names, result.json_columns, result.rows)

    def _read(self, compile_for, scope, timeout_seconds, on_cancel):
        """(result, compiled) of `compile_for(schema, source, known)`, where `known` is what the
        scope's tracked columns hold (server/column_values.py). An answer that relied on it is
        kept only if it had not changed when the query ended; otherwise (rare: a value new to
        the scope arrived meanwhile, or on another server) the query runs again without it."""
        schema, source, prepare = self._read_plan()
        token, known = self._known(scope)
        compiled = compile_for(schema, source, known)
        self._count_paths(compiled)
        result = self._read_compiled(compiled, schema, source, prepare, compile_for, known,
                                     scope, timeout_seconds, on_cancel)
        if compiled.pruned:
            self._refresh_lake_values()
            if self._known(scope)[0] != token:
                compiled = compile_for(schema, source, None)
                result = self._read_compiled(compiled, schema, source, prepare, compile_for,
                                             None, scope, timeout_seconds, on_cancel)
        return result, compiled

    def _known(self, scope):
        """((lake version, given generation), column -> values) for `scope`."""
        generation, given = self._writer.values.of_scope(scope)
        if not self._shared_catalog:
            # DuckDB locks an embedded catalog's file, so no other process writes to it: the
            # lake holds what this server found there at start or stored since.
            return (None, generation), {c: v for c, v in given.items() if v is not None}
        version, in_lake = self._lake_values.of_scope(scope)
        return (version, generation), column_values.combined(in_lake, given)

    def _refresh_lake_values(self) -> None:
        if not self._shared_catalog:
            return
        cursor = self._conn.cursor()
        try:
            self._lake_values.refresh(cursor)
        finally:
            cursor.close()

    def _read_compiled(self, compiled, schema, source, prepare, compile_for, known, scope,
                       timeout_seconds, on_cancel):
        """The result of `compiled`; newest-first queries are read from the newest events
        first (server/newest.py), top-Ns by a promoted key from beyond a learned bound
        (server/top_bound.py)."""
        if compiled.top_by_key is not None:
            return self._read_top_by_key(compiled, schema, source, prepare, compile_for, known,
                                         scope, timeout_seconds, on_cancel)
        if compiled.newest_first is None:
            return self._run(compiled, scope, timeout_seconds, on_cancel, prepare)
        remaining = self._time_left(timeout_seconds)
        since = compile_for(
            schema, f'(SELECT * FROM {source} AS _all WHERE "EventTime" >= $srv_since)', known)
        bounds = self._windows.bounds(scope, lambda: self._run_sql(
            f'SELECT min("EventTime"), max("EventTime") FROM {source} AS _all', {},
            scope, remaining(), on_cancel, prepare).rows[0])
        return run_newest_first(
            self._windows, (scope, compiled.sql), compiled.newest_first, bounds,
            run_since=lambda t: self._run(since, scope, remaining(), on_cancel, prepare,
                                          {"srv_since": t}),
            run_all=lambda: self._run(compiled, scope, remaining(), on_cancel, prepare),
            size=lambda r: len(r.rows),
            last_time=lambda r: _last_value(r, compiled.newest_first.time_output),
        )

    def _read_top_by_key(self, compiled, schema, source, prepare, compile_for, known, scope,
                         timeout_seconds, on_cancel):
        hint = compiled.top_by_key
        remaining = self._time_left(timeout_seconds)
        shape = (scope, compiled.sql, repr(sorted(compiled.params.items())))

        def run_bounded(bound):  # compiled only once a bound is known
            bounded = compile_for(schema, hint.restricted(source), known)
            return self._run(bounded, scope, remaining(), on_cancel, prepare,
                             {BOUND_PARAMETER: bound}, late_materialization=False)

        return run_top_bound(
            self._bounds, shape, hint, run_bounded=run_bounded,
            run_all=lambda: self._run(compiled, scope, remaining(), on_cancel, prepare),
        )

    def _time_left(self, timeout_seconds) -> Callable[[], float]:
        """Seconds left of one time limit shared by all the reads of a query."""
        limit = self.settings.preview_timeout_seconds
        deadline = time.monotonic() + (
            limit if timeout_seconds is None else min(limit, timeout_seconds))
        return lambda: max(0.0, deadline - time.monotonic())

    def _count_paths(self, compiled) -> None:
        used = [(d, p) for d, p in compiled.dynamic_paths if d in promoted.DYNAMIC_COLUMNS]
        if used:
            with self._usage_lock:
                self._path_usage.update(used)

    def _run(self, compiled, scope, timeout_seconds, on_cancel, prepare, extra=None,
             late_materialization=True):
        return self._run_sql(compiled.sql, {**compiled.params, **(extra or {})}, scope,
                             timeout_seconds, on_cancel, prepare, late_materialization)

    def _run_sql(self, sql, params, scope, timeout_seconds, on_cancel, prepare,
                 late_materialization=True):
        limit = self.settings.preview_timeout_seconds
        timeout = limit if timeout_seconds is None else min(limit, timeout_seconds)
        params = dict(params)
        params["srv_scope"] = scope
        if prepare is not None:  # the source reads recent events and this server's watermark
            params["srv_server"] = self._writer.server_id
        for name in ("srv_scope", "srv_server"):  # a query of a datatable reads no events
            if f"${name}" not in sql:
                params.pop(name, None)
        if not late_materialization:
            prepare = without_late_materialization(prepare)
        return self._queries.run(sql, params, timeout, on_cancel, prepare=prepare)

    # -- upkeep -------------------------------------------------------------------------------

    def _upkeep(self, cursor: duckdb.DuckDBPyConnection) -> None:
        # With inlining on, small flushes go to the catalog; once writes pause, move them to
        # Parquet (DuckLake misreads more than 2048 inlined rows).
        if (self.settings.inline_row_limit > 0
                and self._writer.flushes != self._flushes_at_last_upkeep):
            compaction.flush_inlined(cursor)
            self._flushes_at_last_upkeep = self._writer.flushes

    def _every(self, seconds: float, job: Callable[[], object], name: str) -> None:
        while not self._stop.wait(seconds):
            try:
                job()
            except Exception:
                log.exception("scheduled %s failed", name)

    def light_compaction(self) -> compaction.CompactionReport:
        return self._writer.run(
            lambda cursor: compaction.compact(cursor, self.settings.inline_row_limit)
        ).result()

    def close(self) -> None:
        self._stop.set()
        self._writer.close()
        self._conn.close()


def _last_value(result, column: str | None):
    if column is None or column not in result.names or not result.rows:
        return None
    return result.rows[-1][result.names.index(column)]


def _server_id(data_dir: pathlib.Path) -> str:
    """This server's identity for its write-ahead log watermark, kept in its data dir."""
    path = data_dir / "server-id"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(str(uuid.uuid4()) + "\n")
    return path.read_text().strip()
