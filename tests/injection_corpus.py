"""Hostile strings: what an attacker sends through every text a request carries (issue 20's
corpus). Each must be refused as INVALID_ARGUMENT or handled as plain data."""
from __future__ import annotations

CORPUS: tuple[str, ...] = (
    "'", "''", '"', "\\", "' OR '1'='1", "'; DROP TABLE events; --", "x' --", "/* c */",
    "-- comment", "a;b", "\0", "a\0b", "\ud800", "\u202eevil\u202c", "\u200f\u200e",
    "read_csv('/etc/passwd')", "read_parquet('*.parquet')", "glob('/*')",
    "ATTACH '/tmp/x.db' AS x", "COPY events TO '/tmp/out.csv'", "INSTALL httpfs; LOAD httpfs",
    "getvariable('x')", "current_setting('home_directory')", "PRAGMA version", "SET threads=1",
    "$scope", "?", "%s", "{0}", "${x}", "\n\r\t", "é漢😀", "x" * 70_000,
)

# The corpus as protobuf can carry it: a lone surrogate is not UTF-8, so a client cannot even
# send it (the server's refusal of such bytes is tested on its own).
SENDABLE: tuple[str, ...] = tuple(text for text in CORPUS if "\ud800" not in text)


def label(text: str) -> str:
    """A short printable name for a corpus entry, for test ids."""
    shown = text[:24].encode("unicode_escape").decode()
    return shown + (f"...({len(text)})" if len(text) > 24 else "")


def kql_quoted(text: str) -> str:
    """`text` as a KQL string literal."""
    escaped = (text.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n")
               .replace("\r", "\\r"))
    return f"'{escaped}'"


def odata_quoted(text: str) -> str:
    """`text` as an OData string literal."""
    return "'" + text.replace("'", "''") + "'"
