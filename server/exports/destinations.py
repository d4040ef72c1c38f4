"""Where export files go: a directory below the server's export root, or an S3-compatible
bucket; and the DuckDB connection that writes there.

A run to a bucket writes through a DuckDB instance of its own (`writer_connection`), which
knows one secret: the destination's credentials, scoped to its bucket and prefix, created as it
opens and dropped as it closes. The lake's instance never holds a destination's credentials,
and a run's credentials serve no other path. A local file needs no secret, so the lake's own
connection writes it (runs.py). Local destinations are relative paths below the export root
(--export-local-root), so an API key cannot make the server write anywhere else.
"""
from __future__ import annotations

import contextlib
import pathlib
import re
from dataclasses import dataclass, field, replace
from typing import Iterator

import duckdb
import orjson

from trackstore.v1 import export_pb2 as pb

from .. import extensions
from ..errors import BadRequest, FieldViolation

_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")
_ENDPOINT = re.compile(r"^[A-Za-z0-9.\-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:]+\](:\d{1,5})?$")
_PREFIX = re.compile(r"^(?!/)(?!.*//)[A-Za-z0-9._\-=/]{0,900}$")
DEFAULT_REGION = "us-east-1"


@dataclass(frozen=True)
class Destination:
    kind: str  # "local" or "s3"
    path: str = ""  # local: below the export root
    bucket: str = ""
    prefix: str = ""
    access_key_id: str = ""
    endpoint: str = ""
    region: str = DEFAULT_REGION
    disable_ssl: bool = False
    virtual_host_style: bool = False
    secret: str = field(default="", repr=False)  # never shown, logged or answered

    @classmethod
    def from_proto(cls, message: pb.ExportDestination, field_name: str = "destination",
                   secret_required: bool = True) -> "Destination":
        """A checked destination (an S3 one without a secret only if not `secret_required`:
        it keeps a stored one)."""
        which = message.WhichOneof("target")
        if which == "local":
            return cls("local", path=_checked_local_path(message.local.path, field_name))
        if which != "s3":
            raise _bad(field_name, "must be a local directory or an S3 bucket")
        s3 = message.s3
        found = cls("s3", bucket=s3.bucket, prefix=s3.prefix, access_key_id=s3.access_key_id,
                    endpoint=s3.endpoint, region=s3.region or DEFAULT_REGION,
                    disable_ssl=s3.disable_ssl, virtual_host_style=s3.virtual_host_style,
                    secret=s3.secret_access_key)
        found.check_s3(f"{field_name}.s3", secret_required)
        return found

    def check_s3(self, where: str, secret_required: bool) -> None:
        checks = (
            ("bucket", _BUCKET.match(self.bucket), "must be an S3 bucket name: 3 to 63 "
             "lower-case letters, digits, '.' or '-'"),
            ("prefix", _PREFIX.match(self.prefix), "must be letters, digits and . _ - = / "
             "(a '/' ends a folder), not starting with '/' nor holding '//'"),
            ("access_key_id", bool(self.access_key_id), "is required"),
            ("secret_access_key", bool(self.secret) or not secret_required, "is required"),
            ("endpoint", not self.endpoint or _ENDPOINT.match(self.endpoint),
             "must be host[:port], without a scheme (disable_ssl chooses http)"),
        )
        violations = [FieldViolation(f"{where}.{name}", text) for name, ok, text in checks
                      if not ok]
        if violations:
            raise BadRequest("; ".join(f"{v.field} {v.description}" for v in violations),
                             violations)

    def to_proto(self) -> pb.ExportDestination:
        """As answered: without the secret."""
        if self.kind == "local":
            return pb.ExportDestination(local=pb.LocalDirectory(path=self.path))
        return pb.ExportDestination(s3=pb.S3Bucket(
            bucket=self.bucket, prefix=self.prefix, access_key_id=self.access_key_id,
            secret_access_key_set=bool(self.secret), endpoint=self.endpoint, region=self.region,
            disable_ssl=self.disable_ssl, virtual_host_style=self.virtual_host_style))

    def public_json(self) -> str:
        """Everything but the secret, for the configurations table."""
        values = {name: getattr(self, name) for name in self.__dataclass_fields__
                  if name != "secret"}
        return orjson.dumps(values).decode()

    @classmethod
    def from_json(cls, text: str, secret: str) -> "Destination":
        return replace(cls(**orjson.loads(text)), secret=secret)

    def location(self, root: str, name: str) -> str:
        """Where a file `name` goes: a local path, or an s3:// URL."""
        if self.kind == "local":
            return str(pathlib.Path(root) / self.path / name)
        return f"s3://{self.bucket}/{self.prefix}{name}"

    def scope_url(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"


def _checked_local_path(path: str, field_name: str) -> str:
    if "\0" in path:  # no file system takes it, and DuckDB's COPY would cut the path there
        raise _bad(f"{field_name}.local.path", "must not contain NUL (U+0000)")
    parts = pathlib.PurePosixPath(path).parts
    if path.startswith("/") or ".." in parts or "\\" in path:
        raise _bad(f"{field_name}.local.path",
                   "must be a relative path below the server's export root, without '..'")
    return str(pathlib.PurePosixPath(*parts)) if parts else ""


def _bad(field_name: str, description: str) -> BadRequest:
    return BadRequest(f"{field_name} {description}", [FieldViolation(field_name, description)])


def prepare_local_directory(destination: Destination, root: str) -> None:
    """The local destination's directory under the export root, made if missing."""
    (pathlib.Path(root) / destination.path).mkdir(parents=True, exist_ok=True)


@contextlib.contextmanager
def writer_connection(destination: Destination, root: str) -> Iterator[duckdb.DuckDBPyConnection]:
    """A DuckDB instance that writes to the destination (its directory made, or its secret
    set) and nowhere else it could not before."""
    conn = duckdb.connect(config=dict(extensions.NO_DOWNLOADS))
    try:
        if destination.kind == "local":
            prepare_local_directory(destination, root)
        else:
            extensions.load(conn, "httpfs")
            conn.execute(
                "CREATE TEMPORARY SECRET export_destination (TYPE s3, KEY_ID $key, "
                "SECRET $secret, REGION $region, ENDPOINT $endpoint, URL_STYLE $style, "
                "USE_SSL $ssl, SCOPE $scope)",
                {"key": destination.access_key_id, "secret": destination.secret,
                 "region": destination.region,
                 "endpoint": destination.endpoint or f"s3.{destination.region}.amazonaws.com",
                 "style": "vhost" if destination.virtual_host_style else "path",
                 "ssl": not destination.disable_ssl, "scope": destination.scope_url()})
        yield conn
    finally:
        with contextlib.suppress(duckdb.Error):
            conn.execute("DROP TEMPORARY SECRET IF EXISTS export_destination")
        conn.close()
