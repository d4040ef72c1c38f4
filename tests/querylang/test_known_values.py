"""Tests the data cannot pass become FALSE, and answers stay the same (querylang/known_values.py)."""
from __future__ import annotations

import pytest

import querylang
from ql_data import make_connection

SOURCE = "(SELECT * FROM events WHERE \"Scope\" = 'shop')"
# What the test events of scope 'shop' hold (ql_data.py); a missing City or country counts as ''.
KNOWN = {
    "EventType": frozenset({"pageview", "click", "purchase"}),
    "City": frozenset({"Berlin", "berlin", "Oslo", "Paris", ""}),
    "CountryCode": frozenset({"DE", "NO", "FR", ""}),
}


def compiled(query, known=KNOWN):
    return querylang.compile(query, source_sql=SOURCE, known=known)


@pytest.mark.parametrize("query", [
    "Events | where EventType == 'no_such_event' | take 10",
    "Events | where 'no_such_event' == EventType",
    "Events | where EventType in ('nope', 'nada')",
    "Events | where EventType == 'nope' and User.Email != ''",
    "Events | where City == 'Rome' and EventType == 'pageview'",
    "Events | where (EventType == 'nope' or CountryCode == 'XX') and EventTime > ago(1d)",
    "Events | where EventType == 'pageview' | where CountryCode == 'US' | count",
    "Events | top 10 by EventTime desc | where City == 'Rome'",
])
def test_a_test_for_a_value_never_held_makes_the_query_read_nothing(query):
    result = compiled(query)
    assert result.pruned and result.newest_first is None and result.reads_no_rows
    plan = make_connection().execute("EXPLAIN " + result.sql, result.params).fetchall()
    assert "EMPTY_RESULT" in plan[0][1] and "SEQ_SCAN" not in plan[0][1]


@pytest.mark.parametrize("query", [
    "Events | where EventType == 'pageview'",
    "Events | where EventType in ('nope', 'click')",
    "Events | where City == ''",  # a missing City is '' to Kusto, and the events have one
    "Events | where not(EventType == 'nope')",  # not(null) is null, but not(FALSE) is TRUE
    "Events | where EventType != 'nope'",
    "Events | where EventType =~ 'PAGEVIEW'",
    "Events | where PageTitle == 'nope'",  # not a tracked column
    "Events | where Payload.name == 'nope'",
    "Events | extend EventType = 'nope' | where EventType == 'nope'",
    "Events | project-away EventType | project-rename EventType = PageTitle "
    "| where EventType == 'Hats'",
    "Events | summarize n = count() by EventType | where EventType == 'nope'",
    "Events | extend x = EventType == 'nope' | take 1",
])
def test_tests_that_may_hold_or_are_not_filters_are_left_alone(query):
    result = compiled(query)
    assert not result.pruned and not result.reads_no_rows
    assert result.sql == compiled(query, known=None).sql


def test_an_absent_value_beside_others_only_drops_its_own_test():
    pruned = compiled("Events | where EventType == 'nope' or EventType == 'click' | take 5")
    assert pruned.pruned and not pruned.reads_no_rows
    assert pruned.sql == compiled("Events | where EventType == 'click' | take 5").sql


def test_an_empty_string_is_absent_only_when_no_event_misses_the_column():
    assert compiled("Events | where City == ''", {"City": frozenset({"Oslo"})}).pruned
    assert not compiled("Events | where City == ''", {"City": frozenset({"Oslo", ""})}).pruned


def test_a_column_without_known_values_is_never_pruned():
    assert not compiled("Events | where EventType == 'nope'", {"City": frozenset()}).pruned


def test_odata_filters_are_pruned_too():
    result = querylang.compile_list("EventType eq 'nope' and CountryCode eq 'DE'", "",
                                    skip=0, top=10, source_sql=SOURCE, known=KNOWN)
    assert result.pruned and result.newest_first is None
    kept = querylang.compile_list("EventType eq 'pageview'", "", skip=0, top=10,
                                  source_sql=SOURCE, known=KNOWN)
    assert not kept.pruned and kept.newest_first is not None


SAME_ANSWER = [
    "Events | where EventType == 'nope' | count",
    "Events | where EventType == 'nope' or City == 'Berlin' | project TrackId",
    "Events | where (City == 'Rome' or CountryCode == 'DE') and EventType == 'pageview' "
    "| project TrackId",
    "Events | where not(City == 'Rome' or CountryCode == 'XX') | project TrackId",
    "Events | where City in ('Rome', 'Oslo') or EventType in ('x') | project TrackId",
    "Events | where City == '' | project TrackId",
    "Events | where EventType == 'nope' | summarize count() by City",
    "Events | where CountryCode == 'NO' or CountryCode == 'XX' | summarize dcount(City)",
]


@pytest.mark.parametrize("query", SAME_ANSWER)
def test_answers_are_those_of_the_query_without_known_values(query):
    con = make_connection()

    def answer(known):
        result = compiled(query, known)
        return sorted(con.execute(result.sql, result.params).fetchall(), key=repr)

    assert answer(KNOWN) == answer(None)


@pytest.mark.parametrize("query", [
    "Events | where EventType == 'nope' | union (Events | where City == 'Oslo')",
    "Events | where EventType == 'nope' | join kind=rightouter (Events | project TrackId) "
    "on TrackId",
    "datatable(EventType: string)['a'] | where EventType == 'nope'",
])
def test_a_query_reading_the_table_elsewhere_too_reads_its_rows(query):
    assert not compiled(query).reads_no_rows


# Queries whose answer the compiler says is the same whatever rows the table holds.
WITHOUT_ROWS = [
    "Events | where EventType == 'nope' | count",
    "Events | where EventType == 'nope' | summarize count(), dcount(City) by CountryCode",
    "Events | where EventType in ('x', 'y') and City == 'Oslo' | project TrackId, Payload",
    "Events | where CountryCode == 'XX' | extend n = 1 | summarize sum(n)",
    "Events | where false | take 3",
    "Events | summarize n = count() by City | where false",
    "Events | where EventType == 'nope' | union (datatable(TrackId: string)['t'])",
    "Events | where CountryCode == 'XX' | top 3 by EventTime desc",
]


@pytest.mark.parametrize("query", WITHOUT_ROWS)
def test_such_a_query_answers_the_same_over_a_source_with_no_row(query):
    """What the server does with reads_no_rows (server/reads/empty_source.py): the same
    columns, of the same types, with no row, give the same answer and the same result types."""
    con = make_connection()
    result = compiled(query)
    assert result.reads_no_rows
    columns = con.execute(f"SELECT * FROM {SOURCE} LIMIT 0").description
    empty = "(SELECT {} LIMIT 0)".format(", ".join(
        f'CAST(NULL AS {type_code}) AS "{name}"' for name, type_code, *_ in columns))
    over_empty = querylang.compile(query, source_sql=empty, known=KNOWN)
    real = con.execute(result.sql, result.params)
    answer = real.fetchall(), [str(c[1]) for c in real.description]
    without_rows = con.execute(over_empty.sql, over_empty.params)
    assert (without_rows.fetchall(), [str(c[1]) for c in without_rows.description]) == answer
    assert "shop" not in repr(over_empty.params) and "events" not in over_empty.sql
