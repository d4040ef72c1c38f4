"""What compiled SQL may read: only the scope-confined source it was given.

`reach(conn, sql, source_table)` parses the SQL with DuckDB itself (json_serialize_sql) and
lists everything in it that reaches beyond that source: another table, a table function other
than the few the compiler uses to make rows, a function that reads files, settings, variables
or the catalog, or a statement other than one SELECT.
"""
from __future__ import annotations

import json
import re

import duckdb

# Table functions the compiler uses to make rows of its own (range, datatable, mv-expand).
ROW_MAKERS = {"generate_series", "range", "unnest"}
# Scalar functions that read outside the query's rows.
OUTSIDE = re.compile(r"^(read_\w+|\w+_scan|glob|getvariable|current_setting|getenv|"
                     r"duckdb_\w+|pragma_\w+|ducklake_\w+|sniff_csv|query|query_table|"
                     r"parquet_\w+|json_execute_serialized_sql|current_(database|schemas?|"
                     r"catalog|user)|which_secret|load_extension|version|icu_\w+|"
                     r"iceberg_\w+|delta_\w+|postgres_\w+|sqlite_\w+|mysql_\w+)$", re.I)


def reach(conn: duckdb.DuckDBPyConnection, sql: str, source_table: str) -> list[str]:
    """What `sql` reads beyond `source_table` (empty when it reads nothing else)."""
    statements = conn.extract_statements(sql)
    if len(statements) != 1 or statements[0].type != duckdb.StatementType.SELECT:
        return [f"not one SELECT: {[s.type for s in statements]}"]
    tree = json.loads(conn.execute("SELECT json_serialize_sql(?)", [sql]).fetchone()[0])
    if tree.get("error"):
        return [f"DuckDB cannot serialize it: {tree.get('error_message')}"]
    found: list[str] = []
    ctes = set(_cte_names(tree))
    for node in _nodes(tree):
        kind = node.get("type")
        if kind == "BASE_TABLE":
            name = node["table_name"]
            qualified = node.get("schema_name") or node.get("catalog_name")
            if qualified or (name != source_table and name not in ctes):
                found.append(f"table {node.get('catalog_name')}.{node.get('schema_name')}.{name}")
        elif kind == "TABLE_FUNCTION":
            name = node["function"]["function_name"].lower()
            if name not in ROW_MAKERS:
                found.append(f"table function {name}")
        elif node.get("class") == "FUNCTION" and OUTSIDE.match(node.get("function_name", "")):
            found.append(f"function {node['function_name']}")
    return found


def _nodes(value):
    if isinstance(value, dict):
        yield value
        for child in value.values():
            yield from _nodes(child)
    elif isinstance(value, list):
        for child in value:
            yield from _nodes(child)


def _cte_names(tree) -> list[str]:
    return [entry["key"] for node in _nodes(tree) if isinstance(node.get("cte_map"), dict)
            for entry in node["cte_map"].get("map", [])]
