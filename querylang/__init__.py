"""trackstore's query compiler: KQL and OData text -> one parameterized DuckDB SELECT.

Stages, each usable alone: parse_kql / parse_odata (text -> ast, through the Lark glue in
parsing.py) -> resolve (names, types and every argument check, against a Schema; sources and
the operators that read other pipelines in resolve_tabular.py, Kusto's default names in
naming.py) -> known_values (tests the data cannot pass, when told what it holds) -> sqlgen (SQL
text and bound parameters; it checks nothing; Kusto's null rules in nullrules.py and
sqlgen_strings.py, sources, join, union, mv-expand and parse in sqlgen_tabular.py).
`compile()` and `compile_list()` run them in order (compiler.py); a QueryError names the input
it is in.
This package imports no database driver and nothing from the server.
"""
from .ast import OutputColumn
from .compiler import CompiledQuery, compile, compile_list
from .errors import QueryError
from .known_values import KnownValues
from .schema import EVENTS_SCHEMA, Schema

__all__ = ["compile", "compile_list", "CompiledQuery", "KnownValues", "OutputColumn",
           "QueryError", "EVENTS_SCHEMA", "Schema"]
