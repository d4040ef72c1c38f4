"""A constant regular expression that RE2 cannot read is the query's error, with its place
(the fuzzer found `matches regex '?'` reaching DuckDB); RE2 syntax Python lacks still compiles."""
import pytest

from querylang import QueryError, compile


@pytest.mark.parametrize("query, column", [
    ("Events | where TrackId matches regex '?'", 38),
    ("Events | where TrackId matches regex '(a'", 38),
    ("Events | where TrackId matches regex '[a'", 38),
    ("Events | extend x = extract('(?', 1, TrackId)", 29),
    ("Events | extend x = trim('[a', TrackId)", 26),
    ("Events | parse kind=regex TrackId with 'id=(' x:long", 10),
])
def test_a_pattern_no_engine_reads_is_refused_where_it_stands(query, column):
    with pytest.raises(QueryError) as error:
        compile(query)
    assert "regular expression" in str(error.value) and f"column {column}" in str(error.value)


@pytest.mark.parametrize("query", [
    r"Events | where TrackId matches regex @'\p{L}+'",
    "Events | where TrackId matches regex 'a+b?'",
    "Events | extend x = extract('(a+)', 1, TrackId)",
    r"Events | extend x = trim(@'\s', TrackId)",
    "Events | parse kind=regex TrackId with 'id=([0-9])' x:long",
])
def test_patterns_of_re2_compile(query):
    assert "regexp_" in compile(query).sql
