"""The exports beside the engine: what the ExportService RPCs call, in domain terms.

Owns the paged export, the configurations, the runs and the scheduler thread; reads and writes
the lake on cursors of its own (Engine.lake_cursor) and flushes through the lake thread
(Engine.on_lake_thread).
"""
from __future__ import annotations

import logging

from trackstore.v1 import export_pb2 as pb

from ..config import Settings
from ..errors import ExportBusy
from ..event_batch import normalize_scope
from . import probe, runs
from .configurations import Configuration, Configurations
from .destinations import Destination
from .paging import ExportQuery, PagedExport
from .scheduler import Scheduler, is_due
from .secrets import SecretBox
from .times import utc_now

log = logging.getLogger(__name__)


class Exports:
    def __init__(self, engine, settings: Settings):
        self._engine = engine
        self._settings = settings
        self._box = SecretBox(settings.resolved_secrets_key_file)
        self._configurations = Configurations(self._box)
        self._paged = PagedExport(engine, settings.export_cursor_seconds)
        self._context = runs.RunContext(
            engine, settings.resolved_export_local_root, settings.export_safety_lag_seconds,
            settings.export_run_lease_seconds)
        self._scheduler = Scheduler(self.run_due, settings.export_poll_seconds).start()

    def close(self) -> None:
        self._scheduler.stop()

    # -- the paged export ---------------------------------------------------------------------

    def page(self, query: ExportQuery, cursor: str):
        return self._paged.page(query, cursor)

    # -- configurations -----------------------------------------------------------------------

    def _answer(self, cursor, configuration: Configuration) -> pb.ExportConfiguration:
        history = runs.runs_of(cursor, configuration.scope, configuration.name)
        return configuration.to_proto(runs.exported_until(history))

    def create(self, message: pb.ExportConfiguration) -> pb.ExportConfiguration:
        with self._engine.lake_cursor() as cursor:
            return self._answer(cursor, self._configurations.create(cursor, message))

    def update(self, message: pb.ExportConfiguration, paths: list[str]) -> pb.ExportConfiguration:
        with self._engine.lake_cursor() as cursor:
            return self._answer(cursor, self._configurations.update(cursor, message, paths))

    def get(self, scope: str, name: str) -> pb.ExportConfiguration:
        with self._engine.lake_cursor() as cursor:
            return self._answer(cursor, self._configurations.get(cursor, scope, name))

    def list(self, scope: str) -> list[pb.ExportConfiguration]:
        with self._engine.lake_cursor() as cursor:
            return [self._answer(cursor, c) for c in self._configurations.list(cursor, scope)]

    def delete(self, scope: str, name: str) -> None:
        with self._engine.lake_cursor() as cursor:
            self._configurations.delete(cursor, scope, name)

    # -- runs ---------------------------------------------------------------------------------

    def run_now(self, scope: str, name: str) -> pb.ExportRun:
        with self._engine.lake_cursor() as cursor:
            configuration = self._configurations.get(cursor, scope, name)
        destination = configuration.with_secret(self._box)
        return runs.run(self._context, configuration, destination).to_proto()

    def runs(self, scope: str, name: str) -> list[pb.ExportRun]:
        with self._engine.lake_cursor() as cursor:
            configuration = self._configurations.get(cursor, scope, name)
            return [r.to_proto() for r in runs.runs_of(cursor, configuration.scope,
                                                       configuration.name)]

    def run_due(self) -> None:
        """Runs every configuration of every scope that is due (scheduler.py)."""
        settings = self._settings
        with self._engine.lake_cursor() as cursor:
            configurations = self._configurations.list(cursor, None)

        def due(history) -> bool:
            return is_due(configuration, history, utc_now(), settings.export_safety_lag_seconds,
                          settings.export_retry_seconds)

        for configuration in configurations:
            with self._engine.lake_cursor() as cursor:
                if not due(runs.runs_of(cursor, configuration.scope, configuration.name)):
                    continue
            try:
                runs.run(self._context, configuration, configuration.with_secret(self._box), due)
            except ExportBusy:
                continue  # another server runs it
            except Exception:  # noqa: BLE001 - one configuration's failure stops no other
                log.exception("export %s/%s could not run", configuration.scope,
                              configuration.name)

    # -- destinations -------------------------------------------------------------------------

    def test_destination(self, scope: str, destination: pb.ExportDestination | None,
                         name: str) -> str:
        """Where the probe went; PreconditionFailed naming what failed."""
        if destination is not None:
            checked = Destination.from_proto(destination)
        else:
            with self._engine.lake_cursor() as cursor:
                checked = self._configurations.get(cursor, normalize_scope(scope),
                                                   name).with_secret(self._box)
        return probe.probe(checked, self._settings.resolved_export_local_root)
