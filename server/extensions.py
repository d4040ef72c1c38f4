"""Loads DuckDB extensions from the files shipped in the duckdb-ext-* wheels.

There is no internet at run time, so DuckDB must never try to download an extension: connections
are made with auto-install and auto-load off, and each extension is LOADed from its file.
"""
from __future__ import annotations

import pathlib

import duckdb

NO_DOWNLOADS = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
}

# Extension name as LOADed -> file name inside the wheel.
_FILES = {
    "ducklake": "ducklake.duckdb_extension",
    "httpfs": "httpfs.duckdb_extension",
    "postgres": "postgres_scanner.duckdb_extension",
}


class ExtensionMissing(RuntimeError):
    pass


def extension_path(name: str) -> pathlib.Path:
    import duckdb_ext  # namespace package shared by the duckdb-ext-* wheels

    version = f"v{duckdb.__version__}"
    for root in duckdb_ext.__path__:
        matches = sorted(pathlib.Path(root).glob(f"extensions/{version}/*/{_FILES[name]}"))
        if matches:
            return matches[0]
    raise ExtensionMissing(
        f"DuckDB extension {name!r} for DuckDB {duckdb.__version__} is not installed; "
        f"install the duckdb-ext-{name} wheel of the same version"
    )


def load(conn: duckdb.DuckDBPyConnection, *names: str) -> None:
    for name in names:
        conn.execute(f"LOAD '{extension_path(name)}'")
