"""One SELECT being built: its source, its columns as SQL over that source, and the clauses an
operator may add before the generator wraps it as the source of the next (sqlgen.py)."""
from __future__ import annotations

from dataclasses import dataclass, field

from .sqltext import quote_ident


@dataclass
class Select:
    source: str
    cols: list[tuple[str, str, str]]  # (name, sql over source, KQL type)
    base: bool = False  # source is the events relation itself (promoted columns usable)
    where: list[str] = field(default_factory=list)
    group_by: list[str] | None = None
    order_by: list[str] = field(default_factory=list)
    limit: int | None = None
    offset: int | None = None
    distinct: bool = False
    hidden: list[tuple[str, str]] = field(default_factory=list)
    # (order column, descending) when the first sort key reads a promoted key's order column
    # with nulls last (top_by_key.py)
    order_key: tuple[str, bool] | None = None

    def env(self) -> dict[str, str]:
        return {n: s for n, s, _ in self.cols}


def render(sel: Select, gen) -> str:
    """The SELECT's text; `gen` binds its LIMIT and OFFSET (SqlGen.param)."""
    items = []
    for name, sql, _ in sel.cols:
        q = quote_ident(name)
        items.append(q if sql == q else f"{sql} AS {q}")
    items += [f"{sql} AS {quote_ident(name)}" for name, sql in sel.hidden]
    parts = ["SELECT " + ("DISTINCT " if sel.distinct else "") + (", ".join(items) or "*"),
             "FROM " + sel.source]
    if sel.where:
        parts.append("WHERE " + " AND ".join(sel.where))
    if sel.group_by:
        parts.append("GROUP BY " + ", ".join(sel.group_by))
    if sel.order_by:
        parts.append("ORDER BY " + ", ".join(sel.order_by))
    if sel.limit is not None:
        parts.append("LIMIT " + gen.param(int(sel.limit), "long", cast=False))
    if sel.offset is not None:
        parts.append("OFFSET " + gen.param(int(sel.offset), "long", cast=False))
    return "\n".join(parts)
