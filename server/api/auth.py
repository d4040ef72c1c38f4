"""API keys: `authorization: epi-single <key>` (gRPC metadata, or the HTTP header), each key
allowed a set of scopes, and perhaps a budget of queries and a rate of calls (key_file.py has
the file's format, and how it is read again without a restart).

With no keys file the server runs open (and the entry point binds loopback only).
"""
from __future__ import annotations

import contextlib
import contextvars
from typing import Iterator

import grpc

from ..errors import NotAllowed, NotAuthenticated, TrackstoreError
from ..event_batch import normalize_scope
from ..reads.admission import current_tenant
from .key_file import KeyFile, KeyFileError, Principal, digest
from .rate_limits import RateLimits
from .registration import HANDLER_KINDS
from .status import abort

__all__ = ["ApiKeys", "AuthInterceptor", "KeyFileError", "OPEN_ACCESS", "Principal", "SCHEME",
           "acting_as", "authorize", "authorize_admin", "authorized_scope"]

SCHEME = "epi-single"
# Health and reflection answer without a key, as load balancers and grpcurl expect.
OPEN_METHOD_PREFIXES = ("/grpc.health.v1.", "/grpc.reflection.")


OPEN_ACCESS = Principal("anonymous", frozenset({"*"}))
_current: contextvars.ContextVar[Principal] = contextvars.ContextVar("principal", default=OPEN_ACCESS)


class ApiKeys:
    """The keys of a keys file, kept current with it, and the rate each may call at."""

    def __init__(self, keys: KeyFile):
        self._keys = keys
        self._rates = RateLimits()

    @classmethod
    def load(cls, path: str) -> "ApiKeys":
        return cls(KeyFile(path))

    def reload(self) -> bool:
        return self._keys.reload()

    def authenticate(self, metadata) -> Principal:
        """The caller's principal; raises NotAuthenticated, or RateLimited past its rate."""
        header = next((value for key, value in metadata if key == "authorization"), None)
        if header is None:
            raise NotAuthenticated(f"missing authorization metadata: '{SCHEME} <API key>'")
        scheme, _, key = header.strip().partition(" ")
        if scheme.lower() != SCHEME or not key.strip():
            raise NotAuthenticated(f"authorization must be '{SCHEME} <API key>'")
        principal = self._keys.principals().get(digest(key.strip()))
        if principal is None:
            raise NotAuthenticated("the API key is not valid")
        self._rates.charge(principal)
        return principal


@contextlib.contextmanager
def acting_as(principal: Principal) -> Iterator[None]:
    """Within the block (and the threads it hands work to), `authorize` checks `principal`."""
    token, tenant = _current.set(principal), current_tenant.set(principal.tenant)
    try:
        yield
    finally:
        current_tenant.reset(tenant)
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
        except TrackstoreError as error:  # no key, a wrong one, or one past its rate
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


def _refuse(error: TrackstoreError):
    def run(request, context):
        abort(context, error)

    return run
