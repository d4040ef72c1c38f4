"""What both parsers share: a Lark parser built once per grammar, a cache of parses, spans that
name their input, and the conversion of every Lark error into a QueryError.

A parser module declares one `Grammar` (its .lark file and an `AstBuilder`, the Transformer whose
methods, named after grammar rules, build ast nodes) and calls `Grammar.parse`.
"""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Mapping

from lark import Lark, Transformer
from lark.exceptions import (LarkError, UnexpectedCharacters, UnexpectedEOF, UnexpectedToken,
                             VisitError)

from . import ast, literals
from .errors import QueryError, did_you_mean, too_deep


class AstBuilder(Transformer):
    """A Transformer whose nodes' spans (and errors) name the input it was given."""

    def __init__(self, input: str = "query"):
        super().__init__()
        self.input = input

    def span_of(self, meta_or_token) -> ast.Span:
        line = getattr(meta_or_token, "line", None) or 1
        column = getattr(meta_or_token, "column", None) or 1
        return ast.Span(line, column, getattr(meta_or_token, "end_line", None) or line,
                        getattr(meta_or_token, "end_column", None) or column, self.input)

    def error_at(self, meta_or_token, message: str) -> QueryError:
        span = self.span_of(meta_or_token)
        return QueryError(message, span.line, span.column, input=self.input)

    def number_literal(self, token, too_large: str) -> ast.Literal:
        """A number token: a long, or a real if it has a fraction or an exponent. `too_large`
        words the error for an integer beyond a long, with {} for the number."""
        value = literals.number(str(token))
        kind = "long" if isinstance(value, int) else "real"
        if kind == "long" and not -(2**63) <= value < 2**63:
            raise self.error_at(token, too_large.format(value))
        return ast.Literal(value, type=kind, span=self.span_of(token))


class Grammar:
    """One .lark grammar (LALR, contextual lexer) and its AstBuilder: text -> ast nodes.

    `operators` / `unsupported` / `sources`: the tabular operators the language has, those it
    names as not supported, and what starts a query instead of a table, for error messages.
    `labels`: input -> the prefix of its syntax errors.
    """

    def __init__(self, filename: str, builder: type[AstBuilder], *, start: Iterable[str] = ("start",),
                 dialect: str = "kql", operators: Iterable[str] = (),
                 unsupported: Iterable[str] = (), sources: Iterable[str] = (),
                 labels: Mapping[str, str] | None = None):
        self.filename = filename
        self.builder = builder
        self.start = tuple(start)
        self.dialect = dialect
        self.operators = tuple(operators)
        self.unsupported = tuple(unsupported)
        self.sources = tuple(sources)
        self.labels = dict(labels or {})
        # The same texts come back (dashboards, pages of a list) and the trees are immutable, so
        # a parse is reused (bench/NOTES.md#compile-parse-cache).
        self.parse = lru_cache(maxsize=512)(self._parse)
        # Built with the module, not on the first parse: building KQL's tables takes about half
        # a second, which a server pays as it starts rather than in its first Preview.
        text = (Path(__file__).parent / self.filename).read_text()
        self.parser = Lark(text, parser="lalr", lexer="contextual", propagate_positions=True,
                           maybe_placeholders=True, start=list(self.start))

    def _parse(self, text: str, start: str = "start", input: str = "query"):
        """The builder's result for `text` parsed from the rule `start`; raises only QueryError,
        positioned in `text`, which names `input`."""
        try:
            return self.builder(input).transform(self.parser.parse(text, start=start))
        except VisitError as e:
            if isinstance(e.orig_exc, QueryError):
                raise e.orig_exc.with_source(text) from None
            if isinstance(e.orig_exc, RecursionError):
                raise too_deep(input).with_source(text) from None
            raise
        except LarkError as e:
            raise from_lark(e, text, self, input) from None
        except RecursionError:
            raise too_deep(input).with_source(text) from None


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


def from_lark(err: LarkError, text: str, grammar: Grammar, input: str) -> QueryError:
    """Any Lark parse error as a QueryError saying what was expected, after what."""
    message, line, column = _described(err, text, grammar)
    label = grammar.labels.get(input)
    return QueryError(f"{label}: {message}" if label else message, line, column, text,
                      input=input)


def _described(err: LarkError, text: str, grammar: Grammar) -> tuple[str, int, int]:
    """(message, line, column) of a Lark error in `text`."""
    line = getattr(err, "line", None) or 1
    column = getattr(err, "column", None) or 1
    pos = getattr(err, "pos_in_stream", None)
    if isinstance(err, UnexpectedToken) and err.token.type == "$END":
        stripped = text.rstrip()
        pos = len(stripped)
        line = stripped.count("\n") + 1
        column = pos - (stripped.rfind("\n") + 1) + 1
    if pos is None:
        pos = _offset(text, line, column)
    unsupported = _unsupported_operator_before(text, pos, grammar)
    if unsupported:
        return unsupported
    m = _PREV_TOKEN.search(text[:pos])
    after = f" after {_quoted(m.group(1))}" if m else " at the start"
    if isinstance(err, UnexpectedCharacters):
        char = text[pos] if pos < len(text) else ""
        if char in "'\"":
            msg = "unterminated string literal"
        elif char == "`":
            msg = "multi-line string literals (```) are not supported"
        elif char == "&":
            msg = "unexpected character '&'; use 'and' to combine conditions"
        else:
            msg = f"unexpected character '{char}'"
        return msg, line, column
    if isinstance(err, UnexpectedToken):
        # `accepts` is exact (the parser tries each terminal); `expected` over-approximates
        accepts = getattr(err, "accepts", None) or err.expected
        what = _describe_expected(set(accepts), grammar.operators, grammar.dialect)
        tok = err.token
        if tok.type != "$END" and what.startswith("a query operator"):
            named = _operator_named(tok, text, grammar)
            if named:
                return named, line, column
        msg = f"expected {what}{after}"
        if tok.type != "$END":
            msg += f", found {_quoted(tok)}" + _hint(str(tok), text, pos)
        return msg, line, column
    if isinstance(err, UnexpectedEOF):
        return f"unexpected end of the query{after}", line, column
    return f"cannot parse the query: {err}", line, column


def _unsupported_operator_before(text: str, pos: int, grammar: Grammar):
    """(message, line, column) when the failing operator is one named as not supported: an
    operator such as `parse-where` fails further on, where its syntax leaves ours."""
    bar = text.rfind("|", 0, pos)
    m = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_\-]*)").match(text, bar + 1) if bar >= 0 else None
    if not m or m.group(1) not in grammar.unsupported:
        return None
    start = m.start(1)
    line = text.count("\n", 0, start) + 1
    return (f"operator '{m.group(1)}' is not supported", line,
            start - (text.rfind("\n", 0, start) + 1) + 1)


def _operator_named(tok, text: str, grammar: Grammar) -> str | None:
    """What to say of a word where a query operator belongs, if it is one we know of."""
    word = re.match(r"[A-Za-z_][A-Za-z0-9_\-]*", text[tok.start_pos or 0:])
    word = word.group(0) if word else ""
    if word in grammar.unsupported:
        return f"operator '{word}' is not supported"
    if word in grammar.sources:
        return f"'{word}' starts a query (like a table) and cannot follow '|'"
    if tok.type == "NAME":
        return f"unknown query operator '{tok}'{did_you_mean(str(tok), grammar.operators)}"
    return None


def _offset(text: str, line: int, column: int) -> int:
    lines = text.split("\n")
    return sum(len(x) + 1 for x in lines[: line - 1]) + column - 1
