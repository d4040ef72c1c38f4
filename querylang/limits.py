"""How large a query may be, beyond the nesting Python's recursion limit bounds (errors.too_deep).

Each pipeline operator is one more nested SELECT: DuckDB's parser runs out of stack at about
2,000, and its filter pushdown takes time exponential in the aggregations nested one in another
(about twice as long with each one more, and deaf to the query's interrupt while it plans), so
a query of a few dozen `summarize` would hold a CPU past any time limit.
"""
from __future__ import annotations

MAX_OPERATORS = 100  # tabular operators in a query, every pipeline of it counted (joins, lets)
MAX_AGGREGATIONS = 8  # summarize and count operators in a query
