"""Opaque page cursors a client cannot forge: signed JSON, checked before anything is read.

A cursor names what it continues (its `kind`, e.g. "export" or "segment", and whatever the
issuer binds it to: scope, snapshot, filters, the last key read). It is signed with a key kept
in the lake table `store_keys`, so every server sharing a catalog accepts the cursors of the
others, and a cursor from another store, a tampered one or one of another kind is refused the
same way. Cursors are not encrypted: they hold nothing a client could not see in its pages.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets

import duckdb
import orjson

from .errors import BadRequest, FieldViolation
from .lake import LAKE, scalar, table_names

STORE_KEYS_TABLE = f"{LAKE}.main.store_keys"
CURSOR_KEY_NAME = "cursor"
_TAG_BYTES = 16


def ensure_table(cursor: duckdb.DuckDBPyConnection, _inline_row_limit: int = 0) -> None:
    """The store-format step that adds the table with a new random key (server/store.py)."""
    if "store_keys" not in table_names(cursor):
        cursor.execute(f'CREATE TABLE {STORE_KEYS_TABLE} ("Name" VARCHAR, "Key" BLOB)')
        cursor.execute(f"INSERT INTO {STORE_KEYS_TABLE} VALUES (?, ?)",
                       [CURSOR_KEY_NAME, secrets.token_bytes(32)])


class CursorSigner:
    def __init__(self, key: bytes):
        self._key = key

    @classmethod
    def load(cls, cursor: duckdb.DuckDBPyConnection) -> "CursorSigner":
        key = scalar(cursor, f'SELECT "Key" FROM {STORE_KEYS_TABLE} WHERE "Name" = ? '
                             f"ORDER BY rowid LIMIT 1", [CURSOR_KEY_NAME])
        return cls(bytes(key))

    def _tag(self, body: bytes) -> bytes:
        return hmac.new(self._key, body, hashlib.sha256).digest()[:_TAG_BYTES]

    def sign(self, kind: str, state: dict) -> str:
        """The cursor of `state` (JSON-serializable) for `kind`."""
        body = orjson.dumps({"k": kind, "s": state})
        return base64.urlsafe_b64encode(body + self._tag(body)).decode().rstrip("=")

    def open(self, kind: str, token: str, field: str = "cursor") -> dict:
        """The state a cursor of `kind` holds; BadRequest naming `field` when the token is not
        one this store signed for `kind`."""
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (binascii.Error, ValueError):
            raw = b""
        body, tag = raw[:-_TAG_BYTES], raw[-_TAG_BYTES:]
        if len(raw) > _TAG_BYTES and hmac.compare_digest(tag, self._tag(body)):
            document = orjson.loads(body)
            if document.get("k") == kind:
                return document["s"]
        message = (f"{field} is not a cursor this store issued for this request; "
                   f"start again without it")
        raise BadRequest(message, [FieldViolation(field, message)], reason="CURSOR_INVALID")
