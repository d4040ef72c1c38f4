"""Snapshot cases: tests/querylang/cases/NAME.kql with the compiled SQL, parameters and rows over
the test events pinned in NAME.expected.json. Regenerate with UPDATE_CASES=1 after reviewing a
change in the generated SQL."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from ql_data import NOW

from querylang import compile

CASES = Path(__file__).parent / "cases"
SOURCE = "(SELECT * FROM events WHERE \"Scope\" = 'shop')"


def _plain(value):
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return f"{type(value).__name__}:{value}"


@pytest.mark.parametrize("path", sorted(CASES.glob("*.kql")), ids=lambda p: p.stem)
def test_case(db, path):
    text = path.read_text()
    compiled = compile(text, now=NOW, source_sql=SOURCE)
    actual = {
        "sql": compiled.sql.split("\n"),
        "params": {k: _plain(v) for k, v in compiled.params.items()},
        "columns": [[c.name, c.type] for c in compiled.columns],
        "rows": [{k: _plain(v) for k, v in row.items()} for row in db.execute(compiled)],
    }
    expected_path = path.with_suffix(".expected.json")
    if os.environ.get("UPDATE_CASES") or not expected_path.exists():
        expected_path.write_text(json.dumps(actual, indent=2, ensure_ascii=False) + "\n")
    assert actual == json.loads(expected_path.read_text())
