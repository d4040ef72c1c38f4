"""Fixtures: a small events table in DuckDB and a runner that compiles, runs and checks types."""
from __future__ import annotations

import pytest
from ql_data import NOW, make_connection

from querylang import compile, compile_list
from querylang.functions import SQL_TYPES

DUCKDB_TYPES = {k: v for k, v in SQL_TYPES.items()}


class Runner:
    def __init__(self, con):
        self.con = con

    def execute(self, compiled):
        cur = self.con.cursor()
        cur.execute(compiled.sql, compiled.params)
        names = [d[0] for d in cur.description]
        assert names == [c.name for c in compiled.columns], compiled.sql
        for d, col in zip(cur.description, compiled.columns):
            assert str(d[1]) == DUCKDB_TYPES[col.type], (col, str(d[1]), compiled.sql)
        return [dict(zip(names, row)) for row in cur.fetchall()]

    def rows(self, query: str, **kw):
        kw.setdefault("now", NOW)
        kw.setdefault("source_sql", "(SELECT * FROM events WHERE \"Scope\" = $srv_scope)")
        compiled = compile(query, **kw)
        scope = {"srv_scope": "shop"} if "$srv_scope" in compiled.sql else {}
        compiled = type(compiled)(compiled.sql, {**compiled.params, **scope}, compiled.columns)
        return self.execute(compiled)

    def ids(self, query: str, **kw) -> list[str]:
        return [r["TrackId"] for r in self.rows(query, **kw)]

    def list(self, filter="", orderby="", skip=0, top=100):
        compiled = compile_list(filter, orderby, skip=skip, top=top,
                                source_sql="(SELECT * FROM events WHERE \"Scope\" = 'shop')")
        return [r["TrackId"] for r in self.execute(compiled)]


@pytest.fixture(scope="session")
def db() -> Runner:
    return Runner(make_connection())
