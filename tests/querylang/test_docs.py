"""docs/kql.md documents every function, operator and example the compiler has, and nothing in it
fails to compile."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from querylang import QueryError, compile, compile_list
from querylang.functions import REGISTRY
from querylang.parse_kql import TABULAR_OPERATORS, UNSUPPORTED_OPERATORS
from querylang.resolve import STRING_OPS

DOC = (Path(__file__).resolve().parents[2] / "docs" / "kql.md").read_text()
SPANS = [s.replace("\\|", "|") for s in re.findall(r"`([^`\n]+)`", DOC)]
EXAMPLES = [s for s in SPANS if s.startswith(("Events", "let ", "datatable(", "print ", "range ",
                                               "union ")) and "..." not in s]
BLOCKS = re.findall(r"```kusto\n(.*?)```", DOC, re.S)


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_registry_function_is_documented(name):
    assert any(s.startswith(f"{name}(") or f" {name}(" in s or f"({name}(" in s or
               f"`{name}(" in f"`{s}" for s in SPANS), f"{name}() is missing from docs/kql.md"
    assert any(re.search(rf"(^|[^\w]){name}\(", e) for e in EXAMPLES), \
        f"docs/kql.md has no example query using {name}()"


@pytest.mark.parametrize("op", sorted(set(TABULAR_OPERATORS) | set(STRING_OPS)))
def test_every_operator_is_documented(op):
    assert any(op == s or s.startswith(op + " ") for s in SPANS), f"'{op}' is missing"


def test_unsupported_operators_are_listed():
    section = DOC.split("## Not supported", 1)[1].split("\n## ", 1)[0]
    for op in UNSUPPORTED_OPERATORS:
        if op in ("sample-distinct", "extend-columns", "externaldata", "consume", "reduce",
                  "project-by-names"):
            continue  # rarely written: refused by name, not listed
        assert f"`{op}`" in section, op
    for op in TABULAR_OPERATORS:
        assert f"`{op}`" not in section, op


@pytest.mark.parametrize("query", [
    "Events | lookup (Events) on TrackId", "Events | project-keep City",
    "Events | parse-where Value with * 'a' x", "Events | top-nested 3 of City by count()",
    "Events | project-away Payload*", "Events | project ['my column']",
    "let t = Events | where City == 'x'; t", "let f = (x:long) { x + 1 }; Events",
    "Events | union withsource=T (Events)", "Events | parse kind=fuzzy Value with 'a' x",
    "Events | where City == ```x```", "Events | where TrackId == guid(74be27de-1e4e)",
    "Events | extend d = decimal(1.5)", "Events | extend d = datetime_diff('nanosecond', now(), "
    "EventTime)", "Events | where City in (split(Value, ','))",
    "Events | where PageTitle has City", "Events | join kind=outer (Events) on DeviceId",
])
def test_what_the_docs_call_unsupported_says_so(query):
    with pytest.raises(QueryError, match="not supported"):
        compile(query)


@pytest.mark.parametrize("example", EXAMPLES + BLOCKS)
def test_every_example_compiles(example):
    compile(example)


def test_documented_unsupported_functions_really_fail():
    for name in ("dcount_hll", "countof", "indexof", "round", "abs", "dayofmonth", "parse_url"):
        with pytest.raises(QueryError, match=f"function '{name}' is not supported"):
            compile(f"Events | extend x = {name}(Value)")


def test_documented_error_example_is_exact():
    with pytest.raises(QueryError) as e:
        compile("Events\n| where EventTyp == 'x'")
    assert e.value.render() in DOC


def test_documented_list_error_example_is_exact():
    with pytest.raises(QueryError) as e:
        compile_list("City eq 'Berlin'", "EventTime desc, Citty", skip=0, top=10)
    assert e.value.input == "orderby"
    assert e.value.render() in DOC


@pytest.mark.parametrize("query, message", [
    ("Events | extend x = tolowr(City)", "function 'tolowr' is not supported; did you mean "
                                        "'tolower'?"),
    ("Events | lookup (Events) on DeviceId", "operator 'lookup' is not supported"),
    ("Events | summarize count() by Payload.category",
     "cannot group by Payload.category, a dynamic value; convert it first, e.g. "
     "tostring(Payload.category) or toint(...)"),
])
def test_documented_error_messages_are_exact(query, message):
    with pytest.raises(QueryError) as e:
        compile(query)
    assert e.value.message == message and f"`{message}`" in DOC.replace("\n", " ")
