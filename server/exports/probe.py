"""TestExportDestination: writes a probe object where a run's files would go and removes it,
and says exactly what failed.

Local directories are probed with a file. S3 is probed with botocore (DuckDB's httpfs cannot
remove an object, and reports S3's refusals as bare HTTP statuses): PUT then DELETE of
`<prefix>.trackstore-probe-<uuid>`, no retries, short timeouts. Failures are
FAILED_PRECONDITION: the request is well formed, the destination refuses it. The reason names
the failure: DESTINATION_UNREACHABLE, BUCKET_NOT_FOUND, ACCESS_KEY_UNKNOWN, SECRET_KEY_WRONG,
ACCESS_DENIED, DESTINATION_FAILED.
"""
from __future__ import annotations

import pathlib
import uuid

import botocore.config
import botocore.exceptions
import botocore.session

from ..errors import PreconditionFailed
from .destinations import Destination

TIMEOUT_SECONDS = 10
# S3 error code -> (reason, what to tell)
_S3_ERRORS = {
    "NoSuchBucket": ("BUCKET_NOT_FOUND", "bucket {bucket!r} does not exist at {where}"),
    "InvalidAccessKeyId": ("ACCESS_KEY_UNKNOWN",
                           "access key id {key!r} is not known to {where}"),
    "SignatureDoesNotMatch": ("SECRET_KEY_WRONG", "the secret access key is wrong for access "
                                                  "key id {key!r} at {where}"),
    "AccessDenied": ("ACCESS_DENIED", "access key id {key!r} may not write to {url} "
                                      "(and remove what it wrote)"),
}


def probe(destination: Destination, root: str) -> str:
    """Where the probe was written and removed; PreconditionFailed naming the failure."""
    name = f".trackstore-probe-{uuid.uuid4()}"
    if destination.kind == "local":
        return _probe_local(destination.location(root, name))
    return _probe_s3(destination, name)


def _probe_local(path: str) -> str:
    target = pathlib.Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(b"probe")
        target.unlink()
    except OSError as error:
        raise PreconditionFailed(f"cannot write and remove {target.parent}/: "
                                 f"{error.strerror or error}", reason="DESTINATION_FAILED") from None
    return str(target)


def _client(destination: Destination):
    scheme = "http" if destination.disable_ssl else "https"
    config = botocore.config.Config(
        connect_timeout=TIMEOUT_SECONDS, read_timeout=TIMEOUT_SECONDS,
        retries={"max_attempts": 1, "mode": "standard"},
        s3={"addressing_style": "virtual" if destination.virtual_host_style else "path"})
    return botocore.session.get_session().create_client(
        "s3", region_name=destination.region, config=config,
        endpoint_url=f"{scheme}://{destination.endpoint}" if destination.endpoint else None,
        aws_access_key_id=destination.access_key_id,
        aws_secret_access_key=destination.secret)


def _probe_s3(destination: Destination, name: str) -> str:
    key = destination.prefix + name
    url = f"s3://{destination.bucket}/{key}"
    where = destination.endpoint or "AWS S3"
    try:
        client = _client(destination)
        client.put_object(Bucket=destination.bucket, Key=key, Body=b"probe")
        client.delete_object(Bucket=destination.bucket, Key=key)
    except botocore.exceptions.ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        reason, text = _S3_ERRORS.get(code, ("DESTINATION_FAILED", "{url}: S3 answered {code}"))
        raise PreconditionFailed(
            text.format(bucket=destination.bucket, where=where, key=destination.access_key_id,
                        url=url, code=code or error), reason=reason) from None
    except (botocore.exceptions.EndpointConnectionError,
            botocore.exceptions.ConnectTimeoutError, botocore.exceptions.ReadTimeoutError,
            botocore.exceptions.ConnectionClosedError) as error:
        raise PreconditionFailed(f"cannot reach the S3 endpoint {where}: {error}",
                                 reason="DESTINATION_UNREACHABLE") from None
    except botocore.exceptions.BotoCoreError as error:
        raise PreconditionFailed(f"{url}: {error}", reason="DESTINATION_FAILED") from None
    return url
