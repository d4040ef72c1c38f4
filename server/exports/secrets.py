"""Destination secrets encrypted at rest under the server's key file (Fernet: AES-128-CBC with
an HMAC-SHA256, from the `cryptography` package).

The key file (--secrets-key-file, default DATA_DIR/secrets.key) is made with mode 0600 when
absent. Servers sharing a catalog need the same key file; a server with another key cannot read
a stored secret and says so (a run fails naming the key file) rather than use a wrong one.
Nothing here logs, and no read of a configuration returns a secret.
"""
from __future__ import annotations

import os
import pathlib

from cryptography.fernet import Fernet, InvalidToken

from ..errors import PreconditionFailed


class SecretBox:
    def __init__(self, key_file: str):
        self._path = pathlib.Path(key_file)
        self._fernet: Fernet | None = None

    def _box(self) -> Fernet:
        if self._fernet is None:
            self._fernet = Fernet(_load_or_create(self._path))
        return self._fernet

    def seal(self, secret: str) -> bytes:
        return self._box().encrypt(secret.encode())

    def open(self, sealed: bytes) -> str:
        try:
            return self._box().decrypt(bytes(sealed)).decode()
        except InvalidToken:
            raise PreconditionFailed(
                f"the stored secret cannot be decrypted with the key file {self._path}: servers "
                f"sharing a store need the same key file; set the secret again",
                reason="SECRET_KEY_MISMATCH") from None


def _load_or_create(path: pathlib.Path) -> bytes:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written aside, then linked into place: of two makers one wins, and nobody reads a
        # half-written key.
        draft = path.with_name(f"{path.name}.{os.getpid()}.{id(path)}.new")
        handle = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(handle, "wb") as out:
            out.write(Fernet.generate_key())
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_bytes().strip()
