"""Reads over the lake: a compiled query (querylang) run against the scope's events.

plan.py plans and runs one read; each storage-aware strategy has the stem of its querylang
partner, which proves when it is exact: newest_first.py, top_by_key.py, known_values.py.
queries.py runs the statements (admission, time limit, cancellation inside DuckDB).
"""
