"""Kusto's null rules as SQL, for the KQL dialect's tests (OData keeps its own, in sqlgen).

Strings: a KQL string is never null. A string column never sent, the text of a missing property
or `tostring()` of a null is ''. The SQL keeps such a value NULL, and every test reads a NULL
string as ''. Against a constant, what '' gives is known when compiling (`'' contains 'x'` is
false, `'' != 'x'` true), so a test stays the plain comparison DuckDB pushes into the scan and
prunes row groups with, and only when '' passes it is `OR x IS NULL` added:
`City == 'x'` -> `"City" = 'x'`, `City == ''` -> `("City" = '' OR "City" IS NULL)`.

Other types (Kusto docs, "Null values"): `==` between null and a value is false, `!=` true,
between two nulls both are null; `not(null)` is null; `and`/`or` are three-valued, as in SQL;
`in` is the disjunction of `==`, `!in` the conjunction of `!=`, so a null passes `!in`.

`relaxed`: the test decides a filter (a `where`, through `and`/`or`), where null and false both
drop the row, so a test may answer null where Kusto answers false. Anywhere else (under `not`,
in a projected value, in `iff`) a test is exact.
"""
from __future__ import annotations

from . import ast


def text_constant(e: ast.Expr) -> bool:
    """A string constant ('' included)."""
    return isinstance(e, ast.Literal) and e.type == "string" and isinstance(e.value, str)


def known_on_empty(op: str, constant: str) -> bool | None:
    """What `'' op constant` gives for a positive string test; None when not known here (a
    regular expression is matched by the database's engine, RE2)."""
    if op in ("==", "=~") or op.removesuffix("_cs") in (
            "has", "hasprefix", "hassuffix", "contains", "startswith", "endswith"):
        return constant == ""
    return None


def with_empty(test: str, operand: str, empty_passes: bool, relaxed: bool) -> str:
    """`test` (null where `operand` is null) as a test that reads a null `operand` as ''."""
    if empty_passes:
        return f"({test} OR {operand} IS NULL)"
    return test if relaxed else f"COALESCE({test}, FALSE)"


def text(sql: str) -> str:
    """A string's SQL with null read as ''."""
    return f"COALESCE({sql}, '')"


def negated(test: str) -> str:
    return f"(NOT {test})"


def is_distinct(left: str, right: str) -> str:
    """`left IS DISTINCT FROM right`, written as its negated twin: DuckDB 1.4's Parquet scan
    skips a file or row group whose column is all null when IS DISTINCT FROM stands in an OR it
    pushes into the scan (`City == 'x' or City != 'y'` lost the events without a City)."""
    return negated(f"({left} IS NOT DISTINCT FROM {right})")


def equality(op: str, left: str, right: str, left_e: ast.Expr, right_e: ast.Expr,
             relaxed: bool) -> str:
    """`==` / `!=` between values of a type with nulls."""
    constant = _nonnull_constant(left_e) or _nonnull_constant(right_e)
    if op == "==":
        if relaxed:
            return f"({left} = {right})"
        if constant:
            return f"COALESCE(({left} = {right}), FALSE)"
        return _null_if_both(left, right, f"({left} IS NOT DISTINCT FROM {right})")
    distinct = is_distinct(left, right)
    if relaxed or constant:
        return distinct
    return _null_if_both(left, right, distinct)


def _nonnull_constant(e: ast.Expr) -> bool:
    return isinstance(e, ast.Literal) and e.value is not None


def _null_if_both(left: str, right: str, test: str) -> str:
    return f"(CASE WHEN {left} IS NULL AND {right} IS NULL THEN NULL ELSE {test} END)"
