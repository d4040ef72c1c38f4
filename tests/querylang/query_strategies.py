"""Hypothesis strategies for KQL and OData texts derived from the grammars themselves
(querylang/grammar.lark and odata.lark, as Lark compiles them), and random mutations of them.

A text is a random derivation of the grammar's start rule: each rule picks one of its
expansions, the shortest ones once a derivation is deep enough, and tokens are separated by
white space, as people write them. A grammar's NAME is any identifier, and random ones rarely
name a column, a function or a table, so a NAME draws from what the rule it stands in means
(`call` -> a function of the registry, `table` -> Events, `column_decl` -> a name and a type,
...), and now and then from names no query may reach (read_csv, getvariable, main, ...).
"""
from __future__ import annotations

import functools

from hypothesis import strategies as st
from lark.grammar import Terminal
from lark.lexer import PatternStr

from querylang import functions, parse_kql, parse_odata
from querylang.parse_kql import JOIN_KINDS, PARSE_KINDS
from querylang.schema import EVENTS_SCHEMA, TYPE_NAMES

from injection_corpus import SENDABLE, kql_quoted, odata_quoted

COLUMNS = EVENTS_SCHEMA.names
FUNCTIONS = tuple(sorted(functions.REGISTRY))
KEYS = ("a", "price", "tags", "sku", "Email", "n")
NEW_NAMES = ("x", "n", "Total", "y", "Count")
# Names no query may use to reach beyond its scope's events.
FORBIDDEN_NAMES = ("read_csv", "read_parquet", "glob", "getvariable", "current_setting",
                   "getenv", "duckdb_settings", "duckdb_tables", "events", "lake", "main",
                   "information_schema", "ATTACH", "COPY", "INSTALL", "LOAD", "PRAGMA", "SET",
                   "query", "query_table", "sqlite_scan", "parquet_scan", "pragma_version")
PLAIN_STRINGS = ("", "a", "pageview", "Events", "2020-01-01", "1h", "day", "%", ".*", "a,b",
                 "x:y", "\\", "'", '"', "yyyy-MM-dd")
MAX_DEPTH = 7
# Expansions that are refused by name whatever surrounds them: drawn now and then, not as often
# as the others, so most texts get past them to the resolver and the SQL generator.
RARE = {"guid_lit", "bracketed_name", "let_table", "union_option", "join_hint", "star",
        "__start_star_0", "column_name:NAME STAR"}
RARE_ODDS = 12  # an ordinary expansion is this many times as likely as a rare one


def _strings(quote) -> st.SearchStrategy[str]:
    short = [text for text in SENDABLE if len(text) < 100]
    return st.sampled_from(PLAIN_STRINGS + tuple(short)).map(quote)


_ANY_NAME = st.one_of(st.sampled_from(("Events", *COLUMNS, *FUNCTIONS, *FORBIDDEN_NAMES)),
                      st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True))
_NUMBERS = st.one_of(st.integers(0, 100).map(str), st.sampled_from(
    ("0", "1", "1.5", "1e3", "9223372036854775807", "9223372036854775808", "1000000000000")))


def _one_of(*names) -> st.SearchStrategy[str]:
    return st.sampled_from(names)


# The NAME of each rule (by its alias, else its name), by its place among the rule's NAMEs.
KQL_NAMES = {
    "table": [_one_of("Events")], "name": [_one_of(*COLUMNS, *NEW_NAMES)],
    "call": [_one_of(*FUNCTIONS)], "member": [_one_of(*KEYS)],
    "union_kind": [_one_of("outer", "inner")],
    "union_option": [_one_of("withsource", "isfuzzy"), _one_of("true", "Source")],
    "join_kind": [_one_of(*JOIN_KINDS)], "join_hint": [_one_of("shuffle", "broadcast")],
    "mv_kind": [_one_of("array", "bag")], "mv_index": [_one_of(*NEW_NAMES)],
    "mv_item": [_one_of(*NEW_NAMES), _one_of(*TYPE_NAMES)],
    "parse_kind": [_one_of(*PARSE_KINDS), _one_of("Ui", "x")],
    "column_decl": [_one_of(*NEW_NAMES), _one_of(*TYPE_NAMES)],
    "parse_column": [_one_of(*NEW_NAMES), _one_of(*TYPE_NAMES)],
    "assign": [_one_of(*NEW_NAMES, *COLUMNS)], "rename": [_one_of(*NEW_NAMES), _one_of(*COLUMNS)],
    "range_rows": [_one_of(*NEW_NAMES)], "let_stmt": [_one_of("threshold", "x")],
    "let_table": [_one_of("T")], "same_key": [_one_of(*COLUMNS)],
    "side_keys": [_one_of(*COLUMNS)], "distinct_op": [_one_of(*COLUMNS)],
    "__distinct_op_star_15": [_one_of(*COLUMNS)], "column_name": [_one_of(*COLUMNS)],
    "jname": [_one_of("true", "false", "null")],
}
KQL_TERMINALS = {
    "STRING": _strings(kql_quoted), "NUMBER": _NUMBERS,
    "TIMESPAN": _one_of("1d", "2h", "30m", "10s", "5ms", "1.5h", "3ticks"),
    "DATETIME_LIT": _one_of("datetime(2020-01-01)", "datetime(2020-02-03T04:05:06Z)",
                            "datetime(null)", "datetime(9999-12-31)"),
    "TIMESPAN_LIT": _one_of("time(1h)", "timespan(1.02:03:04)", "time(null)"),
    "GUID_LIT": _one_of("guid(74be27de-1e4e-49d9-b579-fe0b331d3642)"),
    "HINT": _one_of("hint.strategy"), "SIDE": _one_of("$left", "$right"),
    "COMMENT": _one_of("// a comment\n", "//'; DROP TABLE x\n"),
}
ODATA_NAMES = {"path": [_one_of(*COLUMNS)], "__path_star_3": [_one_of(*KEYS)],
               "call": [_one_of("contains", "startswith", "endswith", "tolower", "year")]}
ODATA_TERMINALS = {
    "STRING": _strings(odata_quoted), "NUMBER": st.one_of(_NUMBERS, _NUMBERS.map("-".__add__)),
    "DATETIME": _one_of("2020-01-01", "2020-01-01T00:00:00Z", "2020-01-01T10:20:30.5+02:00"),
    "PATHSEP": _one_of("/", "."), "OR": _one_of("or", "OR"), "AND": _one_of("and", "And"),
    "NOT": _one_of("not"), "IN": _one_of("in"), "DIR": _one_of("asc", "desc"),
    "CMP": _one_of("eq", "ne", "gt", "ge", "lt", "le", "EQ"),
}


class GrammarTexts:
    """Random derivations of a Lark grammar's rule `start`, as text."""

    def __init__(self, parser, start: str, names: dict, terminals: dict):
        self.rules: dict[str, list] = {}
        for rule in parser.rules:
            self.rules.setdefault(rule.origin.name, []).append(rule)
        self.literals = {t.name: t.pattern.value for t in parser.terminals
                         if isinstance(t.pattern, PatternStr)}
        self.start, self.names, self.terminals = start, names, terminals
        self.heights = _heights(self.rules)

    def strategy(self) -> st.SearchStrategy[str]:
        @st.composite
        def texts(draw):
            tokens: list[str] = []
            self._derive(draw, self.start, 0, tokens)
            return " ".join(tokens)

        return texts()

    def _derive(self, draw, symbol: str, depth: int, tokens: list[str]) -> None:
        options = self.rules[symbol]
        if depth >= MAX_DEPTH:  # from here on, the expansions that end soonest
            lowest = min(self._height(rule) for rule in options)
            options = [rule for rule in options if self._height(rule) == lowest]
        weighted = [rule for rule in options for _ in range(_weight(rule))]
        rule = draw(st.sampled_from(weighted))
        named = 0
        for part in rule.expansion:
            if not isinstance(part, Terminal):
                self._derive(draw, part.name, depth + 1, tokens)
            elif part.name == "NAME":  # one NAME in 20 is any name at all
                meant = self._name(rule, named) if draw(st.integers(0, 19)) else _ANY_NAME
                tokens.append(draw(meant))
                named += 1
            elif part.name in self.terminals:
                tokens.append(draw(self.terminals[part.name]))
            else:
                tokens.append(self.literals[part.name])

    def _name(self, rule, index: int) -> st.SearchStrategy[str]:
        choices = self.names.get(rule.alias or rule.origin.name, [])
        return choices[min(index, len(choices) - 1)] if choices else _ANY_NAME

    def _height(self, rule) -> int:
        return 1 + max((self.heights[p.name] for p in rule.expansion
                        if not isinstance(p, Terminal)), default=0)


def _weight(rule) -> int:
    parts = [p.name for p in rule.expansion]
    rare = ({rule.alias or rule.origin.name, f"{rule.origin.name}:{' '.join(parts)}", *parts}
            & RARE)
    return 1 if rare else RARE_ODDS


def _heights(rules: dict[str, list]) -> dict[str, int]:
    """The least derivation height of each rule (fixed point; terminals are height 0)."""
    heights = {name: 10**9 for name in rules}
    changed = True
    while changed:
        changed = False
        for name, options in rules.items():
            best = min(1 + max((heights[p.name] for p in rule.expansion
                                if not isinstance(p, Terminal)), default=0) for rule in options)
            if best < heights[name]:
                heights[name], changed = best, True
    return heights


@functools.cache
def kql_queries() -> st.SearchStrategy[str]:
    return GrammarTexts(parse_kql._GRAMMAR.parser, "start", KQL_NAMES, KQL_TERMINALS).strategy()


@functools.cache
def odata_filters() -> st.SearchStrategy[str]:
    return GrammarTexts(parse_odata._GRAMMAR.parser, "filter", ODATA_NAMES,
                        ODATA_TERMINALS).strategy()


@functools.cache
def odata_orderbys() -> st.SearchStrategy[str]:
    return GrammarTexts(parse_odata._GRAMMAR.parser, "orderby", ODATA_NAMES,
                        ODATA_TERMINALS).strategy()


# What a mutation inserts: characters and fragments that break or smuggle.
_NOISE = _one_of("'", '"', "\\", ";", "--", "/*", "*/", "|", "(", ")", "[", "]", "$", "\0",
                 "\u202e", "\n", "or", " and ", "read_csv(", "ATTACH ", "COPY ",
                 "getvariable(", "union ", "Events", "9" * 30, "x" * 500)


@st.composite
def mutated(draw, texts: st.SearchStrategy[str]) -> str:
    """A text of `texts` with one to three random edits: a span deleted, duplicated or moved,
    or noise inserted."""
    text = draw(texts)
    for _ in range(draw(st.integers(1, 3))):
        start = draw(st.integers(0, len(text)))
        end = draw(st.integers(start, min(len(text), start + 12)))
        edit = draw(st.sampled_from(("delete", "duplicate", "insert", "move")))
        if edit == "delete":
            text = text[:start] + text[end:]
        elif edit == "duplicate":
            text = text[:end] + text[start:end] + text[end:]
        elif edit == "insert":
            text = text[:start] + draw(_NOISE) + text[start:]
        else:
            piece, rest = text[start:end], text[:start] + text[end:]
            at = draw(st.integers(0, len(rest)))
            text = rest[:at] + piece + rest[at:]
    return text
