"""Server configuration in one place: defaults < TOML file < environment < command-line flags.

Every setting is one `Setting` row; the flag is `--name-with-dashes`, the environment variable
`TRACKSTORE_NAME`, the TOML key `name`.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import pathlib
import tomllib
from dataclasses import dataclass
from typing import Any, Callable

from . import limits

DEFAULT_DATA_DIR = "./trackstore-data"


class ConfigError(ValueError):
    pass


@dataclass(frozen=True)
class Setting:
    name: str
    parse: Callable[[str], Any]
    help: str


def _bool(text: str) -> bool:
    lowered = str(text).strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"not a boolean: {text!r}")


@dataclass(frozen=True)
class Settings:
    data_dir: str = DEFAULT_DATA_DIR
    host: str = "127.0.0.1"
    port: int = 50051
    # The Profile Store's HTTP API and the events console (server/api/http/), on the same host;
    # 0 disables them.
    http_port: int = 8080
    # Catalog: empty = an embedded DuckDB file in data_dir; "postgres:<libpq conninfo>" shares it.
    catalog: str = ""
    # Where Parquet files go: empty = data_dir/data; "s3://bucket/prefix/" for object storage.
    data_path: str = ""
    s3_endpoint: str = ""
    s3_key_id: str = ""
    s3_secret: str = ""
    s3_region: str = "us-east-1"
    s3_url_style: str = "path"
    s3_use_ssl: bool = True
    # DuckDB's own default is 80% of the machine's memory, which its buffers fill as the store
    # grows: 7.7 GB of RSS at 50M events (bench/NOTES.md#the-50m-run-2026-12-07). Bounded here,
    # large sorts and aggregations spill to data_dir/tmp instead; the server's own memory (the
    # TrackId index, 8 bytes an event; recent events) comes on top.
    memory_limit: str = "2GB"
    threads: int = 0
    # DuckLake data inlining (inserts of at most this many rows kept in the catalog) is off by
    # default: DuckLake 1.4.4 loses rows from filtered reads once more than 2048 rows are inlined.
    # The write-ahead log makes small acknowledgements cheap without it.
    inline_row_limit: int = 0
    # Acknowledged events wait in the write-ahead log and memory at most this long (or until
    # commit_max_rows of them) before one DuckLake commit moves them into the lake.
    commit_max_rows: int = 100_000
    flush_seconds: float = 5.0
    compaction_interval_seconds: float = 86_400.0
    # Between compactions, a light compaction (deletions applied, small files merged, no key
    # promotion) runs this often.
    merge_interval_seconds: float = 600.0
    # Compaction keeps Payload/User keys found in this share of events as typed columns.
    promote_keys: bool = True
    max_promoted_keys: int = 32
    promote_min_share: float = 0.2
    # A flush of at least this many events looks for keys to shred at write time (0: never).
    shred_min_events: int = 1000
    max_pending_deletes: int = limits.MAX_PENDING_DELETES
    delete_retry_seconds: int = 3600
    preview_timeout_seconds: float = limits.QUERY_TIME_LIMIT_SECONDS
    preview_max_rows: int = limits.PREVIEW_MAX_ROWS
    # How often a server reads the segments' states: to load the generations other servers
    # computed, drop deleted segments and start the refreshes that are due.
    segment_poll_seconds: float = 2.0
    max_concurrent_queries: int = 2
    max_queued_queries: int = 16
    drain_seconds: float = 1.0
    api_keys_file: str = ""
    tls_cert: str = ""
    tls_key: str = ""
    # Exports (server/exports/): secrets of destinations are encrypted under this key file
    # (empty: data_dir/secrets.key, made on first use); local destinations lie below the root
    # (empty: data_dir/exports).
    secrets_key_file: str = ""
    export_local_root: str = ""
    export_cursor_seconds: float = limits.EXPORT_CURSOR_SECONDS
    export_safety_lag_seconds: float = 300.0
    export_poll_seconds: float = 60.0
    export_retry_seconds: float = 300.0
    export_run_lease_seconds: float = 3600.0

    @property
    def catalog_attach_path(self) -> str:
        if self.catalog:
            return self.catalog
        return str(pathlib.Path(self.data_dir) / "catalog.ducklake")

    @property
    def resolved_data_path(self) -> str:
        if self.data_path:
            return self.data_path if self.data_path.endswith("/") else self.data_path + "/"
        return str(pathlib.Path(self.data_dir) / "data") + "/"

    @property
    def resolved_secrets_key_file(self) -> str:
        return self.secrets_key_file or str(pathlib.Path(self.data_dir) / "secrets.key")

    @property
    def resolved_export_local_root(self) -> str:
        return self.export_local_root or str(pathlib.Path(self.data_dir) / "exports")

    @property
    def uses_s3(self) -> bool:
        return self.resolved_data_path.startswith("s3://")


_HELP = {
    "data_dir": "directory for the embedded catalog and data files",
    "host": "address to listen on",
    "port": "port to listen on (0 picks a free one)",
    "http_port": "port of the Profile Store HTTP API and the events console (0 disables)",
    "catalog": "DuckLake catalog: empty for an embedded file, or postgres:<conninfo>",
    "data_path": "where Parquet files go: a local path or s3://bucket/prefix/",
    "s3_endpoint": "S3-compatible endpoint host:port",
    "s3_key_id": "S3 access key id",
    "s3_secret": "S3 secret access key",
    "s3_region": "S3 region",
    "s3_url_style": "S3 URL style: path or vhost",
    "s3_use_ssl": "use TLS for S3",
    "memory_limit": "DuckDB memory limit shared by all queries, ingest and compaction "
                    "(default 2GB; beyond it they spill to the data directory)",
    "threads": "DuckDB threads (0: one per core)",
    "inline_row_limit": "inserts up to this many rows are kept in the catalog until flushed",
    "commit_max_rows": "most events held in the write-ahead log before a flush to the lake",
    "flush_seconds": "seconds acknowledged events wait before a flush to the lake",
    "compaction_interval_seconds": "seconds between scheduled compactions (0 disables)",
    "merge_interval_seconds": "seconds between light compactions: deletions applied, small files merged (0 disables)",
    "promote_keys": "keep frequent Payload/User keys as typed columns (found by flushes and compaction)",
    "max_promoted_keys": "most keys kept as typed columns",
    "promote_min_share": "share of sampled events a key must appear in to be promoted",
    "shred_min_events": "a flush of at least this many events may shred keys into typed columns (0: only compaction promotes)",
    "max_pending_deletes": "deletions that may wait for compaction before Delete is refused",
    "delete_retry_seconds": "retry delay suggested when Delete is refused",
    "preview_timeout_seconds": "a query running longer is interrupted",
    "preview_max_rows": "most rows a Preview returns",
    "segment_poll_seconds": "seconds between reads of the segments' states (refreshes by other servers, due refreshes)",
    "max_concurrent_queries": "queries that run at once",
    "max_queued_queries": "queries that may wait for a slot before RESOURCE_EXHAUSTED",
    "drain_seconds": "on SIGTERM, seconds health says NOT_SERVING before calls are refused",
    "api_keys_file": "TOML file of API keys and the scopes each may use",
    "tls_cert": "PEM certificate chain for TLS",
    "tls_key": "PEM private key for TLS",
    "secrets_key_file": "key file that encrypts export destinations' secrets (made, 0600, when absent; default DATA_DIR/secrets.key)",
    "export_local_root": "local export destinations are directories below this one (default DATA_DIR/exports)",
    "export_cursor_seconds": "an export cursor reads its first page's snapshot this long; compaction keeps that snapshot meanwhile",
    "export_safety_lag_seconds": "a scheduled export run exports events up to this long before it starts",
    "export_poll_seconds": "seconds between looks for due scheduled exports (0 disables the scheduler)",
    "export_retry_seconds": "seconds before a failed scheduled export run is retried",
    "export_run_lease_seconds": "how long one server holds an export run before another may take it over",
}


def _parser_for(field: dataclasses.Field) -> Callable[[str], Any]:
    if field.type in ("bool", bool):
        return _bool
    if field.type in ("int", int):
        return int
    if field.type in ("float", float):
        return float
    return str


SETTINGS = tuple(
    Setting(f.name, _parser_for(f), _HELP[f.name]) for f in dataclasses.fields(Settings)
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="TOML file with settings (keys as the flags, with _)")
    for setting in SETTINGS:
        flag = "--" + setting.name.replace("_", "-")
        parser.add_argument(flag, dest=setting.name, default=None, help=setting.help)


def load(
    flags: dict[str, Any] | None = None,
    environ: dict[str, str] | None = None,
    config_file: str | None = None,
) -> Settings:
    flags = flags or {}
    environ = os.environ if environ is None else environ
    config_file = config_file or flags.get("config") or environ.get("TRACKSTORE_CONFIG")
    values: dict[str, Any] = {}
    if config_file:
        try:
            with open(config_file, "rb") as handle:
                file_values = tomllib.load(handle)
        except (OSError, tomllib.TOMLDecodeError) as error:
            raise ConfigError(f"cannot read config file {config_file}: {error}") from None
        known = {s.name for s in SETTINGS}
        unknown = sorted(set(file_values) - known)
        if unknown:
            raise ConfigError(f"unknown settings in {config_file}: {', '.join(unknown)}")
        values.update(file_values)
    for setting in SETTINGS:
        env_value = environ.get("TRACKSTORE_" + setting.name.upper())
        if env_value is not None:
            values[setting.name] = env_value
        if flags.get(setting.name) is not None:
            values[setting.name] = flags[setting.name]
    parsed = {}
    for setting in SETTINGS:
        if setting.name in values:
            try:
                parsed[setting.name] = setting.parse(values[setting.name])
            except (TypeError, ValueError):
                raise ConfigError(
                    f"setting {setting.name}: invalid value {values[setting.name]!r}"
                ) from None
    return Settings(**parsed)
