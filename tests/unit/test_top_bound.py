"""The bound a top-N by a promoted key is read from: learned, used, dropped when it falls short."""
from __future__ import annotations

import duckdb
import pytest

from querylang.top_by_key import ORDER_KEY_OUTPUT, TopByKey
from trackstore_server.reads.queries import QueryResult
from trackstore_server.reads.top_by_key import BoundPlanner, run_top_bound, without_late_materialization

HINT = TopByKey("k", True, rows=3, depth=3)


def _result(keys):
    return QueryResult(["TrackId", ORDER_KEY_OUTPUT], [False, False],
                       [(f"t{k}", k) for k in keys])


class Reads:
    def __init__(self, whole, bounded=None):
        self.whole, self.bounded, self.calls = whole, bounded, []

    def run_bounded(self, bound):
        self.calls.append(("bounded", bound))
        keys = self.whole if self.bounded is None else self.bounded
        return _result([k for k in keys if k >= bound])

    def run_all(self):
        self.calls.append(("all",))
        return _result(self.whole)


def test_a_first_read_is_whole_and_teaches_the_bound_of_the_next():
    planner, reads = BoundPlanner(), Reads([90, 80, 70])
    first = run_top_bound(planner, "shape", HINT, reads.run_bounded, reads.run_all)
    assert first.names == ["TrackId"] and first.rows == [("t90",), ("t80",), ("t70",)]
    again = run_top_bound(planner, "shape", HINT, reads.run_bounded, reads.run_all)
    assert again.rows == first.rows
    assert reads.calls == [("all",), ("bounded", 70)]
    assert planner.bound("other") is None


def test_a_short_bounded_answer_is_read_again_whole():
    planner = BoundPlanner()
    planner.answered("shape", 70)
    # the event at 70 was deleted: two events beyond the bound, the answer needs three
    reads = Reads([90, 80, 60])
    result = run_top_bound(planner, "shape", HINT, reads.run_bounded, reads.run_all)
    assert [r[0] for r in result.rows] == ["t90", "t80", "t60"]
    assert reads.calls == [("bounded", 70), ("all",)]
    assert planner.bound("shape") == 60


@pytest.mark.parametrize("keys", [[90, 80], [90, 80, None]])
def test_an_answer_without_a_last_key_forgets_the_bound(keys):
    planner = BoundPlanner()
    planner.answered("shape", 70)
    reads = Reads(keys, bounded=[])
    result = run_top_bound(planner, "shape", HINT, reads.run_bounded, reads.run_all)
    assert len(result.rows) == len(keys) and all(len(row) == 1 for row in result.rows)
    assert planner.bound("shape") is None


def test_a_bounded_read_turns_late_materialization_off_on_its_own_connection_only():
    conn = duckdb.connect()
    setting = "SELECT current_setting('late_materialization_max_rows')"
    default = conn.execute(setting).fetchone()[0]
    prepared = []
    bounded = conn.cursor()
    without_late_materialization(prepared.append)(bounded)
    assert bounded.execute(setting).fetchone() == (0,) and prepared == [bounded]
    assert conn.cursor().execute(setting).fetchone() == (default,) and default > 0
    without_late_materialization(None)(conn.cursor())  # no prepare of its own: nothing else
