"""The two ways a name reaches SQL text: an identifier through `quote_ident`, a property path as
the JSON path `json_path` writes (itself bound as a parameter by the generator)."""
from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=4096)  # the same column names come back in every query
def quote_ident(name: str) -> str:
    """The one way an identifier reaches SQL: double-quoted, embedded quotes doubled."""
    if not isinstance(name, str) or not name or "\0" in name:
        raise ValueError(f"invalid identifier {name!r}")
    return '"' + name.replace('"', '""') + '"'


def json_path(path: tuple) -> str:
    """A DuckDB JSON path for property keys and array indexes, e.g. $."a"."b"[0]."""
    out = ["$"]
    for key in path:
        if isinstance(key, int):
            out.append(f"[{key}]" if key >= 0 else f"[#{key}]")
        else:
            out.append('."' + key.replace("\\", "\\\\").replace('"', '\\"') + '"')
    return "".join(out)
