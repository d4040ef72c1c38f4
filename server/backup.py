"""Backups of an embedded store (`--data-dir`: the catalog file, the data files, the write-ahead
log), made while no server has it open, and restored by starting a server on the copy.

The store's own lock on its catalog file tells whether a server runs: a backup of a running
server's store is refused, never half-consistent. The copy is opened once it is made, which
proves it is a store this release can serve, wherever it is (lake.attach: an embedded store
reads its files beside its catalog). A store on a shared catalog (PostgreSQL and object
storage) is backed up with those systems' own tools.
"""
from __future__ import annotations

import pathlib
import shutil

import duckdb

from .config import Settings
from .lake import EVENTS_TABLE, METADATA, scalar
from .store import open_store

# What a data dir holds besides the catalog: the data files, the log and the server's identity
# (its log's watermark in the lake is kept under it). `tmp` (DuckDB's spill files) is not kept.
PARTS = ("data", "wal", "server-id")
CATALOG = "catalog.ducklake"


class BackupFailed(RuntimeError):
    """The backup could not be made; nothing was left at the destination."""


def backup(data_dir: str, destination: str) -> dict:
    """Copies the store in `data_dir` to `destination` (a new directory); returns what was
    copied: files, bytes, events in the lake and write-ahead log segments."""
    source, target = pathlib.Path(data_dir), pathlib.Path(destination)
    if not (source / CATALOG).exists():
        raise BackupFailed(f"{source} holds no store ({CATALOG} is missing)")
    if target.exists() and any(target.iterdir()):
        raise BackupFailed(f"{target} exists and is not empty")
    _settle(source)
    try:
        target.mkdir(parents=True, exist_ok=True)
        for name in (CATALOG, *PARTS):
            _copy(source / name, target / name)
        events = _events(target)
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise
    files = [path for path in target.rglob("*") if path.is_file()]
    return {"backup": str(target), "files": len(files),
            "bytes": sum(path.stat().st_size for path in files), "events_in_lake": events,
            "log_segments": len(list((target / "wal").glob("*.wal")))}


def _settle(source: pathlib.Path) -> None:
    """Opens the store (refused while a server has it) and writes its catalog's own log into
    the catalog file, so the copy needs only that file."""
    try:
        conn = open_store(Settings(data_dir=str(source)))
    except duckdb.IOException as error:
        if "lock" in str(error).lower():
            raise BackupFailed(f"the store in {source} is in use by a running server: stop it "
                               f"(SIGTERM), back it up, and start it again") from None
        raise
    try:
        conn.execute(f"CHECKPOINT {METADATA}")
    finally:
        conn.close()


def _copy(source: pathlib.Path, target: pathlib.Path) -> None:
    if source.is_dir():
        shutil.copytree(source, target)
    elif source.exists():
        shutil.copy2(source, target)


def _events(store: pathlib.Path) -> int:
    conn = open_store(Settings(data_dir=str(store)))
    try:
        return scalar(conn, f"SELECT count(*) FROM {EVENTS_TABLE}")
    finally:
        conn.close()
