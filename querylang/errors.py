"""QueryError: the one exception the compiler raises for a bad query."""
from __future__ import annotations

from typing import Iterable


class QueryError(Exception):
    """A problem in the user's query, with a 1-based position in one input.

    str(e) is ``line L, column C: message``; ``e.render()`` adds the source line and a caret.
    `input` names the text the position is in: "query" (KQL), or the List request's "filter",
    "orderby", "top" or "skip" (a caller can report it as the field at fault).
    """

    def __init__(self, message: str, line: int = 1, column: int = 1, source: str | None = None,
                 *, input: str = "query"):
        self.message = message
        self.line = max(1, int(line))
        self.column = max(1, int(column))
        self.source = source
        self.input = input
        super().__init__(f"line {self.line}, column {self.column}: {message}")

    def __str__(self) -> str:
        return f"line {self.line}, column {self.column}: {self.message}"

    def with_source(self, source: str | None) -> "QueryError":
        """The error, rendering `source` (the text of its input) unless it knows it already."""
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
    return QueryError(message, span.line, span.column, input=span.input)


def too_deep(input: str = "query") -> QueryError:
    """Python's recursion limit bounds how deeply an expression may nest, in every stage."""
    return QueryError("the query is nested too deeply; use 'in (...)' for long lists of values",
                      input=input)


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """"; did you mean 'x'?" for the candidate nearest `name`: the same name in another case,
    else the one fewest edits away (a letter added, dropped, changed or two swapped), if that
    is close enough for a typo: one edit in a short name, two in a longer one, three from 10
    letters on."""
    candidates = list(candidates)
    lowered = {c.lower(): c for c in candidates}
    if name.lower() in lowered:
        return f"; did you mean '{lowered[name.lower()]}'?"
    allowed = 1 if len(name) <= 4 else 2 if len(name) < 10 else 3
    # Each edit changes the length by one at most: a name far longer than every candidate (a
    # hostile 1 MB identifier) is compared with none, instead of in time of its length squared.
    candidates = [c for c in candidates if abs(len(c) - len(name)) <= allowed]
    best = min(candidates, default=None,
               key=lambda c: (edit_distance(name.lower(), c.lower()), c))
    if best is None or edit_distance(name.lower(), best.lower()) > allowed:
        return ""
    return f"; did you mean '{best}'?"


def edit_distance(a: str, b: str) -> int:
    """Edits (insert, delete, substitute, swap two neighbours) that turn a into b."""
    previous2, previous = None, list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            cost = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
            if previous2 is not None and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cost = min(cost, previous2[j - 2] + 1)
            current.append(cost)
        previous2, previous = previous, current
    return previous[-1]
