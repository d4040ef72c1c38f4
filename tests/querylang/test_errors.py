"""Errors people can act on: position, what was expected, did-you-mean, "not supported"."""
from __future__ import annotations

from pathlib import Path

import pytest

from querylang import QueryError, compile, parse_kql
from querylang.resolve import resolve


def error(query: str) -> QueryError:
    with pytest.raises(QueryError) as e:
        compile(query)
    return e.value


def test_error_shape():
    e = error("Events\n| where EventTyp == 'x'")
    assert (e.line, e.column) == (2, 9)
    assert e.message == "unknown column 'EventTyp'; did you mean 'EventType'?"
    assert str(e) == "line 2, column 9: unknown column 'EventTyp'; did you mean 'EventType'?"
    assert e.render() == (
        "line 2, column 9: unknown column 'EventTyp'; did you mean 'EventType'?\n"
        "| where EventTyp == 'x'\n"
        "        ^")


def test_expected_an_expression_after_where():
    e = error("Events\n| take 10 | where")
    assert str(e) == "line 2, column 18: expected an expression after 'where'"
    e = error("Events\n| where\n| take 2")
    assert str(e) == "line 3, column 1: expected an expression after 'where', found '|'"
    assert e.render().endswith("| take 2\n^")


# (query, line, column, a part of the message)
ERRORS = [
    ("Event | take 1", 1, 1, "unknown table 'Event'; did you mean 'Events'? (the only table is "
                             "'Events')"),
    ("Events | where Tolower(City) == 'x'", 1, 16,
     "function 'Tolower' is not supported; did you mean 'tolower'?"),
    ("Events | wher City == 'x'", 1, 10, "unknown query operator 'wher'; did you mean 'where'?"),
    ("Events | where City == ", 1, 23, "expected an expression after '=='"),
    ("Events | where (City == 'x'", 1, 28, "expected"),
    ("Events | where City == 'x", 1, 24, "unterminated string literal"),
    ("Events | where City # 'x'", 1, 21, "unexpected character '#'"),
    ("Events | take", 1, 14, "expected an expression after 'take'"),
    ("Events | sort EventTime", 1, 15, "expected 'by' after 'sort', found 'EventTime'"),
    ("Events | where City", 1, 16, "'where' needs a true/false condition, but this is a string"),
    ("Events | where City + 1 > 2", 1, 16, "operator '+' cannot be applied to string and long"),
    ("Events | where City + City == 'x'", 1, 16, "use strcat() to join strings"),
    ("Events | where EventTime > '2020-01-01'", 1, 16,
     "cannot compare a datetime with a string; write the datetime as datetime(...)"),
    ("Events | where City.Name == 'x'", 1, 16, "'City' is a string, not dynamic"),
    ("Events | take -1", 1, 15, "'take' needs a constant number of rows"),
    ("Events | take City", 1, 15, "'take' needs a constant number of rows"),
    ("Events | project count()", 1, 18, "aggregate function 'count' can only be used in "
                                        "summarize"),
    ("Events | summarize City", 1, 20, "each summarize result needs an aggregate function"),
    ("Events | summarize count() by count()", 1, 31, "an aggregate function cannot be a 'by' "
                                                     "key"),
    ("Events | where strlen(City, 2) > 1", 1, 16, "strlen() takes 1 argument, but got 2"),
    ("Events | where substring(City) == ''", 1, 16, "substring() takes 2 to 3 arguments"),
    ("Events | where strlen(EventTime) > 1", 1, 23,
     "argument 1 of strlen() must be a string, but this is a datetime"),
    ("Events | extend d = datetime_add('fortnight', 1, EventTime)", 1, 34,
     "unknown period 'fortnight'"),
    ("Events | extend d = format_datetime(EventTime, 'yyyy QQ')", 1, 48,
     "format specifier 'Q' is not supported"),
    ("Events | extend x = extract(Value, 1, Value)", 1, 29,
     "argument 1 of extract() must be a constant string"),
    ("Events | where datetime(2019-13-45) < EventTime", 1, 16, "is not a datetime"),
    ("Events | where EventTime > datetime(yesterday)", 1, 28, "is not a datetime"),
    ("Events | where 'a\\q' == City", 1, 16, "unknown escape sequence"),
    ("Events | project-away Nope", 1, 10, "unknown column 'Nope'"),
    ("Events | project City | project-away City", 1, 25,
     "project-away would remove every column"),
    ("Events | project a = 1, a = 2", 1, 25, "the column name 'a' is used twice"),
    ("Events | extend total = 1 | where totl == 1", 1, 35,
     "unknown column 'totl'; did you mean 'total'?"),
    ("let x = 1; let x = 2; Events", 1, 16, "'x' is already defined"),
    ("Events | where PageTitle has City", 1, 30, "'has' with a term that is not a constant is "
                                                "not supported"),
    ("Events | summarize arg_max(EventTime)", 1, 20, "arg_max() needs an expression and the "
                                                     "columns to return"),
    ("Events | extend x = bin(EventTime, 1)", 1, 36, "bin() of a datetime needs a timespan"),
    ("   ", 1, 1, "the query is empty"),
    ("Events | where City = 'x'", 1, 21, "found '='; use '==' to compare"),
    ("Events | where City == 'x' AND true", 1, 28,
     "expected '|', an operator such as '==', 'and' or '+' or the end of the query after 'x', "
     "found 'AND'; keywords are lowercase: write 'and'"),
    ("Events | where City == 'x' && true", 1, 28, "use 'and' to combine conditions"),
    ("Events | where City == 'x' || true", 1, 29, "use 'or' to combine conditions"),
    ("Events | where City in ('a' 'b')", 1, 29, "expected an operator such as '==', 'and' or "
                                                "'+', ',' or ')' after 'a', found 'b'"),
    ("Events | summarize m = min(null)", 1, 24, "the type of this value is unknown"),
]


def _cases(path: Path) -> list[tuple[str, int, int, str]]:
    lines = [x for x in path.read_text().splitlines() if x.strip() and not x.startswith("#")]
    cases = []
    for query, expected in zip(lines[::2], lines[1::2]):
        position, message = expected.strip().split(" ", 1)
        line, column = position.split(":")
        cases.append((query, int(line), int(column), message))
    return cases


ERRORS += _cases(Path(__file__).parent / "error_cases.txt")


@pytest.mark.parametrize("query, line, column, message", ERRORS)
def test_errors(query, line, column, message):
    e = error(query)
    assert message in e.message, e.message
    assert (e.line, e.column) == (line, column), str(e)


@pytest.mark.parametrize("query", [query for query, *_ in ERRORS])
def test_every_error_is_found_before_sql_generation(query):
    with pytest.raises(QueryError):
        resolve(parse_kql.parse(query))


def test_errors_render_the_caret_under_the_column():
    e = error("Events\n| where City == 'x'\n| summarize percentile_approx(Payload.price, 50)")
    lines = e.render().split("\n")
    assert lines[1] == "| summarize percentile_approx(Payload.price, 50)"
    assert lines[2].index("^") == lines[1].index("percentile_approx")


def test_very_deep_queries_are_query_errors_not_crashes():
    from querylang import compile_list

    for query in ("Events | where " + " and ".join(["true"] * 5000),
                  "Events | where " + "not(" * 3000 + "true" + ")" * 3000):
        with pytest.raises(QueryError, match="nested too deeply"):
            compile(query)
    with pytest.raises(QueryError, match="nested too deeply"):
        compile_list(" or ".join(["City eq 'x'"] * 5000), "", skip=0, top=1)
    # but long flat lists are fine
    compile("Events | where City in (" + ", ".join(f"'c{i}'" for i in range(5000)) + ")")


def test_kql_errors_name_the_query_as_their_input():
    assert error("Events | where").input == "query"
    assert error("Events | where nope == 1").input == "query"
    assert error("Events | where " + "not(" * 3000 + "true" + ")" * 3000).input == "query"
