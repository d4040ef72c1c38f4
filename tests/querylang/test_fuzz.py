"""Fuzzing the compiler with queries drawn from its own grammars, and mutations of them: it
answers SQL that DuckDB accepts and that reads nothing beyond the scope-confined source
(tests/sql_safety.py), or raises QueryError; never anything else. User values reach DuckDB
only as parameters."""
from __future__ import annotations

import os

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import querylang
from querylang.schema import EVENTS_SCHEMA

from query_strategies import kql_queries, mutated, odata_filters, odata_orderbys
from sql_safety import reach

SOURCE_TABLE = "scoped_events"
SOURCE = f'(SELECT * FROM {SOURCE_TABLE} WHERE "Scope" = $scope)'
# A longer hunt: TRACKSTORE_FUZZ_EXAMPLES=20000 (the suite's default keeps it to seconds).
FUZZ = settings(max_examples=int(os.environ.get("TRACKSTORE_FUZZ_EXAMPLES", "400")),
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.filter_too_much])


@pytest.fixture(scope="module")
def conn():
    """A DuckDB with the events table's columns and a few rows, named apart from anything the
    compiler could name by itself."""
    connection = duckdb.connect()
    columns = ", ".join(f'"{c.name}" {_sql_type(c.type)}' for c in EVENTS_SCHEMA.columns)
    connection.execute(f"CREATE TABLE {SOURCE_TABLE} ({columns})")
    connection.execute(f"INSERT INTO {SOURCE_TABLE} (\"TrackId\", \"Scope\", \"EventType\", "
                       f"\"EventTime\", \"Payload\") VALUES ('t1', 's', 'pageview', "
                       f"TIMESTAMP '2020-01-01', '{{\"a\": 1}}'), ('t2', 'other', 'secret', "
                       f"TIMESTAMP '2020-01-02', NULL)")
    yield connection
    connection.close()


def _sql_type(kind: str) -> str:
    return {"datetime": "TIMESTAMP", "dynamic": "JSON"}.get(kind, "VARCHAR")


def check(conn, compile_text) -> None:
    """compile_text() raises QueryError, or its SQL reads only the source, passes DuckDB's
    binder (EXPLAIN with its parameters) and runs over a few rows."""
    try:
        compiled = compile_text()
    except querylang.QueryError:
        return
    assert reach(conn, compiled.sql, SOURCE_TABLE) == [], compiled.sql
    params = {**compiled.params, "scope": "s"}
    if "$scope" not in compiled.sql:
        params.pop("scope")
    cursor = conn.cursor()
    try:
        cursor.execute("EXPLAIN " + compiled.sql, params)
        cursor.execute(compiled.sql, params).fetchall()
    except duckdb.Error as error:
        pytest.fail(f"DuckDB refused the compiled SQL: {error}\n{compiled.sql}\n{params}")
    finally:
        cursor.close()


def compile_kql(text: str):
    return lambda: querylang.compile(text, source_sql=SOURCE, max_rows=1001)


def compile_odata(filter: str, orderby: str, top: int):
    return lambda: querylang.compile_list(filter, orderby, skip=0, top=top, source_sql=SOURCE)


@FUZZ
@given(kql_queries())
def test_generated_kql_compiles_to_confined_sql_or_a_query_error(conn, text):
    check(conn, compile_kql(text))


@FUZZ
@given(mutated(kql_queries()))
def test_mutated_kql_compiles_to_confined_sql_or_a_query_error(conn, text):
    check(conn, compile_kql(text))


@FUZZ
@given(odata_filters(), odata_orderbys(), st.integers(0, 9999))
def test_generated_odata_compiles_to_confined_sql_or_a_query_error(conn, filter, orderby, top):
    check(conn, compile_odata(filter, orderby, top))


@FUZZ
@given(mutated(odata_filters()), mutated(odata_orderbys()))
def test_mutated_odata_compiles_to_confined_sql_or_a_query_error(conn, filter, orderby):
    check(conn, compile_odata(filter, orderby, 100))


def test_the_generators_reach_the_sql_generator():
    """Enough generated queries compile for the property above to say something."""
    compiled = 0

    @settings(max_examples=200, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(kql_queries())
    def count(text):
        nonlocal compiled
        try:
            querylang.compile(text, source_sql=SOURCE)
            compiled += 1
        except querylang.QueryError:
            pass

    count()
    assert compiled >= 20
