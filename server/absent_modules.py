"""Imports of optional modules that are not installed fail at once, not after a search.

DuckDB 1.4's Python binding imports pandas before it binds the parameters of a statement
(duckdb/duckdb pull request 18658, so a pandas value can be recognized). Without pandas the
import fails, Python remembers nothing of a failed import, and every statement with parameters
searches sys.path for pandas again, several times a Preview or a List, all of it before the
query starts (bench/NOTES.md#absent-modules). A finder at the front of `sys.meta_path` answers
for the modules found absent when it was installed.
"""
from __future__ import annotations

import importlib.abc
import importlib.util
import sys

# Imported by DuckDB's binding on each statement with parameters, when it is importable at all.
OPTIONAL_MODULES = ("pandas",)


class AbsentModules(importlib.abc.MetaPathFinder):
    def __init__(self, names: frozenset[str]):
        self.names = names

    def find_spec(self, fullname, path=None, target=None):
        if fullname in self.names:
            # What the path search would end in; callers that go on without the module catch it.
            raise ModuleNotFoundError(f"No module named {fullname!r}", name=fullname)
        return None


def install(names: tuple[str, ...] = OPTIONAL_MODULES) -> frozenset[str]:
    """Makes imports of those of `names` that cannot be imported now fail fast; returns them.
    Once a finder is installed, later calls return its names and add none."""
    for finder in sys.meta_path:
        if isinstance(finder, AbsentModules):
            return finder.names
    absent = frozenset(name for name in names
                       if name not in sys.modules and importlib.util.find_spec(name) is None)
    if absent:
        sys.meta_path.insert(0, AbsentModules(absent))
    return absent
