"""The storage engine: the one object the edge (server/api/) talks to.

It owns the store's connection, the writer (ingest and the lake's upkeep, writer.py), the reads
(reads/plan.py) and the scheduled compactions, and answers in domain terms (errors.py). A fatal
DuckDB error, after which the database is invalid, is reported to the owner's callback and
raised as StorageFailed; only the owner decides whether the process ends.
"""
from __future__ import annotations

import collections
import errno
import contextlib
import dataclasses
import functools
import logging
import pathlib
import threading
import time
import uuid
from concurrent.futures import Future
from typing import Callable, Iterator, TypeVar

import duckdb

import querylang

from . import compaction, memory_use, promoted, tombstones
from .bound_parameters import SCOPE, SERVER, placeholder
from .config import Settings
from .cursors import CursorSigner
from .errors import BadRequest, FieldViolation, StorageFailed, write_failure
from .event_batch import EventBatch, NulInText, build_batch, check_text, normalize_scope
from .free_pages import FreePages
from .lake import EVENTS_TABLE, pending_deletions, scalar
from .limits import DEFAULT_LIST_TOP, MAX_BATCH_DELETE, MAX_LIST_WINDOW, MAX_TRACK_ID_LENGTH
from .reads.empty_source import EmptySources
from .reads.known_values import ScopeValues
from .reads.plan import Compile, ReadPlan, Reads, ScopeSource, sources
from .reads.queries import QueryResult, QueryRunner
from .rows import ResultRows
from .segments.service import Segments
from .store import open_store
from .tombstones import DELETES_RELATION
from .wal import WriteAheadLog
from .writer import Writer

log = logging.getLogger(__name__)
T = TypeVar("T")

PROMOTION_SAMPLE_ROWS = 100_000
# Every read opens each data file of its scope: once a flush leaves more than this many small
# ones (compaction.SMALL_FILE_BYTES), they are merged then rather than at the next light
# compaction. Flushes count them every FLUSHES_BETWEEN_FILE_COUNTS.
MAX_SMALL_FILES = 200
FLUSHES_BETWEEN_FILE_COUNTS = 10
# Free pages go back to the system after a flush or when idle, at most this often (free_pages).
FREE_PAGES_SECONDS = 10.0
_NO_SPACE = "No space left on device"  # DuckDB's I/O errors carry the system's text


@contextlib.contextmanager
def _storage_failures_reported(engine: "Engine") -> Iterator[None]:
    """A fatal DuckDB error (the database is invalidated) is reported to the engine's owner and
    raised as StorageFailed; a full disk is the write failure clients are told about."""
    try:
        yield
    except duckdb.FatalException as error:
        engine._on_storage_failure(error)
        raise StorageFailed() from None
    except duckdb.IOException as error:
        if _NO_SPACE not in str(error):
            raise
        raise write_failure(OSError(errno.ENOSPC, _NO_SPACE), "writing the lake",
                            "the call changed nothing") from None


@dataclasses.dataclass(frozen=True)
class ReadView:
    """What reads of the events see with one set of promoted keys: the schema to compile
    against, and the sources of a scope's events, a read taking the cheapest that misses
    nothing (Engine._plan)."""

    schema: querylang.Schema
    lake_only: str
    with_recent: str
    with_deletions: str  # with the tombstones applied by row id
    by_key: str  # with the tombstones applied by (Scope, TrackId)


def _reporting_storage_failure(method):
    """For the engine's methods that reach DuckDB (_storage_failures_reported)."""

    @functools.wraps(method)
    def guarded(self, *args, **kwargs):
        with _storage_failures_reported(self):
            return method(self, *args, **kwargs)

    return guarded


class Engine:
    def __init__(self, settings: Settings,
                 on_storage_failure: Callable[[BaseException], None] | None = None):
        """`on_storage_failure(error)` hears of a fatal DuckDB error (by default it is logged)."""
        self.settings = settings
        self._on_storage_failure = on_storage_failure or _log_storage_failure
        self._conn = open_store(settings)
        self._flushes_at_last_upkeep = 0
        # How often queries read each Payload/User property: compaction promotes those first.
        self._path_usage: collections.Counter = collections.Counter()
        self._usage_lock = threading.Lock()
        cursor = self._conn.cursor()
        try:
            keys = promoted.load(cursor)
            # Signs the page cursors of exports and segments (cursors.py).
            self.cursor_signer = CursorSigner.load(cursor)
        finally:
            cursor.close()
        data_dir = pathlib.Path(settings.data_dir)
        # Before the writer: its lake thread may run the idle upkeep that uses it at once.
        self._free_pages = FreePages(FREE_PAGES_SECONDS)
        self._writer = Writer(
            self._conn, WriteAheadLog(data_dir / "wal"), _server_id(data_dir),
            commit_max_rows=settings.commit_max_rows,
            inline_row_limit=settings.inline_row_limit,
            flush_seconds=settings.flush_seconds,
            promoted_keys=keys, max_pending_deletes=settings.max_pending_deletes,
            delete_retry_seconds=settings.delete_retry_seconds,
            on_idle=self._upkeep, idle_seconds=5.0,
            # Another server may write to an explicitly named catalog (server/stored_ids.py).
            shared_catalog=bool(settings.catalog),
            shredder=promoted.Shredder(
                settings.promote_min_share, settings.max_promoted_keys,
                settings.shred_min_events, self._queried_paths) if settings.promote_keys else None,
        )
        self._merging = False  # merging small files beyond the bound, a slice per flush
        self._writer.after_flush = self._after_flush
        self._set_promoted(keys)
        # Other servers sharing the catalog store values of the tracked columns too.
        self._values = ScopeValues(self._writer.values,
                                   self._conn.cursor if settings.catalog else None,
                                   self._writer.device_ids)
        self._empty_sources = EmptySources(self._conn.cursor)
        self._reads = Reads(
            QueryRunner(self._conn, settings.max_concurrent_queries, settings.max_queued_queries),
            self._values,
        )
        self._stop = threading.Event()
        # Filter definitions and segments; every segment's devices are in memory once it is made.
        self.segments = Segments(self, settings.segment_poll_seconds,
                                 settings.preview_timeout_seconds)
        # Compaction with key promotion (daily by default) and, between them, light compactions
        # that apply deletions and merge the small files flushes and deletes write (every 10
        # minutes): each DuckLake commit adds files that every read must open until then.
        # A scheduled job logs its failure; a call's fatal storage error is what gets reported.
        for seconds, job, name in (
            (settings.compaction_interval_seconds, self._compact, "compaction"),
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
        """Queues a batch for the next group commit; `stored(future)` waits for its TrackIds."""
        return self._writer.insert(batch)

    @_reporting_storage_failure
    def stored(self, submitted: Future) -> list[str]:
        """The TrackIds of a submitted batch, once it is durable."""
        return submitted.result()

    @_reporting_storage_failure
    def track(self, scope: str, events, encoded_size: int | None = None) -> list[str]:
        batch = self.prepare(scope, events, encoded_size)
        if batch.size == 0:
            return []
        return self._writer.insert_and_wait(batch)

    @_reporting_storage_failure
    def delete(self, scope: str, track_id: str) -> None:
        scope = normalize_scope(scope)
        if not track_id:
            raise BadRequest(
                "track_id is required", [FieldViolation("track_id", "must not be empty")]
            )
        _check_track_id(track_id, "track_id")
        self._writer.delete(scope, track_id).result()

    @_reporting_storage_failure
    def batch_delete(self, scope: str, track_ids: list[str], allow_missing: bool) -> list[str]:
        scope = normalize_scope(scope)
        if not 1 <= len(track_ids) <= MAX_BATCH_DELETE:
            raise BadRequest(
                f"track_ids must hold 1 to {MAX_BATCH_DELETE} TrackIds, got {len(track_ids)}",
                [FieldViolation("track_ids", f"1 to {MAX_BATCH_DELETE} TrackIds")],
            )
        for index, track_id in enumerate(track_ids):
            if not track_id or len(track_id) > MAX_TRACK_ID_LENGTH:
                raise BadRequest(
                    f"track_ids[{index}] must be 1 to {MAX_TRACK_ID_LENGTH} characters",
                    [FieldViolation(f"track_ids[{index}]", "empty or too long")],
                )
            _check_track_id(track_id, f"track_ids[{index}]")
        return self._writer.delete_batch(scope, track_ids, allow_missing).result()

    @_reporting_storage_failure
    def compact(self) -> compaction.CompactionReport:
        return self._compact()

    def _compact(self) -> compaction.CompactionReport:
        """Promotion, then compaction, as tasks of the lake thread: keys are registered in one
        short transaction, and the rows that lack a key's column or were flushed since the last
        compaction are written again in time order, one slice per task, so flushes go on
        between them and memory stays bounded by a slice (promoted.fill)."""
        # Promotion's rewrites apply deletions too: the report counts from before them.
        pending = self._writer.run(pending_deletions, rewrites=False).result()
        if self.settings.promote_keys:
            self._writer.run(self._register_keys).result()
        inline = self.settings.inline_row_limit
        for where, params in self._writer.run(promoted.unfilled_slices,
                                              rewrites=False).result():
            self._writer.run(
                lambda cursor, w=where, p=params: promoted.fill(cursor, w, p, inline)).result()
        self._writer.run(self._complete_keys).result()
        return self._merged(self._writer.run(
            lambda cursor: compaction.compact(cursor, self.settings.inline_row_limit,
                                              pending)).result())

    def _register_keys(self, cursor: duckdb.DuckDBPyConnection) -> None:
        known = promoted.load(cursor)
        new_keys = promoted.discover(
            cursor, known, sample_rows=PROMOTION_SAMPLE_ROWS,
            min_share=self.settings.promote_min_share,
            max_keys=self.settings.max_promoted_keys, queried=self._queried_paths(),
        )
        if new_keys or promoted.lacking_order_columns(known):
            # Move inlined rows to Parquet first, so the rewrites work on files only.
            compaction.flush_inlined(cursor)
            promoted.register(cursor, new_keys, known)
        self._set_promoted(promoted.load(cursor))

    def _complete_keys(self, cursor: duckdb.DuckDBPyConnection) -> None:
        promoted.complete(cursor, shared=bool(self.settings.catalog))
        self._set_promoted(promoted.load(cursor))

    def _queried_paths(self) -> dict:
        with self._usage_lock:
            return dict(self._path_usage)

    def _set_promoted(self, keys) -> None:
        # Runs on the lake thread (or before it takes work), so flushes never miss a column.
        self._writer.promoted = keys
        typed = self._view(keys)
        # Until compaction fills every key's column, the lake is read in one branch per range
        # of key generations (promoted.lake_select), and each branch scans the table: a query
        # that reads no promoted key reads the table once through the view without them
        # (bench/NOTES.md#one-scan-for-queries-without-a-promoted-key).
        plain = self._view(()) if any(key.generation for key in keys) else typed
        # One assignment, so a concurrent read never pairs a schema with another's sources.
        self._read_views = (typed, plain)

    def _view(self, keys) -> ReadView:
        return ReadView(promoted.schema_with(keys), *sources(
            promoted.lake_select(keys, f'"Scope" = {placeholder(SCOPE)}'),
            self._writer.recent_source_sql(keys), promoted.column_names(keys)),
            self._with_deletions(keys, by_key=False), self._with_deletions(keys, by_key=True))

    def _with_deletions(self, keys, by_key: bool) -> str:
        """The scope's events, flushed or not, less those the tombstones hide."""
        scope = placeholder(SCOPE)
        hidden = tombstones.lake_condition(scope, self._writer.watermark_sql(), by_key)
        return sources(promoted.lake_select(keys, f'"Scope" = {scope} AND {hidden}'),
                       self._writer.recent_source_sql(keys), promoted.column_names(keys))[1]

    @_reporting_storage_failure
    def stats(self) -> dict:
        cursor = self._conn.cursor()
        try:
            events = self._count_events(cursor)
            pending = self._writer.pending_deletions_read(cursor)
            files = compaction.data_files(cursor)
            devices = self._writer.device_ids
            memory = memory_use.snapshot(
                cursor, self._writer.stored_ids.resident_bytes(),
                devices.index.resident_bytes() if devices is not None else 0)
        finally:
            cursor.close()
        segment_devices, segment_bytes = self.segments.index.resident()
        return {
            "events": events,
            "segment_devices": segment_devices,
            "segment_memory_bytes": segment_bytes,
            "pending_deletions": pending,
            "max_pending_deletions": self.settings.max_pending_deletes,
            "data_files": files,
            "promoted_keys": [
                f"{k.dynamic_column}.{'.'.join(k.path)}:{k.type}"
                for k in self._read_views[0].schema.promoted
            ],
            "memory": memory,
        }

    def _count_events(self, cursor: duckdb.DuckDBPyConnection) -> int:
        """Every scope's events a read would see now."""
        self._writer.register_reads(cursor)
        pending = self._writer.tombstones
        lake = f"{EVENTS_TABLE} e"
        if pending.in_lake():  # tombstones of recent events only are filtered out of recent
            scope_column = 'e."Scope"'
            lake += " WHERE " + tombstones.lake_condition(
                scope_column, self._writer.watermark_sql(), by_key=pending.by_key())
        return scalar(
            cursor,
            f"SELECT (SELECT count(*) FROM {lake}) + "
            f"(SELECT count(*) FROM ({self._writer.recent_source_sql(())}))",
            {SCOPE: None, SERVER: self._writer.server_id},
        )

    # -- reads --------------------------------------------------------------------------------

    @_reporting_storage_failure
    def preview(self, scope: str, query: str, timeout_seconds: float | None = None,
                on_cancel: Callable | None = None, parameters: dict | None = None):
        """`parameters`: the values of a filter definition's placeholders (querylang.templates
        .bind), when `query` is its template."""
        scope = normalize_scope(scope)
        max_rows = self.settings.preview_max_rows
        result, compiled = self._read(
            scope, timeout_seconds, on_cancel,
            lambda plan, source: querylang.compile(
                query, schema=plan.schema, source_sql=source, max_rows=max_rows + 1,
                known=plan.known, order_key_output=True, parameters=parameters),
        )
        truncated = len(result.rows) > max_rows
        rows = result.rows[:max_rows]
        columns = [(c.name, c.type) for c in compiled.columns]
        return columns, ResultRows(result.names, result.json_columns, rows), truncated

    @_reporting_storage_failure
    def list(self, scope: str, filter: str, orderby: str, skip: int | None, top: int | None,
             timeout_seconds: float | None = None, on_cancel: Callable | None = None):
        scope = normalize_scope(scope)
        skip = 0 if skip is None else skip
        top = DEFAULT_LIST_TOP if top is None else top
        _check_page(skip, top)
        result, _ = self._read(
            scope, timeout_seconds, on_cancel,
            lambda plan, source: querylang.compile_list(
                filter or "", orderby or "", skip=skip, top=top, schema=plan.schema,
                source_sql=source, known=plan.known, order_key_output=True),
        )
        return ResultRows(result.names, result.json_columns, result.rows)

    def _read(self, scope: str, timeout_seconds: float | None, on_cancel: Callable | None,
              compile_for: Compile) -> tuple[QueryResult, querylang.CompiledQuery]:
        typed, plain = self._current_views()
        plan = self._plan(scope, timeout_seconds, on_cancel, typed)
        compiled = compile_for(plan, plan.source)
        self._count_paths(compiled)
        if plain is not typed and not compiled.dynamic_paths:
            # No Payload or User property, so no promoted column: the same query over the
            # view without them reads the same rows and values in one scan.
            plan = self._plan(scope, timeout_seconds, on_cancel, plain)
            compiled = compile_for(plan, plan.source)
        return self._reads.read(plan, compiled, compile_for)

    def _current_views(self) -> tuple[ReadView, ReadView]:
        views = self._read_views
        if views[0].schema.promoted != self._writer.promoted:  # keys learned from the catalog
            self._set_promoted(self._writer.promoted)
            views = self._read_views
        return views

    def _plan(self, scope: str, timeout_seconds: float | None, on_cancel: Callable | None,
              view: ReadView | None = None) -> ReadPlan:
        """A read starting now, through `view` (the one with the promoted keys if None). An
        event acknowledged before this moment is in the lake or in recent; if recent is empty,
        it is in the lake."""
        view = view or self._current_views()[0]
        # Each source costs more than the one after it (bench/NOTES.md#recent-reads,
        # #deletes-as-tombstones): a read takes the cheapest that misses nothing acknowledged
        # before it started.
        pending = self._writer.tombstones
        if pending.by_key():
            source, prepare = view.by_key, self._writer.register_reads
        elif pending.in_lake():
            source, prepare = view.with_deletions, self._writer.register_reads
        elif pending:  # deletions of recent events only: filtered out of recent, in Arrow
            source, prepare = view.with_recent, self._writer.register_reads
        elif self._writer.has_recent():
            source, prepare = view.with_recent, self._writer.register_recent
        else:
            source, prepare = view.lake_only, None
        known_token, known = self._values.of_scope(scope)
        limit = self.settings.preview_timeout_seconds
        return ReadPlan.starting_now(
            scope=scope, schema=view.schema, source=source, prepare=prepare,
            server_id=self._writer.server_id, known=known, known_token=known_token,
            limit_seconds=limit if timeout_seconds is None else min(limit, timeout_seconds),
            on_cancel=on_cancel,
            empty_source=functools.partial(self._empty_sources.of, view.lake_only),
        )

    def _count_paths(self, compiled) -> None:
        used = [(d, p) for d, p in compiled.dynamic_paths if d in promoted.DYNAMIC_COLUMNS]
        if used:
            with self._usage_lock:
                self._path_usage.update(used)

    # -- upkeep -------------------------------------------------------------------------------

    def _upkeep(self, cursor: duckdb.DuckDBPyConnection) -> None:
        # With inlining on, small flushes go to the catalog; once writes pause, move them to
        # Parquet (DuckLake misreads more than 2048 inlined rows).
        if (self.settings.inline_row_limit > 0
                and self._writer.flushes != self._flushes_at_last_upkeep):
            with self._writer.rewriting():
                compaction.flush_inlined(cursor)
            self._flushes_at_last_upkeep = self._writer.flushes
        self._free_pages.give_back()

    def _after_flush(self, cursor: duckdb.DuckDBPyConnection) -> None:
        self._merge_when_many_files(cursor)
        # A load flushes without a pause, so the idle upkeep alone would not run in it.
        self._free_pages.give_back()

    def _merge_when_many_files(self, cursor: duckdb.DuckDBPyConnection) -> None:
        """Every few flushes: merges a slice of the small files beyond the bound (then after
        every flush until within it), or else removes the files no read can use any more
        (delete files that later deletes replaced pile up)."""
        if self._writer.flushes % FLUSHES_BETWEEN_FILE_COUNTS and not self._merging:
            return
        files = compaction.small_data_files(cursor)
        if files > MAX_SMALL_FILES:
            if not self._merging:
                log.info("%d small data files: merging them, a slice after each flush", files)
            with self._writer.rewriting():
                # Until the files are within the bound, or a slice merges nothing.
                self._merging = compaction.merge_some_files(cursor) > 0
        else:
            self._merging = False
            compaction.remove_unreadable(cursor, self._keep_seconds)

    def _every(self, seconds: float, job: Callable[[], object], name: str) -> None:
        while not self._stop.wait(seconds):
            try:
                job()
            except Exception:
                log.exception("scheduled %s failed", name)

    def light_compaction(self) -> compaction.CompactionReport:
        return self._merged(self._writer.run(
            lambda cursor: compaction.compact(cursor, self.settings.inline_row_limit)).result())

    def _merged(self, report: compaction.CompactionReport) -> compaction.CompactionReport:
        """After a compaction's rewrites: small files merged one slice per task of the lake
        thread, so flushes go on between slices (compaction.merge_some_files), then the files
        no read can use removed. The report's time includes the merges."""
        started = time.monotonic()
        slices = self._writer.run(compaction.small_data_files, rewrites=False).result()
        while slices > 0 and self._writer.run(compaction.merge_some_files).result() > 0:
            slices -= 1  # each slice leaves a file fewer at least: flushes cannot keep it going
        self._writer.run(lambda cursor: compaction.remove_unreadable(cursor, self._keep_seconds),
                         rewrites=False).result()
        report = dataclasses.replace(report, seconds=report.seconds + time.monotonic() - started)
        log.info("compaction applied %d deletions in %.2f s", report.applied_deletions,
                 report.seconds)
        return report

    @property
    def _keep_seconds(self) -> float:
        """How long compaction keeps a replaced file: no read runs longer."""
        return self.settings.preview_timeout_seconds + compaction.SNAPSHOT_MARGIN_SECONDS

    # -- for the services beside the engine (segments, exports) --------------------------------

    @property
    def server_id(self) -> str:
        """This server's identity, kept in its data dir: the holder name of its leases."""
        return self._writer.server_id

    @contextlib.contextmanager
    def lake_cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor of the caller's own on the store, for one thread's work. A fatal error in
        that work is reported as the engine's own methods report one: DuckDB has invalidated
        the database, and a segment write that met one left the server answering INTERNAL to
        every later call."""
        cursor = self._conn.cursor()
        try:
            with _storage_failures_reported(self):
                yield cursor
        finally:
            cursor.close()

    @_reporting_storage_failure
    def read_scope(self, scope: str, task: Callable[[duckdb.DuckDBPyConnection, ScopeSource], T],
                   timeout_seconds: float | None = None, on_cancel: Callable | None = None) -> T:
        """`task(cursor, source)` in one of the query slots, under the query time limit (or the
        client's shorter deadline), with the scope's events, flushed or not, readable as
        `source.sql` (bind `source.params`): the source Preview reads, without its row limit."""
        plan = self._plan(normalize_scope(scope), timeout_seconds, on_cancel)
        return self._reads.run_task(plan, task)

    @_reporting_storage_failure
    def on_lake_thread(self, task: Callable[[duckdb.DuckDBPyConnection], T],
                       rewrites: bool = True) -> T:
        """`task(cursor)` run on the lake thread once the lake holds every event acknowledged
        (and every deletion) before the call, as compaction runs: no flush runs beside it.
        `rewrites=False` when the task writes no stored event again (writer.Writer.rewriting)."""
        return self._writer.run(task, rewrites).result()

    def close(self) -> None:
        self._stop.set()
        self.segments.close()
        self._writer.close()
        self._conn.close()


def _check_page(skip: int, top: int) -> None:
    violations = []
    if skip < 0:
        violations.append(FieldViolation("skip", "must not be negative"))
    if top < 0:
        violations.append(FieldViolation("top", "must not be negative"))
    if not violations and skip + top >= MAX_LIST_WINDOW:
        violations.append(FieldViolation(
            "top", f"skip + top must be under {MAX_LIST_WINDOW}, got {skip + top}"))
    if violations:
        raise BadRequest(
            "; ".join(f"{v.field} {v.description}" for v in violations), violations
        )


def _check_track_id(track_id: str, field: str) -> None:
    """A TrackId Track could not have stored is refused as such, not looked up."""
    try:
        check_text(track_id, field)
    except NulInText as error:
        raise BadRequest(str(error), [FieldViolation(field, str(error))]) from None


def _log_storage_failure(error: BaseException) -> None:
    log.critical("storage engine failed: %s", error)


def _server_id(data_dir: pathlib.Path) -> str:
    """This server's identity for its write-ahead log watermark, kept in its data dir."""
    path = data_dir / "server-id"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(str(uuid.uuid4()) + "\n")
    return path.read_text().strip()
