"""Lake SQL: after the server stopped, in this process, the suite's hand-written SQL on the
DuckLake table (scope filtered) and the SQL our compiler makes of each KQL query, both timed.

Together they split ours/raw into storage layout (hand SQL on the lake / raw), translation
(compiled / hand SQL on the lake) and RPC plus row conversion (ours / compiled). The EXPLAIN
ANALYZE of each compiled query goes into RESULTS.json.
"""
from __future__ import annotations

from harness import Run, error_text, jsonable, ms, timed_runs
from suite import LIST_FILTER, LIST_ORDERBY, LIST_TOP, QUERIES, Query

SCOPE_PARAM = "srv_scope"  # the parameter the server binds its scope to
COMPILE_MAX_ROWS = 1001  # as the server compiles a Preview


def measure(run: Run) -> dict:
    """{"lake_sql": a row a query, and under "_"-keys the compiled List query, the plans and
    the lake's files}."""
    try:
        return {"lake_sql": _measure(run)}
    except Exception as error:  # noqa: BLE001 - recorded, the run goes on
        return {"lake_sql": {"_error": error_text(error)}}


def _measure(run: Run) -> dict:
    from trackstore_server import config as server_config
    from trackstore_server.lake import EVENTS_TABLE
    from trackstore_server.store import open_store

    scope, runs = run.cfg.scope, run.args.runs
    conn = open_store(server_config.load(flags={"data_dir": str(run.data_dir)}, environ={}))
    out: dict = {"_explain": {}}
    try:
        conn.execute(f"CREATE TEMP VIEW events AS SELECT * FROM {EVENTS_TABLE} "
                     f"WHERE \"Scope\" = '{scope}'")
        try:
            options = _compile_options(conn, scope)
        except Exception as error:  # noqa: BLE001 - the hand-written SQL is measured still
            options = None
            out["_compile_error"] = error_text(error)
        for query in QUERIES:
            out[query.name] = _query_row(conn, query, options, scope, runs, out["_explain"])
        out["_list_compiled"] = (_list_row(conn, options, scope, runs, out["_explain"])
                                 if options is not None else {"error": out["_compile_error"]})
        out["_files"] = conn.execute(
            "SELECT count(*), sum(data_file_size_bytes) FROM ducklake_list_files('lake', 'events')"
        ).fetchone()
    finally:
        conn.close()
    run.log("lake: hand-written and compiled SQL on the DuckLake table measured")
    return out


def _compile_options(conn, scope: str) -> dict:
    """What the server compiles a query with, rebuilt from the lake: the schema with the
    promoted keys, the scoped source (every column of the table, promoted ones included) and
    the known values. The server's recent, not yet flushed events are none once it stopped."""
    from trackstore_server import column_values, promoted
    from trackstore_server.lake import EVENTS_TABLE

    cursor = conn.cursor()
    try:
        schema = promoted.schema_with(promoted.load(cursor))
        lake = column_values.LakeValues()
        lake.refresh(cursor)
    finally:
        cursor.close()
    given = {column: frozenset() for column in column_values.TRACKED_COLUMNS}
    return {"source_sql": f'(SELECT * FROM {EVENTS_TABLE} WHERE "Scope" = ${SCOPE_PARAM})',
            "schema": schema, "known": column_values.combined(lake.of_scope(scope)[1], given)}


def _query_row(conn, query: Query, options: dict | None, scope: str, runs: int,
               plans: dict) -> dict:
    entry: dict = {}
    try:
        times, rows = timed_runs(lambda: conn.execute(query.sql).fetchall(), runs)
        entry.update(p50_ms=ms(times, 0.5), rows=len(rows))
    except Exception as error:  # noqa: BLE001 - recorded, the run goes on
        entry["error"] = error_text(error)
    if options is None:
        return entry
    try:
        import querylang

        compiled = querylang.compile(query.kql, max_rows=COMPILE_MAX_ROWS, **options)
        params = dict(compiled.params) | {SCOPE_PARAM: scope}
        entry["compiled_sql"] = compiled.sql
        entry["compiled_params"] = jsonable(params)
        entry["compiled_p50_ms"] = ms(_timed_params(conn, compiled.sql, params, runs), 0.5)
        plans[query.name] = _explain(conn, compiled.sql, params)
    except Exception as error:  # noqa: BLE001 - recorded, the run goes on
        entry["compiled_error"] = error_text(error)
    return entry


def _list_row(conn, options: dict, scope: str, runs: int, plans: dict) -> dict:
    """The List page at the last skip, compiled as the server compiles it."""
    try:
        import querylang

        compiled = querylang.compile_list(LIST_FILTER, LIST_ORDERBY, skip=9900, top=LIST_TOP,
                                          **options)
        params = dict(compiled.params) | {SCOPE_PARAM: scope}
        row = {"sql": compiled.sql,
               "p50_ms": ms(_timed_params(conn, compiled.sql, params, runs), 0.5)}
        plans["list_skip_9900"] = _explain(conn, compiled.sql, params)
        return row
    except Exception as error:  # noqa: BLE001 - recorded, the run goes on
        return {"error": error_text(error)}


def _timed_params(conn, sql: str, params: dict, runs: int) -> list[float]:
    return timed_runs(lambda: conn.execute(sql, params).fetchall(), runs)[0]


def _explain(conn, sql: str, params: dict) -> str:
    return conn.execute("EXPLAIN ANALYZE " + sql, params).fetchall()[0][1]
