"""compile_list: OData $filter/$orderby with OData's semantics, checked against DuckDB rows."""
from __future__ import annotations

import pytest

from querylang import QueryError, compile_list
from querylang.schema import EVENTS_SCHEMA

ALL = ["t01", "t02", "t03", "t04", "t05", "t06", "t07", "t08"]


@pytest.mark.parametrize("filter, expected", [
    ("City eq 'Berlin'", ["t01", "t07"]),
    # ne treats null as a value: events without a City are included
    ("City ne 'Berlin'", ["t02", "t03", "t04", "t05", "t06", "t08"]),
    ("City eq null", ["t03"]),
    ("City ne null", ["t01", "t02", "t04", "t05", "t06", "t07", "t08"]),
    ("City eq ''", ["t06"]),
    # gt/lt are false on null, and not inverts that
    ("Payload/price gt 100", ["t01", "t03", "t07"]),
    ("not (Payload/price gt 100)", ["t02", "t04", "t05", "t06", "t08"]),
    ("Payload.price le 99.5", ["t02", "t08"]),
    ("Payload/price eq 100", ["t06"]),
    ("Payload/price eq null", ["t04", "t05"]),
    ("Payload/flag eq true", ["t04"]),
    ("Payload/flag eq false", ["t06"]),
    ("Payload/name eq 'Hat'", ["t02"]),
    # contains/startswith/endswith are case-sensitive
    ("contains(City, 'Ber')", ["t01", "t07"]),
    ("contains(City, 'erl')", ["t01", "t04", "t07"]),
    ("not contains(City, 'erl')", ["t02", "t03", "t05", "t06", "t08"]),
    ("startswith(PageUri, 'http://')", ["t04"]),
    ("endswith(PageTitle, 'Shop')", ["t01"]),
    ("endswith(PageTitle, 'shop')", []),
    ("contains(User/Email, 'example.com') and not startswith(User/Email, 'ann')",
     ["t04", "t06", "t08"]),
    ("EventType in ('click', 'purchase')", ["t03", "t05", "t07", "t08"]),
    ("not (City in ('Berlin', 'Oslo'))", ["t03", "t04", "t05", "t06"]),
    ("EventTime ge 2023-01-01T00:00:00Z", ["t06", "t07", "t08"]),
    ("EventTime lt 2019-06-01T12:00:00+02:00", ["t04"]),  # 10:00Z is not before 10:00Z
    ("EventTime le 2019-06-01T12:00:00+02:00", ["t01", "t04"]),
    ("EventTime gt 2023-12-31", ["t07", "t08"]),
    ("User/Email eq 'ann@example.com'", ["t01", "t07"]),
    ("User.Email eq 'ann@example.com'", ["t01", "t07"]),
    ("User/Missing/Deeper eq null", ALL),
    # operators in any case, precedence and parentheses
    ("City EQ 'Oslo' AND EventType Eq 'click'", ["t08"]),
    ("City eq 'Oslo' or City eq 'Paris' and EventType eq 'click'", ["t02", "t08"]),
    ("(City eq 'Oslo' or City eq 'Paris') and EventType eq 'purchase'", ["t05"]),
    ("City eq 'it''s'", []),
    ("Value eq '-1'", ["t08"]),
    ("", ALL),
])
def test_filter_rows(db, filter, expected):
    assert sorted(db.list(filter)) == sorted(expected)


def test_default_order_is_newest_first_then_trackid(db):
    assert db.list() == ["t08", "t07", "t06", "t05", "t03", "t02", "t01", "t04"]


def test_orderby_ascending_puts_nulls_first(db):
    assert db.list(orderby="City asc") == ["t03", "t06", "t01", "t07", "t02", "t08", "t05",
                                           "t04"]
    assert db.list(orderby="City") == db.list(orderby="City asc")


def test_orderby_descending_puts_nulls_last_and_trackid_breaks_ties(db):
    assert db.list(orderby="City desc") == ["t04", "t05", "t02", "t08", "t01", "t07", "t06",
                                            "t03"]


def test_orderby_several_fields_any_case(db):
    assert db.list(orderby="EventType ASC, EventTime DESC") == \
        ["t08", "t03", "t06", "t02", "t01", "t04", "t07", "t05"]


def test_orderby_dynamic_property_sorts_numbers_numerically(db):
    assert db.list("Payload/price ne null", orderby="Payload/price desc") == \
        ["t07", "t03", "t01", "t06", "t02", "t08"]


def test_paging_is_stable(db):
    order = db.list()
    assert db.list(skip=2, top=3) == order[2:5]
    pages = [db.list(orderby="EventType", skip=s, top=3) for s in (0, 3, 6)]
    assert sum(pages, []) == db.list(orderby="EventType")


def test_sql_shape_and_columns():
    q = compile_list("City eq 'Berlin'", "City desc", skip=10, top=20,
                     source_sql="(SELECT * FROM src) AS inner_")
    assert "Berlin" not in q.sql
    assert q.sql.index("ORDER BY") < q.sql.index("LIMIT") < q.sql.index("OFFSET")
    assert '"TrackId" ASC' in q.sql.split("ORDER BY")[1]
    assert 10 in q.params.values() and 20 in q.params.values()
    assert [c.name for c in q.columns] == list(EVENTS_SCHEMA.names)


def test_values_never_become_sql(db):
    evil = "x'); DROP TABLE events; --"
    assert db.list(f"City eq '{evil.replace(chr(39), chr(39) * 2)}'") == []
    assert len(db.list()) == 8


@pytest.mark.parametrize("filter, message", [
    ("Cty eq 'Berlin'", "unknown column 'Cty'; did you mean 'City'?"),
    ("City eq", "$filter: expected an expression after 'eq'"),
    ("City equals 'x'", "$filter: expected"),
    ("tolower(City) eq 'x'", "function 'tolower' is not supported in $filter"),
    ("City gt 5", "cannot compare a string with a long"),
    ("EventTime gt '2020-01-01'", "cannot compare a datetime with a string"),
    ("City eq 'x", "$filter: unterminated string literal"),
])
def test_filter_errors(filter, message):
    with pytest.raises(QueryError) as e:
        compile_list(filter, "", skip=0, top=10)
    assert message in e.value.message
    assert e.value.line == 1 and e.value.column >= 1


def test_orderby_errors():
    with pytest.raises(QueryError, match="unknown column 'Citty'"):
        compile_list("", "Citty desc", skip=0, top=10)
    with pytest.raises(QueryError, match=r"\$orderby: expected"):
        compile_list("", "City sideways", skip=0, top=10)


def list_error(filter="", orderby="", skip=0, top=10) -> QueryError:
    with pytest.raises(QueryError) as e:
        compile_list(filter, orderby, skip=skip, top=top)
    return e.value


@pytest.mark.parametrize("filter, orderby, input, rendered", [
    ("City eq", "City desc", "filter",
     "line 1, column 8: $filter: expected an expression after 'eq'\nCity eq\n       ^"),
    ("EventType eq 'click' and\nCty eq 'Berlin'", "City desc", "filter",
     "line 2, column 1: unknown column 'Cty'; did you mean 'City'?\nCty eq 'Berlin'\n^"),
    ("City eq 'Berlin'", "EventTime desc, Citty", "orderby",
     "line 1, column 17: unknown column 'Citty'; did you mean 'City'?\n"
     "EventTime desc, Citty\n                ^"),
    ("City eq 'Berlin'", "City sideways", "orderby",
     "line 1, column 6: $orderby: expected ',', asc or desc, 'pathsep' or the end after 'City', "
     "found 'sideways'\nCity sideways\n     ^"),
])
def test_an_error_names_its_input_and_draws_the_caret_under_it(filter, orderby, input,
                                                                 rendered):
    e = list_error(filter, orderby)
    assert e.input == input
    assert e.render() == rendered


def test_deep_nesting_blames_the_input_it_is_in():
    deep_filter = " or ".join(["City eq 'x'"] * 5000)
    deep_path = "Payload" + "/a" * 3000
    for filter, orderby, input in ((deep_filter, "City", "filter"), ("", deep_path, "orderby"),
                                   ("City eq 'x'", deep_path, "orderby")):
        e = list_error(filter, orderby)
        assert "nested too deeply" in e.message
        assert e.input == input
        assert e.render().split("\n")[1] == (filter if input == "filter" else orderby)


def test_a_bad_page_names_top_or_skip():
    assert list_error(top=-1).input == "top"
    assert list_error(skip=-1).input == "skip"


def test_the_default_order_and_tiebreak_come_from_the_resolver():
    from querylang import parse_odata
    from querylang.resolve import resolve

    sort = parse_odata.parse("", "", skip=0, top=1).operators[0]
    assert sort.keys == ()  # the parser adds nothing
    keys = resolve(parse_odata.parse("", "", skip=0, top=1)).stages[0].op.keys
    assert [(k.expr.name, k.descending, k.nulls_first) for k in keys] == \
        [("EventTime", True, False), ("TrackId", False, True)]
    keys = resolve(parse_odata.parse("", "City", skip=0, top=1)).stages[0].op.keys
    assert [(k.expr.name, k.descending) for k in keys] == [("City", False), ("TrackId", False)]
