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
EXAMPLES = [s for s in SPANS if s.startswith(("Events", "let "))]


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
    section = DOC.split("## Not supported", 1)[1]
    for op in ("join", "union", "mv-expand", "render"):
        assert f"`{op}`" in section
        assert op in UNSUPPORTED_OPERATORS


@pytest.mark.parametrize("example", EXAMPLES)
def test_every_example_compiles(example):
    compile(example)


def test_documented_unsupported_functions_really_fail():
    for name in ("percentiles", "dcount_hll", "countof", "indexof", "round", "abs",
                 "dayofmonth"):
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
