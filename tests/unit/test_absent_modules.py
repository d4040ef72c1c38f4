import importlib.util
import json
import subprocess
import sys

import pytest

from trackstore_server import absent_modules

# In a fresh process, since the finder is process-wide: does a DuckDB statement with a
# parameter search sys.path for pandas, before and after install()?
_SEARCHES = """
import importlib.abc, json, sys
import duckdb

class Recorder(importlib.abc.MetaPathFinder):
    searched = 0
    def find_spec(self, fullname, path=None, target=None):
        if fullname == "pandas":
            Recorder.searched += 1
        return None

sys.meta_path.append(Recorder())
conn = duckdb.connect()

def searches():
    Recorder.searched = 0
    assert conn.execute("SELECT ? + 1", [41]).fetchone() == (42,)
    return Recorder.searched

before = searches()
from trackstore_server import absent_modules
absent = absent_modules.install()
after = searches()
try:
    import pandas
    error = None
except ImportError as caught:
    error = type(caught).__name__
print(json.dumps({"before": before, "after": after, "absent": sorted(absent), "error": error}))
"""


@pytest.mark.skipif(importlib.util.find_spec("pandas") is not None, reason="pandas is installed")
def test_a_statement_with_parameters_no_longer_searches_for_pandas():
    out = subprocess.run([sys.executable, "-c", _SEARCHES], capture_output=True, text=True,
                         check=True).stdout
    seen = json.loads(out)
    assert seen["before"] > 0  # DuckDB's binding looks for pandas on every such statement
    assert seen["after"] == 0
    assert seen["absent"] == ["pandas"]
    assert seen["error"] == "ModuleNotFoundError"  # what callers catch when it is absent


def test_only_modules_that_cannot_be_imported_are_answered(monkeypatch):
    others = [f for f in sys.meta_path if not isinstance(f, absent_modules.AbsentModules)]
    monkeypatch.setattr(sys, "meta_path", others)
    absent = absent_modules.install(("json", "trackstore_no_such_module"))
    assert absent == {"trackstore_no_such_module"}
    assert importlib.import_module("json") is json
    with pytest.raises(ModuleNotFoundError, match="trackstore_no_such_module"):
        importlib.import_module("trackstore_no_such_module")
    # A second call keeps the first finder and its names.
    assert absent_modules.install(("email",)) == {"trackstore_no_such_module"}
    assert sum(isinstance(f, absent_modules.AbsentModules) for f in sys.meta_path) == 1
