"""API keys: `authorization: epi-single <key>` (gRPC metadata, or the HTTP header), each key
allowed a set of scopes.

The keys file is TOML:

    [keys.web-frontend]
    key = "a long random secret"          # or key_sha256 = "<hex digest of the key>"
    scopes = ["default", "shop"]          # "*" allows every scope

With no keys file the server runs open (and the entry point binds loopback only).
"""
from __future__ import annotations

import contextlib
import contextvars
import hashlib
import tomllib
from dataclasses import dataclass
from typing import Iterator

import grpc

from ..errors import NotAllowed, NotAuthenticated
from ..event_batch import normalize_scope
from .registration import HANDLER_KINDS
from .status import abort

SCHEME = "epi-single"
# Health and reflection answer without a key, as load balancers and grpcurl expect.
OPEN_METHOD_PREFIXES = ("/grpc.health.v1.", "/grpc.reflection.")


@dataclass(frozen=True)
class Principal:
    name: str
    scopes: frozenset[str]

    def allows(self, scope: str) -> bool:
        return "*" in self.scopes or scope in self.scopes


OPEN_ACCESS = Principal("anonymous", frozenset({"*"}))
_current: contextvars.ContextVar[Principal] = contextvars.ContextVar("principal", default=OPEN_ACCESS)


class KeyFileError(ValueError):
    pass


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ApiKeys:
    def __init__(self, principals_by_digest: dict[str, Principal]):
        self._by_digest = principals_by_digest

    @classmethod
    def load(cls, path: str) -> "ApiKeys":
        try:
            with open(path, "rb") as handle:
                document = tomllib.load(handle)
        except (OSError, tomllib.TOMLDecodeError) as error:
            raise KeyFileError(f"cannot read API keys file {path}: {error}") from None
        by_digest = {}
        for name, entry in document.get("keys", {}).items():
            if not isinstance(entry, dict):
                raise KeyFileError(f"keys.{name} must be a table")
            digest = entry.get("key_sha256") or (_digest(entry["key"]) if "key" in entry else None)
            scopes = entry.get("scopes")
            if not digest or not isinstance(scopes, list) or not scopes:
                raise KeyFileError(f"keys.{name} needs key (or key_sha256) and a list of scopes")
            by_digest[digest.lower()] = Principal(name, frozenset(map(str, scopes)))
        if not by_digest:
            raise KeyFileError(f"{path} defines no keys")
        return cls(by_digest)

    def authenticate(self, metadata) -> Principal:
        header = next((value for key, value in metadata if key == "authorization"), None)
        if header is None:
            raise NotAuthenticated(f"missing authorization metadata: '{SCHEME} <API key>'")
        scheme, _, key = header.strip().partition(" ")
        if scheme.lower() != SCHEME or not key.strip():
            raise NotAuthenticated(f"authorization must be '{SCHEME} <API key>'")
        principal = self._by_digest.get(_digest(key.strip()))
        if principal is None:
            raise NotAuthenticated("the API key is not valid")
        return principal


@contextlib.contextmanager
def acting_as(principal: Principal) -> Iterator[None]:
    """Within the block (and the threads it hands work to), `authorize` checks `principal`."""
    token = _current.set(principal)
    try:
        yield
    finally:
        _current.reset(token)


def authorized_scope(scope: str) -> str:
    """The request's scope ("default" when empty), checked; raises BadRequest or NotAllowed."""
    scope = normalize_scope(scope)
    authorize(scope)
    return scope


def authorize(scope: str) -> None:
    """Raises NotAllowed unless the caller's key may use `scope`."""
    principal = _current.get()
    if not principal.allows(scope):
        raise NotAllowed(f"the API key {principal.name!r} may not use scope {scope!r}")


def authorize_admin() -> None:
    principal = _current.get()
    if "*" not in principal.scopes:
        raise NotAllowed(
            f"the API key {principal.name!r} may not administer the store (needs scope \"*\")"
        )


class AuthInterceptor(grpc.ServerInterceptor):
    """Authenticates every call and makes its principal visible to `authorize`."""

    def __init__(self, keys: ApiKeys):
        self._keys = keys

    def intercept_service(self, continuation, handler_call_details):
        handler = continuation(handler_call_details)
        if handler is None or handler_call_details.method.startswith(OPEN_METHOD_PREFIXES):
            return handler
        try:
            principal = self._keys.authenticate(handler_call_details.invocation_metadata)
        except NotAuthenticated as error:
            refusal = _refuse(error)
            return _replace_behavior(handler, lambda _behavior: refusal)
        return _replace_behavior(handler, lambda behavior: _with_principal(behavior, principal))


def _replace_behavior(handler, wrap):
    for kind, make_handler in HANDLER_KINDS.values():
        behavior = getattr(handler, kind)
        if behavior is not None:
            return make_handler(
                wrap(behavior), handler.request_deserializer, handler.response_serializer
            )
    return handler


def _with_principal(behavior, principal):
    def run(request, context):
        with acting_as(principal):
            return behavior(request, context)

    return run


def _refuse(error: NotAuthenticated):
    def run(request, context):
        abort(context, error)

    return run
