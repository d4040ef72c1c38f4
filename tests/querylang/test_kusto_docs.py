"""The conformance corpus: our own cases of the behaviour Kusto's documentation describes.

Each file of tests/querylang/kusto_docs/ belongs to one documentation page (its address on the
`Source:` line) and holds cases written for trackstore, with their own data, over a `datatable`,
`print`, `range` or the test events: a ```kusto block, then the output table, worked out by hand
from the rules the page states (never copied from the page, never taken from trackstore's
answer). A section may say:
- `Now: <datetime>`: the now() the query runs at;
- `Note: ...`: how to read the case (an order that is not defined, a precision);
- `Differs from Kusto: ...`: trackstore answers otherwise, on purpose (docs/kql.md, "Where
  trackstore differs from Kusto"); the table is then trackstore's answer, the text Kusto's.

The test compares column names (Kusto's default names included) and values, by each column's
type; rows in any order unless the query sorts. A blank cell and `null` both mean null (or ''
for a string, which is never null); `<br>` is a line break, and a cell shows no space at either
end.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest

from querylang import compile, literals
from querylang.functions import REGISTRY
from querylang.parse_kql import TABULAR_OPERATORS
from querylang.resolve import STRING_OPS

CORPUS = Path(__file__).parent / "kusto_docs"


@dataclass
class Example:
    page: str
    title: str
    query: str
    header: list[str]
    rows: list[list[str]]
    now: datetime
    differs: bool


def _cells(line: str) -> list[str]:
    line = line.strip().removeprefix("|").removesuffix("|")
    return [c.strip().strip("`").replace("<br>", "\n").replace("&nbsp;", "").strip()
            for c in line.split("|")]


def _examples(path: Path) -> list[Example]:
    text = path.read_text()
    source = re.search(r"^Source: (https://\S+)$", text, re.M)
    assert source, f"{path.name} names no Source page"
    out = []
    for section in re.split(r"^## ", text, flags=re.M)[1:]:
        title = section.splitlines()[0].strip()
        query = re.search(r"```kusto\n(.*?)```", section, re.S)
        table = [line for line in section.split("```")[-1].splitlines()
                 if line.strip().startswith("|")]
        assert query and len(table) >= 2, f"{path.name}: '{title}' needs a query and a table"
        now = re.search(r"^Now: (.+)$", section, re.M)
        out.append(Example(
            path.stem, title, query.group(1), _cells(table[0]),
            [_cells(line) for line in table[2:]],
            literals.datetime_text(now.group(1)) if now else datetime(2024, 1, 1, 12),
            "Differs from Kusto:" in section))
    return out


EXAMPLES = [e for path in sorted(CORPUS.glob("*.md")) for e in _examples(path)]


def _same(expected: str, actual, kind: str, unordered: bool = False) -> bool:
    """`unordered`: arrays are sets (make_set's order is undefined)."""
    if expected in ("", "null"):
        return actual is None or (isinstance(actual, str) and not actual.strip())
    if actual is None:
        return False
    if kind in ("long", "int", "real"):
        return math.isclose(float(expected), float(actual), rel_tol=1e-9, abs_tol=1e-9)
    if kind == "bool":
        return expected.lower() in (str(actual).lower(), "1" if actual else "0")
    if kind == "datetime":
        return literals.datetime_text(expected) == actual
    if kind == "timespan":
        return literals.timespan_text(expected) == actual
    if kind == "dynamic":
        value = json.loads(actual)
        try:
            wanted = json.loads(expected)
        except ValueError:  # the page shows a string value without its quotes
            return expected == value
        if unordered and isinstance(value, list) and isinstance(wanted, list):
            return sorted(map(json.dumps, value)) == sorted(map(json.dumps, wanted))
        return wanted == value
    return expected == actual.strip()  # a table cell shows no space at either end


def _sorted_query(query: str) -> bool:
    return bool(re.search(r"\b(sort|order)\s+by\b|\btop\s", query))


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: f"{e.page}: {e.title}")
def test_documented_example(db, example: Example):
    compiled = compile(example.query, now=example.now, source_sql="events")
    assert [c.name for c in compiled.columns] == example.header
    kinds = [c.type for c in compiled.columns]
    unordered = "make_set" in example.query
    rows = [list(r.values()) for r in db.execute(compiled)]
    assert len(rows) == len(example.rows), rows
    unmatched = list(rows)
    for expected in example.rows:
        candidates = unmatched[:1] if _sorted_query(example.query) else unmatched
        match = next((r for r in candidates if all(
            _same(e, a, k, unordered) for e, a, k in zip(expected, r, kinds))), None)
        assert match is not None, f"no row like {expected} among {unmatched}"
        unmatched.remove(match)


def test_every_page_of_the_corpus_has_examples():
    assert len(EXAMPLES) >= 60
    for path in CORPUS.glob("*.md"):
        assert _examples(path), path.name


def test_every_function_and_operator_is_run_or_says_why_not():
    """docs/kql.md's functions and operators each run in an example of the corpus, or
    not-in-corpus.txt says why none can (the page's examples read a sample table...)."""
    queries = "\n".join(e.query for e in EXAMPLES)
    why_not = {line.split(":")[0] for line in (CORPUS / "not-in-corpus.txt").read_text()
               .splitlines() if line.strip() and not line.startswith("#")}
    run = {n for n in REGISTRY if re.search(rf"(?<![\w.]){re.escape(n)}\s*\(", queries)}
    run |= {f"| {o}" for o in TABULAR_OPERATORS
            if re.search(rf"(^|\|)\s*{re.escape(o)}\b", queries, re.M)}
    run |= {o for o in STRING_OPS if f" {o} " in queries or f" {o}(" in queries}
    wanted = set(REGISTRY) | {f"| {o}" for o in TABULAR_OPERATORS} | set(STRING_OPS)
    assert wanted - run <= why_not, sorted(wanted - run - why_not)
    assert not why_not & run, sorted(why_not & run)  # the list stays true
