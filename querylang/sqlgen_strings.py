"""The SQL of string tests: `==`, `=~`, `has`, `contains`, `startswith`, ..., their negations,
and `in`/`!in` over strings, with KQL's empty-string rule (nullrules.py) or OData's own.

The generator calls these with the operands' SQL already written; a constant a test needs as a
pattern (a `has` term) becomes a bound parameter. Nothing here checks anything.
"""
from __future__ import annotations

from . import ast, nullrules

# a term's edge: anything but a letter or a digit (Kusto's terms are runs of those)
_TERM_EDGE = r"[^\pL\pN]"
_LIKE = {"contains": "contains", "startswith": "starts_with", "endswith": "ends_with"}


def regex_literal(text: str) -> str:
    """RE2 syntax matching `text` literally: ASCII punctuation escaped, the rest as it is."""
    return "".join("\\" + ch if ch.isascii() and not ch.isalnum() and ch not in " _"
                   else ch for ch in text)


def term_pattern(kind: str, terms: list[str], case_sensitive: bool) -> str:
    """The regex of `has` (any of `terms` as a whole term), `hasprefix` or `hassuffix`."""
    term = "|".join(regex_literal(t) for t in terms)
    term = f"({term})" if len(terms) > 1 else term
    before, after = f"(^|{_TERM_EDGE})", f"($|{_TERM_EDGE})"
    pattern = {"has": before + term + after, "hasprefix": before + term,
               "hassuffix": term + after}[kind]
    return ("" if case_sensitive else "(?i)") + pattern


def positive_test(g, base: str, x: str, y: str, constant: str | None) -> str:
    """`x base y` for a positive operator (no '!'); null where x or y is null. `constant`: the
    right side's value when it is a constant string (a `has` term must be one)."""
    kind = base.removesuffix("_cs")
    cs = base.endswith("_cs")
    if kind in ("has", "hasprefix", "hassuffix"):
        return f"regexp_matches({x}, {g.param(term_pattern(kind, [constant], cs), 'string')})"
    if kind in _LIKE:
        return f"{_LIKE[kind]}({x}, {y})" if cs else f"{_LIKE[kind]}(lower({x}), lower({y}))"
    if base == "==":
        return f"({x} = {y})"
    if base == "=~":
        return f"(lower({x}) = lower({y}))"
    return f"regexp_matches({x}, {y})"  # 'matches regex', the last of resolve.STRING_OPS


def _positive(op: str) -> tuple[str, bool]:
    """(the positive operator, whether `op` negates it): '!has' -> ('has', True)."""
    if op in ("!=", "!~"):
        return {"!=": "==", "!~": "=~"}[op], True
    return op.lstrip("!"), op.startswith("!")


def kql_test(g, e: ast.Binary, left: str, right: str, relaxed: bool) -> str:
    """A string test of KQL: a null string is ''."""
    base, negate = _positive(e.op)
    symmetric = base in ("==", "=~")
    constant, operand = None, None
    if nullrules.text_constant(e.right):
        constant, operand = e.right.value, left
    elif symmetric and nullrules.text_constant(e.left):
        constant, operand, right = e.left.value, right, left
    empty = nullrules.known_on_empty(base, constant) if constant is not None else None
    if empty is None:  # read both sides' nulls as '': a test that is never null
        test = positive_test(g, base, nullrules.text(left if operand is None else operand),
                             nullrules.text(right), constant)
        return nullrules.negated(test) if negate else test
    test = positive_test(g, base, operand, right, constant)
    if negate:
        test, empty = nullrules.negated(test), not empty
    return nullrules.with_empty(test, operand, empty, relaxed)


def odata_test(g, e: ast.Binary, left: str, right: str) -> str:
    """OData's contains/startswith/endswith: null on null, which `not` reads as false."""
    constant = e.right.value if nullrules.text_constant(e.right) else None
    return positive_test(g, e.op, left, right, constant)


def kql_in(g, e: ast.InList, x: str, items: list[str], relaxed: bool) -> str:
    """`in`, `!in`, `in~`, `!in~` of strings: '' for null on both sides."""
    negate = e.op.startswith("!")
    if e.op.endswith("~"):
        test = (f"(lower({nullrules.text(x)}) IN "
                f"({', '.join(f'lower({nullrules.text(i)})' for i in items)}))")
        return nullrules.negated(test) if negate else test
    if not all(nullrules.text_constant(i) for i in e.items):
        test = f"({nullrules.text(x)} IN ({', '.join(nullrules.text(i) for i in items)}))"
        return nullrules.negated(test) if negate else test
    empty = "" in (i.value for i in e.items)
    test = f"({x} IN ({', '.join(items)}))"
    if negate:
        test, empty = f"({x} NOT IN ({', '.join(items)}))", not empty
    return nullrules.with_empty(test, x, empty, relaxed)


def has_any_or_all(g, e: ast.InList, x: str, relaxed: bool) -> str:
    """`has_any (...)`: one regex of every term; `has_all (...)`: one regex a term."""
    terms = [i.value for i in e.items]
    if e.op == "has_any":
        test = f"regexp_matches({x}, {g.param(term_pattern('has', terms, False), 'string')})"
        empty = "" in terms
    else:
        test = "(" + " AND ".join(
            f"regexp_matches({x}, {g.param(term_pattern('has', [t], False), 'string')})"
            for t in terms) + ")"
        empty = all(t == "" for t in terms)
    if g.dialect != "kql":
        return test
    return nullrules.with_empty(test, x, empty, relaxed)
