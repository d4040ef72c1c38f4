"""API keys: `authorization: epi-single <key>` (gRPC metadata, or the HTTP header), each key
allowed a set of scopes, and perhaps a budget of queries and a rate of calls (key_file.py has
the file's format, and how it is read again without a restart).

With no keys file the server runs open (and the entry point binds loopback only).
"""
from __future__ import annotations

import contextlib
import contextvars
import functools
from typing import Iterator

from ..errors import NotAllowed, NotAuthenticated, TrackstoreError
from ..event_batch import normalize_scope
from ..reads.admission import current_tenant
from .key_file import KeyFile, KeyFileError, Principal, digest
from .rate_limits import RateLimits
from .rpc import abort_with
from .status import to_status

__all__ = ["ApiKeys", "authenticating", "KeyFileError", "OPEN_ACCESS", "Principal", "SCHEME",
           "acting_as", "authorize", "authorize_admin", "authorized_scope"]

SCHEME = "epi-single"


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


def authenticating(keys: ApiKeys):
    """A wrapper for the handlers of the contract's methods (registration.py): each runs as
    its caller's principal, visible to `authorize`; a call without a valid key, or past its
    key's rate, is refused before it runs. Health and reflection are not wrapped: they answer
    without a key, as load balancers and grpcurl expect."""

    def wrap(behavior):
        @functools.wraps(behavior)
        async def run(request, context):
            try:
                principal = keys.authenticate(context.invocation_metadata())
            except TrackstoreError as error:  # no key, a wrong one, or one past its rate
                await abort_with(context, to_status(error))
            with acting_as(principal):
                return await behavior(request, context)

        return run

    return wrap
