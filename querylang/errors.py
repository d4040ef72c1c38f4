"""QueryError: the one exception the compiler raises for a bad query."""
from __future__ import annotations

import difflib
import re
from typing import Iterable


class QueryError(Exception):
    """A problem in the user's query, with a 1-based position.

    str(e) is ``line L, column C: message``; ``e.render()`` adds the source line and a caret.
    """

    def __init__(self, message: str, line: int = 1, column: int = 1, source: str | None = None):
        self.message = message
        self.line = max(1, int(line))
        self.column = max(1, int(column))
        self.source = source
        super().__init__(f"line {self.line}, column {self.column}: {message}")

    def __str__(self) -> str:
        return f"line {self.line}, column {self.column}: {self.message}"

    def with_source(self, source: str) -> "QueryError":
        if self.source is None:
            self.source = source
        return self

    def render(self, source: str | None = None) -> str:
        text = source if source is not None else self.source
        head = str(self)
        if text is None:
            return head
        lines = text.splitlines() or [""]
        if self.line > len(lines):
            return head
        src = lines[self.line - 1].replace("\t", " ")
        caret = " " * (self.column - 1) + "^"
        return f"{head}\n{src}\n{caret}"


def at(node, message: str) -> QueryError:
    """A QueryError positioned at an AST node (anything with a `span`)."""
    span = getattr(node, "span", None)
    if span is None:
        return QueryError(message)
    return QueryError(message, span.line, span.column)


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    candidates = list(candidates)
    lowered = {c.lower(): c for c in candidates}
    if name.lower() in lowered:
        return f"; did you mean '{lowered[name.lower()]}'?"
    close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    if not close:
        close = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.6)
        close = [lowered[c] for c in close]
    return f"; did you mean '{close[0]}'?" if close else ""


# ---------------------------------------------------------------- Lark errors, converted here only
# terminals that can start an operand: when one is expected, the parser wants an expression
_ATOMS = {"NAME", "NUMBER", "STRING", "TIMESPAN", "DATETIME_LIT", "TIMESPAN_LIT", "DYNAMIC",
          "DATETIME"}
# terminals that continue an expression (binary operators of either language)
_OPERATORS = {"AND", "OR", "HAS", "CONTAINS", "STARTSWITH", "ENDSWITH", "BETWEEN", "IN",
              "MATCHES", "PLUS", "MINUS", "STAR", "SLASH", "PERCENT", "LESSTHAN", "MORETHAN",
              "CMP", "DOT", "LSQB"}
_OPERATOR_WORD = re.compile(r"(HAS|CONTAINS|STARTSWITH|ENDSWITH|IN|BETWEEN|MATCHES)")
_TOKEN_TEXT = {"LPAR": "'('", "RPAR": "')'", "COMMA": "','", "SEMICOLON": "';'", "VBAR": "'|'",
               "EQUAL": "'='", "RSQB": "']'", "STAR": "'*'", "BY": "'by'",
               "NAME": "a name", "DIR": "asc or desc", "ASC": "'asc'", "DESC": "'desc'",
               "NULLS": "'nulls'", "FIRST": "'first'", "LAST": "'last'", "__ANON_DOTDOT": "'..'"}
_PREV_TOKEN = re.compile(r"(\.\.|[A-Za-z_][A-Za-z0-9_\-]*~?|[0-9][0-9A-Za-z.]*|'[^']*'|\"[^\"]*\"|"
                         r"==|!=|<=|>=|=~|!~|!?[A-Za-z_]+|\S)\s*$")
_KEYWORDS = {"and", "or", "not", "where", "take", "by", "in", "has", "contains", "between"}


def _quoted(text: str) -> str:
    text = str(text)
    return text if text[:1] in "'\"" else f"'{text}'"


def _describe_expected(expected: set[str], tabular: Iterable[str], dialect: str) -> str:
    if expected & _ATOMS:
        return "an expression"
    tabular = set(tabular)
    named = {e for e in expected if not e.startswith("__")}
    if named and all(e.lower().replace("_", "-") in tabular for e in named):
        return "a query operator such as 'where', 'take', 'project' or 'summarize'"
    names = []
    if "VBAR" in expected:
        names.append("'|'")
    operators = (expected & _OPERATORS) | {e for e in named if _OPERATOR_WORD.match(e)}
    if operators:
        names.append("an operator such as " +
                     ("'eq' or 'and'" if dialect == "odata" else "'==', 'and' or '+'"))
    for e in sorted(named - operators - {"VBAR", "$END", "SEMICOLON"}):
        names.append(_TOKEN_TEXT.get(e, f"'{e.lower().replace('_', '-')}'"))
    if "$END" in expected:
        names.append("the end of the query" if dialect != "odata" else "the end")
    if not names:
        return "something else"
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def _hint(found: str, text: str, pos: int) -> str:
    if found.lower() in _KEYWORDS and found != found.lower():
        return f"; keywords are lowercase: write '{found.lower()}'"
    if found == "=":
        return "; use '==' to compare"
    if found == "|" and text[max(0, pos - 1):pos + 1] == "||":
        return "; use 'or' to combine conditions"
    return ""


def from_lark(err: Exception, text: str, tabular_ops: Iterable[str] = (),
              unsupported_ops: Iterable[str] = (), dialect: str = "kql") -> QueryError:
    """Turn any Lark parse error into a QueryError saying what was expected, after what."""
    import lark.exceptions as lx  # lark is a dependency of the parsers; errors stays importable

    line = getattr(err, "line", None) or 1
    column = getattr(err, "column", None) or 1
    pos = getattr(err, "pos_in_stream", None)
    if isinstance(err, lx.UnexpectedToken) and err.token.type == "$END":
        stripped = text.rstrip()
        pos = len(stripped)
        line = stripped.count("\n") + 1
        column = pos - (stripped.rfind("\n") + 1) + 1
    if pos is None:
        pos = _offset(text, line, column)
    m = _PREV_TOKEN.search(text[:pos])
    after = f" after {_quoted(m.group(1))}" if m else " at the start"
    if isinstance(err, lx.UnexpectedCharacters):
        char = text[pos] if pos < len(text) else ""
        if char in "'\"":
            msg = "unterminated string literal"
        elif char == "&":
            msg = "unexpected character '&'; use 'and' to combine conditions"
        else:
            msg = f"unexpected character '{char}'"
        return QueryError(msg, line, column, text)
    if isinstance(err, lx.UnexpectedToken):
        # `accepts` is exact (the parser tries each terminal); `expected` over-approximates
        accepts = getattr(err, "accepts", None) or err.expected
        what = _describe_expected(set(accepts), tabular_ops, dialect)
        tok = err.token
        if tok.type != "$END" and what.startswith("a query operator") and tok.type == "NAME":
            word = re.match(r"[A-Za-z_][A-Za-z0-9_\-]*", text[tok.start_pos:]).group(0)
            if word in set(unsupported_ops):
                return QueryError(f"operator '{word}' is not supported", line, column, text)
            hint = did_you_mean(str(tok), tabular_ops)
            return QueryError(f"unknown query operator '{tok}'{hint}", line, column, text)
        msg = f"expected {what}{after}"
        if tok.type != "$END":
            msg += f", found {_quoted(tok)}" + _hint(str(tok), text, pos)
        return QueryError(msg, line, column, text)
    if isinstance(err, lx.UnexpectedEOF):
        return QueryError(f"unexpected end of the query{after}", line, column, text)
    return QueryError(f"cannot parse the query: {err}", line, column, text)


def _offset(text: str, line: int, column: int) -> int:
    lines = text.split("\n")
    return sum(len(x) + 1 for x in lines[: line - 1]) + column - 1
