"""Moving events out of the store: a paged export that reads one snapshot (paging.py, holding
that snapshot against compaction through snapshots.py), and scheduled file exports
(configurations.py, runs.py, scheduler.py) written with DuckDB's COPY in the formats of
formats.py to the destinations of destinations.py, whose secrets secrets.py encrypts. The
lake tables they keep are made by tables.py, a store-format step (server/store.py).
"""
