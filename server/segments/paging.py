"""Page sizes and page tokens (AIP-158) of List and EvaluateSegment.

A token is a cursor signed by the store (server/cursors.py) holding where the next page starts
and the request it continues (scope, name prefix, segment...): a token of another request, or
one nobody signed, is INVALID_ARGUMENT with the reason CURSOR_INVALID.
"""
from __future__ import annotations

from ..cursors import CursorSigner
from ..errors import BadRequest, FieldViolation


def page_size(requested: int, default: int, maximum: int) -> int:
    """`default` for 0, at most `maximum`; a negative size is refused."""
    if requested < 0:
        raise BadRequest(f"page_size must not be negative, got {requested}",
                         [FieldViolation("page_size", "must not be negative")])
    return default if requested == 0 else min(requested, maximum)


class PageTokens:
    def __init__(self, signer: CursorSigner):
        self._signer = signer

    def issue(self, kind: str, request: dict, position) -> str:
        """The token of the page that starts after `position`, for `request`'s pages."""
        return self._signer.sign(kind, {"request": request, "after": position})

    def position(self, kind: str, token: str, request: dict):
        """Where the page of `token` starts (None for the first page)."""
        if not token:
            return None
        state = self._signer.open(kind, token, field="page_token")
        if state["request"] != request:
            message = ("page_token continues another request; send the fields of the request "
                       "that returned it, or start again without it")
            raise BadRequest(message, [FieldViolation("page_token", message)],
                             reason="CURSOR_INVALID")
        return state["after"]
