"""The benchmark's phases, one module each, in the order bench/run.py runs them.

Each phase is a function `measure(run, ...)` (harness.Run, and harness.Live while a server
runs) that returns a plain dict of figures under the keys of RESULTS.json. A phase records a
failing query or stage as an error in its figures and goes on; only the harness's own failures
end a run.
"""
