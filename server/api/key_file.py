"""The API keys file (TOML), read into principals, and read again when it changes, so keys
rotate without a restart:

    [keys.web-frontend]
    key = "a long random secret"          # or key_sha256 = "<hex digest of the key>"
    scopes = ["default", "shop"]          # "*" allows every scope
    max_queries = 4                       # optional: queries running or waiting at once
    requests_per_second = 50              # optional: calls a second (bursts of as many)

The file is read again on SIGHUP (app.serve) and when a call finds its modification time or
size changed (looked at once a second at most). A file that no longer reads, or defines no
key, is logged and the keys read before stay in force: a typo never locks every client out.
"""
from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
import tomllib
from dataclasses import dataclass

from ..reads.admission import Tenant

log = logging.getLogger("trackstore.server")

WATCH_SECONDS = 1.0  # how often a call may look at the file


@dataclass(frozen=True)
class Principal:
    name: str
    scopes: frozenset[str]
    max_queries: int | None = None
    requests_per_second: float | None = None

    def allows(self, scope: str) -> bool:
        return "*" in self.scopes or scope in self.scopes

    @property
    def tenant(self) -> Tenant:
        return Tenant(self.name, self.max_queries)


class KeyFileError(ValueError):
    pass


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def parse(path: str) -> dict[str, Principal]:
    """The principals of the file at `path`, by the SHA-256 of their key; raises KeyFileError."""
    try:
        with open(path, "rb") as handle:
            document = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise KeyFileError(f"cannot read API keys file {path}: {error}") from None
    by_digest = {}
    for name, entry in document.get("keys", {}).items():
        if not isinstance(entry, dict):
            raise KeyFileError(f"keys.{name} must be a table")
        key_digest = entry.get("key_sha256") or (digest(entry["key"]) if "key" in entry else None)
        scopes = entry.get("scopes")
        if not key_digest or not isinstance(scopes, list) or not scopes:
            raise KeyFileError(f"keys.{name} needs key (or key_sha256) and a list of scopes")
        by_digest[key_digest.lower()] = Principal(
            name, frozenset(map(str, scopes)),
            _positive(entry, name, "max_queries", int),
            _positive(entry, name, "requests_per_second", (int, float)))
    if not by_digest:
        raise KeyFileError(f"{path} defines no keys")
    return by_digest


def _positive(entry: dict, name: str, setting: str, kind):
    value = entry.get(setting)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, kind) or value <= 0:
        raise KeyFileError(f"keys.{name}.{setting} must be a positive number, got {value!r}")
    return value


def _signature(path: str) -> tuple | None:
    try:
        status = os.stat(path)
    except OSError:
        return None
    return status.st_mtime_ns, status.st_size, status.st_ino


class KeyFile:
    """The principals of a keys file, kept current with it."""

    def __init__(self, path: str):
        self.path = path
        self._signature = _signature(path)
        self._by_digest = parse(path)
        self._checked = time.monotonic()
        self._lock = threading.Lock()

    def principals(self) -> dict[str, Principal]:
        """The principals by key digest, after reading the file again if it changed."""
        now = time.monotonic()
        if now - self._checked >= WATCH_SECONDS:
            self._checked = now
            if _signature(self.path) != self._signature:
                self.reload()
        return self._by_digest

    def reload(self) -> bool:
        """Reads the file again; False (and the keys before kept) if it does not read."""
        with self._lock:
            self._signature = _signature(self.path)
            try:
                by_digest = parse(self.path)
            except KeyFileError as error:
                log.error("API keys not reloaded, the keys before stay in force: %s", error)
                return False
            self._by_digest = by_digest
        log.info("API keys reloaded from %s: %d keys", self.path, len(by_digest))
        return True
