"""Filter definition templates (querylang/templates.py): {{name}} placeholders are ast.Param
nodes the resolver binds to typed values, which reach DuckDB only as bound parameters."""
from __future__ import annotations

import datetime as dt

import pytest
from ql_data import NOW

from querylang import QueryError, ast, compile, parse_kql, templates

TEMPLATE = ("Events | where EventType == {{eventType}} and EventTime > ago({{window}})\n"
            "| take {{takeTop}}")
DECLARED = {"eventType": "string", "window": "timespan", "takeTop": "int"}


def bound(**values):
    kinds = {name: DECLARED.get(name, "string") for name in values}
    return templates.bind(kinds, {n: (kinds[n], v) for n, v in values.items()})


def test_a_placeholder_parses_as_a_parameter_node_with_its_position():
    query = parse_kql.parse(TEMPLATE)
    node = query.operators[0].predicate.left.right
    assert node == ast.Param("eventType")
    assert (node.span.line, node.span.column) == (1, 29)
    assert list(templates.placeholders(TEMPLATE)) == ["eventType", "window", "takeTop"]


def test_placeholders_in_a_parenthesised_source_count_as_used(db):
    template = "(Events | where EventType == {{eventType}}) | take {{takeTop}}"
    declared = {"eventType": "string", "takeTop": "int"}
    assert list(templates.placeholders(template)) == ["eventType", "takeTop"]
    templates.check(template, declared)  # neither is "declared but not used"
    values = templates.bind(declared, {"eventType": ("string", "pageview"),
                                       "takeTop": ("int", 1)})
    compiled = compile(template, now=NOW, source_sql="events", parameters=values)
    assert "pageview" in compiled.params.values()
    assert len(db.execute(compiled)) == 1


def test_values_are_bound_parameters_whatever_they_hold(db):
    hostile = "x' or 1 == 1 | take 1000 // {{takeTop}}\n\"); DROP TABLE events; --"
    compiled = compile(TEMPLATE, now=NOW, source_sql="events",
                       parameters=bound(eventType=hostile, window=dt.timedelta(days=10_000),
                                        takeTop=5))
    assert hostile not in compiled.sql and "DROP" not in compiled.sql
    assert hostile in compiled.params.values()
    assert db.execute(compiled) == []  # no event has that type: it stayed one string
    compiled = compile(TEMPLATE, now=NOW, source_sql="events",
                       parameters=bound(eventType="click", window=dt.timedelta(days=10_000),
                                        takeTop=5))
    assert sorted(r["TrackId"] for r in db.execute(compiled)) == ["t03", "t08"]


def test_a_take_from_a_parameter_limits_the_rows(db):
    compiled = compile("Events | where EventType == 'pageview' | take {{n}}", now=NOW,
                       source_sql="events", parameters=templates.bind({"n": "long"},
                                                                      {"n": ("int", 2)}))
    assert len(db.execute(compiled)) == 2


def test_a_query_with_a_placeholder_but_no_value_is_refused_at_the_placeholder():
    with pytest.raises(QueryError) as error:
        compile("Events\n| take {{n}}")
    assert (error.value.line, error.value.column) == (2, 8)
    assert "has no value" in error.value.message


def test_check_compiles_with_values_of_the_declared_types():
    compiled = templates.check(TEMPLATE, DECLARED)
    assert [c.name for c in compiled.columns][:2] == ["TrackId", "DeviceId"]


@pytest.mark.parametrize("template, declared, line, column, words", [
    # a syntax error: its place in the template as written
    ("Events | where EventType == {{eventType}}\n| take {{n}", {"eventType": "string", "n": "int"},
     2, 8, "expected an expression"),
    ("Events | where EventType == {{eventType}} | take {{n}}", {"eventType": "string"},
     1, 50, "{{n}} is not a declared parameter"),
    # a value of the declared type cannot be used there
    ("Events | where EventType == {{eventType}}\n  | take {{n}}",
     {"eventType": "string", "n": "string"}, 2, 10, "'take' needs a constant number"),
    ("Events | where EventTime > ago({{days}})", {"days": "int"}, 1, 32, "ago() must be a timespan"),
    ("Events | where EventType == {{two words}}", {}, 1, 29, "letters only"),
])
def test_check_refuses_a_template_at_its_place(template, declared, line, column, words):
    with pytest.raises(QueryError) as error:
        templates.check(template, declared)
    assert (error.value.line, error.value.column) == (line, column), error.value
    assert words in error.value.message
    assert error.value.render().splitlines()[1] == template.splitlines()[line - 1]


@pytest.mark.parametrize("declared, parameter, words", [
    ({"eventType": "string", "unused": "int"}, "unused", "does not use {{unused}}"),
    ({"eventType": "text"}, "eventType", "a type is one of bool, datetime, guid"),
    ({"eventType": "string", "take2": "int"}, "take2", "letters (a-z, A-Z) only"),
])
def test_check_refuses_a_bad_declaration_naming_the_parameter(declared, parameter, words):
    with pytest.raises(templates.ParameterError) as error:
        templates.check("Events | where EventType == {{eventType}}", declared)
    assert error.value.parameter == parameter and words in error.value.message


VALID = [
    ("bool", "bool", True, True),
    ("datetime", "datetime", dt.datetime(2020, 1, 2, 3, tzinfo=dt.timezone(dt.timedelta(hours=2))),
     dt.datetime(2020, 1, 2, 1)),
    ("guid", "guid", "0b7e8a52-0f3c-4d5e-9a1b-2c3d4e5f6a7b", "0b7e8a52-0f3c-4d5e-9a1b-2c3d4e5f6a7b"),
    ("guid", "string", "0B7E8A52-0F3C-4D5E-9A1B-2C3D4E5F6A7B", "0B7E8A52-0F3C-4D5E-9A1B-2C3D4E5F6A7B"),
    ("int", "int", -(2**31), -(2**31)),
    ("int", "long", 2**31 - 1, 2**31 - 1),
    ("long", "long", 2**63 - 1, 2**63 - 1),
    ("long", "int", 7, 7),
    ("double", "double", 0.5, 0.5),
    ("double", "long", 3, 3.0),
    ("string", "string", "a 'quoted' | {{x}}\n", "a 'quoted' | {{x}}\n"),
    ("timespan", "timespan", dt.timedelta(days=-1), dt.timedelta(days=-1)),
]


@pytest.mark.parametrize("kind, given, value, expected", VALID)
def test_a_value_of_the_type_or_one_that_converts_exactly_is_bound(kind, given, value, expected):
    [(_, (kql_type, bound_value))] = templates.bind({"p": kind}, {"p": (given, value)}).items()
    assert kql_type == templates.PARAMETER_TYPES[kind]
    assert bound_value == expected and type(bound_value) is type(expected)


INVALID = [
    ("int", "string", "abc", "is an int, but its value is a string"),
    ("int", "long", 2**31, "out of its range"),
    ("long", "double", 1.0, "is a long, but its value is a double"),
    ("guid", "guid", "not-a-guid", "is not one"),
    ("guid", "guid", "0b7e8a52-0f3c-4d5e-9a1b-2c3d4e5f6a7", "is not one"),
    ("double", "double", float("nan"), "finite"),
    ("bool", "string", "true", "is a bool, but its value is a string"),
    ("timespan", "string", "7d", "is a timespan, but its value is a string"),
    ("datetime", "string", "2020-01-01", "is a datetime, but its value is a string"),
    ("string", "int", 5, "is a string, but its value is an int"),
]


@pytest.mark.parametrize("kind, given, value, words", INVALID)
def test_a_value_that_does_not_fit_its_type_names_the_parameter(kind, given, value, words):
    with pytest.raises(templates.ParameterError) as error:
        templates.bind({"window": kind}, {"window": (given, value)})
    assert error.value.parameter == "window"
    assert words in error.value.message and "'window'" in error.value.message


def test_bind_needs_every_declared_value_and_no_other():
    with pytest.raises(templates.ParameterError, match="'n' \\(int\\) has no value"):
        templates.bind({"n": "int"}, {})
    with pytest.raises(templates.ParameterError) as error:
        templates.bind({"n": "int"}, {"n": ("int", 1), "extra": ("int", 2)})
    assert error.value.parameter == "extra"


@pytest.mark.parametrize("kind, text, value", [
    ("bool", "True", True), ("int", "-3", -3), ("long", "9000000000", 9_000_000_000),
    ("double", "2.5", 2.5), ("string", "a=b", "a=b"), ("guid", "x", "x"),
    ("datetime", "2020-01-02T03:04:05Z", dt.datetime(2020, 1, 2, 3, 4, 5)),
    ("timespan", "7d", dt.timedelta(days=7)), ("timespan", "1.02:00:00", dt.timedelta(days=1, hours=2)),
])
def test_value_from_text_reads_a_command_lines_value(kind, text, value):
    assert templates.value_from_text(kind, text) == value


@pytest.mark.parametrize("kind, text", [
    ("bool", "yes"), ("int", "abc"), ("double", "x"), ("datetime", "tomorrow"),
    ("timespan", "null"), ("timespan", "7 parsecs"), ("nothing", "1"),
])
def test_value_from_text_refuses_what_is_not_of_the_type(kind, text):
    with pytest.raises(ValueError):
        templates.value_from_text(kind, text)
