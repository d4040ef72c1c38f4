"""The parameters the server binds into the SQL of a read, beside a compiled query's own.

A compiled query reads its events from a source SQL the server writes (reads/plan.py); these
name the values that source and the read strategies take. querylang names its parameters
otherwise, so they never collide; the one it defines for the server to bind (the bound of a
top-N read, querylang.top_by_key.BOUND_PARAMETER) stays there.
"""
from __future__ import annotations

# The scope a read is confined to (NULL: every scope, for the store's statistics).
SCOPE = "srv_scope"
# This server's id: recent events are read above its write-ahead log watermark (writer.py).
SERVER = "srv_server"
# The oldest EventTime a newest-first read looks at (reads/newest_first.py).
SINCE = "srv_since"


def placeholder(name: str) -> str:
    """The parameter as SQL text: `$name`."""
    return f"${name}"
