"""Two servers on one PostgreSQL catalog (issue 22): a segment is refreshed by one of them at a
time and once, and each answers membership from the generation the other one computed."""
from __future__ import annotations

import re
import time

import grpc

from helpers import count
from segments_support import Api, definition, value
from trackstore_client import TrackstoreError

VIEWED = "Events | where EventType == 'pageview' and Payload.product == {{product}}"


def refreshes(servers, segment: str) -> int:
    """How many refreshes of the segment the servers' logs tell of."""
    pattern = re.compile(rf"segment shop/{segment} refreshed: generation")
    return sum(len(pattern.findall(server.log())) for server in servers)


def settle(apis, segment: str, generation: int = 0) -> int:
    """Waits until every server answers from one generation newer than `generation`; returns
    it. A server knows a segment made on another one from its next poll (NOT_FOUND until
    then)."""
    deadline = time.monotonic() + 30
    while True:
        seen = {api.segment(segment).generation for api in apis}
        if len(seen) == 1 and seen.pop() > generation and all(
                answers(api, segment) == [True] for api in apis):
            return apis[0].segment(segment).generation
        assert time.monotonic() < deadline, seen
        time.sleep(0.1)


def answers(api, segment: str) -> list[bool] | None:
    try:
        return api.is_in("d1", segment)
    except TrackstoreError as error:
        assert error.code == grpc.StatusCode.NOT_FOUND, error
        return None


def test_two_servers_refresh_a_segment_once_and_both_answer_from_it(start_server, postgres,
                                                                    tmp_path):
    shared = ("--catalog", postgres, "--data-path", str(tmp_path / "lake"),
              "--flush-seconds", "0.2", "--segment-poll-seconds", "0.2")
    servers = [start_server(*shared, data_dir=tmp_path / name) for name in ("one", "two")]
    with Api(servers[0]) as one, Api(servers[1]) as two:
        one.track([{"DeviceId": f"d{i}", "EventType": "pageview",
                    "Payload": {"product": "shoes"}} for i in range(1, 4)])
        # the other server reads them once the first one has flushed them to the lake
        deadline = time.monotonic() + 15
        while count(two.client, "shop") < 3:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        one.create_definition("viewed", VIEWED, product="string")
        one.create_segment("shoes", "viewed", product=value("string", "shoes"))
        first = settle([one, two], "shoes")
        # the second server saw the new segment due too, and left it to the first one's lease
        time.sleep(1.0)
        assert refreshes(servers, "shoes") == 1
        assert two.devices("shoes") == ["d1", "d2", "d3"]
        assert list(two.call("SegmentsOf", device_id="d2").segments) == ["shoes"]

        # A new definition makes the segment due on both servers at their next poll: one of
        # them refreshes it, the other finds it done.
        replaced = definition("viewed", VIEWED + " and DeviceId != 'd3'", product="string")
        two.call("ReplaceFilterDefinition", filter_definition=replaced)
        second = settle([one, two], "shoes", first)
        time.sleep(1.0)
        assert refreshes(servers, "shoes") == 2
        assert one.segment("shoes").generation == second
        # each server answers from the new generation once it has loaded it (its next poll)
        deadline = time.monotonic() + 10
        while [api.is_in("d3", "shoes") for api in (one, two)] != [[False], [False]]:
            assert time.monotonic() < deadline
            time.sleep(0.1)

        # a segment deleted on one server is gone from the other's memory at its next poll
        one.call("DeleteSegment", name="shoes")
        deadline = time.monotonic() + 10
        while True:
            try:
                two.is_in("d1", "shoes")
            except TrackstoreError as error:
                assert error.code == grpc.StatusCode.NOT_FOUND
                break
            assert time.monotonic() < deadline
            time.sleep(0.1)
