"""Segments through the real server (issue 22): materialisations, refresh semantics, pages and
their tokens, membership from memory, the standard methods and their errors, persistence across
a restart, and a refresh that fails."""
from __future__ import annotations

import datetime as dt
import threading
import time

import grpc
import pytest

from segments_support import Api, definition, refused, value, violations
from trackstore.v1 import export_pb2 as export_pb
from trackstore.v1 import export_pb2_grpc as export_grpc
from trackstore.v1 import segments_pb2 as spb
from trackstore_server.api.loop_server import POOL_THREADS
from trackstore_client import TrackstoreError
from trackstore_client.local import LocalServer

FAST = ("--segment-poll-seconds", "0.2", "--flush-seconds", "0.5")
VIEWED = ("Events | where EventType == 'pageview' and Payload.product == {{product}} "
          "and EventTime > ago({{window}})")
WEEK = value("timespan", dt.timedelta(days=7))
INVALID = grpc.StatusCode.INVALID_ARGUMENT


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    server = LocalServer(tmp_path_factory.mktemp("segments") / "data", *FAST).start()
    yield server
    server.stop()


@pytest.fixture
def api(server, request):
    with Api(server, scope=f"seg-{request.node.name[:150]}") as api:
        yield api


def now(**ago) -> str:
    return (dt.datetime.now(dt.timezone.utc) - dt.timedelta(**ago)).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


def view(device: str, product: str, **ago) -> dict:
    return {"DeviceId": device, "EventType": "pageview", "Payload": {"product": product},
            "EventTime": now(**(ago or {"minutes": 1}))}


def shoes_segment(api, name: str = "shoes") -> spb.Segment:
    api.create_definition("viewed", VIEWED, product="string", window="timespan")
    api.create_segment(name, "viewed", product=value("string", "shoes"), window=WEEK)
    return api.wait(name, lambda s: s.generation > 0)


def test_a_segment_holds_the_distinct_devices_of_the_matching_events(api):
    api.track([view(f"d{i}", "shoes") for i in (3, 1, 2, 1, 5, 4)] +
              [view("hat-only", "hat"), view("long-ago", "shoes", days=30),
               {"EventType": "pageview", "Payload": {"product": "shoes"}, "EventTime": now()},
               view("", "shoes")])  # no DeviceId: no device
    segment = shoes_segment(api)
    assert segment.device_count == 5 and segment.last_error == ""
    assert segment.computed_at.ToDatetime() <= dt.datetime.utcnow()
    assert api.devices("shoes", page_size=2) == ["d1", "d2", "d3", "d4", "d5"]
    first = api.call("EvaluateSegment", name="shoes", page_size=2)
    assert (first.device_count, first.computed_at) == (5, segment.computed_at)
    assert api.is_in("d1", "shoes") == [True]
    assert api.is_in("hat-only", "shoes") == [False]
    assert api.is_in("long-ago", "shoes") == [False]
    assert list(api.call("SegmentsOf", device_id="d4").segments) == ["shoes"]
    assert list(api.call("SegmentsOf", device_id="nobody").segments) == []


def test_membership_calls_check_their_arguments(api):
    shoes_segment(api)
    with pytest.raises(TrackstoreError) as error:
        api.is_in("d1", "shoes", "no-such-segment")
    assert refused(error.value) == (grpc.StatusCode.NOT_FOUND, "NOT_FOUND")
    assert "no-such-segment" in error.value.message
    with pytest.raises(TrackstoreError) as error:
        api.is_in("", "shoes")
    assert "device_id" in violations(error.value)
    with pytest.raises(TrackstoreError) as error:
        api.is_in("d1", *["shoes"] * 101)
    assert "segments" in violations(error.value)
    with pytest.raises(TrackstoreError) as error:
        api.is_in("d1")
    assert error.value.code == INVALID


def test_a_segment_stays_as_computed_until_a_refresh(api):
    old = api.track([view("a", "shoes"), view("b", "shoes")])
    first = shoes_segment(api)
    token = api.call("EvaluateSegment", name="shoes", page_size=1).next_page_token
    api.track([view("c", "shoes")])
    api.client.delete(api.scope, old[0])  # a's only event
    # the materialisation is as computed; a fresh evaluation sees the events as they are now
    assert api.devices("shoes") == ["a", "b"] and api.is_in("c", "shoes") == [False]
    assert api.devices("shoes", fresh=True, page_size=1) == ["b", "c"]
    fresh = api.call("EvaluateSegment", name="shoes", fresh=True)
    assert fresh.device_count == 2 and fresh.computed_at.ToDatetime() > first.computed_at.ToDatetime()
    assert api.segment("shoes").generation == first.generation  # fresh left it alone

    refreshed = api.refreshed("shoes")
    assert refreshed.generation > first.generation and refreshed.device_count == 2
    assert api.devices("shoes") == ["b", "c"]
    assert api.is_in("a", "shoes") == [False] and api.is_in("c", "shoes") == [True]
    with pytest.raises(TrackstoreError) as stale:  # a page of the generation replaced
        api.call("EvaluateSegment", name="shoes", page_size=1, page_token=token)
    assert refused(stale.value) == (grpc.StatusCode.FAILED_PRECONDITION, "CURSOR_STALE")


def test_page_tokens_are_checked(api):
    api.track([view(f"d{i}", "shoes") for i in range(3)])
    shoes_segment(api)
    token = api.call("EvaluateSegment", name="shoes", page_size=1).next_page_token
    fresh_token = api.call("EvaluateSegment", name="shoes", page_size=1,
                           fresh=True).next_page_token
    tampered = token[:-4] + ("AAAA" if token[-4:] != "AAAA" else "BBBB")
    for bad, fresh in ((tampered, False), (fresh_token, False), (token, True), ("x", False)):
        with pytest.raises(TrackstoreError) as error:
            api.call("EvaluateSegment", name="shoes", page_size=1, page_token=bad, fresh=fresh)
        assert refused(error.value) == (INVALID, "CURSOR_INVALID")
    api.call("ReplaceSegment", segment=spb.Segment(
        name="shoes", filter_definition="viewed",
        parameters={"product": value("string", "hat"), "window": WEEK}))
    with pytest.raises(TrackstoreError) as error:  # the segment changed since
        api.call("EvaluateSegment", name="shoes", page_size=1, page_token=fresh_token,
                 fresh=True)
    assert refused(error.value) == (grpc.StatusCode.FAILED_PRECONDITION, "CURSOR_STALE")


def test_replacing_a_segments_values_refreshes_it(api):
    api.track([view("s", "shoes"), view("h", "hat")])
    first = shoes_segment(api)
    replaced = api.call("ReplaceSegment", segment=spb.Segment(
        name="shoes", filter_definition="viewed", etag=first.etag, description="now hats",
        parameters={"product": value("string", "hat"), "window": WEEK})).segment
    assert replaced.etag != first.etag and replaced.create_time == first.create_time
    again = api.wait("shoes", lambda s: s.generation > first.generation)
    assert api.devices("shoes") == ["h"] and again.description == "now hats"
    # a new description or refresh interval alone does not refresh it (polls run every 0.2 s)
    api.call("ReplaceSegment", segment=spb.Segment(
        name="shoes", filter_definition="viewed", description="hats",
        refresh_interval={"seconds": 3600},
        parameters={"product": value("string", "hat"), "window": WEEK}))
    time.sleep(1.0)
    assert api.segment("shoes").generation == again.generation


def test_an_invalid_segment_is_refused_naming_the_field(api):
    api.create_definition("viewed", VIEWED, product="string", window="timespan")
    api.create_definition("types", "Events | summarize count() by EventType")
    good = {"product": value("string", "shoes"), "window": WEEK}
    cases = [
        (spb.Segment(name="x", filter_definition="missing"), grpc.StatusCode.NOT_FOUND, None),
        (spb.Segment(name="bad name", filter_definition="viewed", parameters=good), INVALID,
         "segment.name"),
        (spb.Segment(name="x", filter_definition="viewed",
                     parameters={"product": value("string", "s")}), INVALID,
         "segment.parameters[window]"),
        (spb.Segment(name="x", filter_definition="viewed",
                     parameters={**good, "window": value("string", "7d")}), INVALID,
         "segment.parameters[window]"),
        (spb.Segment(name="x", filter_definition="types"), INVALID, "segment.filter_definition"),
        (spb.Segment(name="x", filter_definition="viewed", parameters=good,
                     refresh_interval={"seconds": 59}), INVALID, "segment.refresh_interval"),
    ]
    for segment, code, field in cases:
        with pytest.raises(TrackstoreError) as error:
            api.call("CreateSegment", segment=segment)
        assert error.value.code == code, (segment, error.value)
        assert field is None or field in violations(error.value), violations(error.value)


def test_the_standard_methods_with_etags_names_and_pages(api):
    api.create_definition("viewed", VIEWED, product="string", window="timespan")
    good = {"product": value("string", "shoes"), "window": WEEK}
    created = api.call("CreateSegment", segment=spb.Segment(
        name="x", filter_definition="viewed", parameters=good,
        refresh_interval={"seconds": 3600})).segment
    assert created.refresh_interval.seconds == 3600 and created.generation == 0
    with pytest.raises(TrackstoreError) as error:
        api.call("CreateSegment", segment=created)
    assert refused(error.value) == (grpc.StatusCode.ALREADY_EXISTS, "ALREADY_EXISTS")
    default = api.create_segment("y", "viewed", **good)
    assert default.refresh_interval.seconds == 86_400
    assert [s.name for s in api.call("ListSegments", page_size=1, name_prefix="y").segments] == ["y"]
    page = api.call("ListSegments", page_size=1)
    assert [s.name for s in page.segments] == ["x"] and page.next_page_token
    assert [s.name for s in api.call("ListSegments", page_size=1,
                                     page_token=page.next_page_token).segments] == ["y"]

    with pytest.raises(TrackstoreError) as error:
        api.call("DeleteFilterDefinition", name="viewed")
    assert refused(error.value) == (grpc.StatusCode.FAILED_PRECONDITION,
                                    "FILTER_DEFINITION_IN_USE")
    assert "x, y" in error.value.message
    narrower = definition("viewed", "Events | where Payload.product == {{product}}",
                          product="string")
    with pytest.raises(TrackstoreError) as error:  # their window value would not fit
        api.call("ReplaceFilterDefinition", filter_definition=narrower)
    assert error.value.code == grpc.StatusCode.FAILED_PRECONDITION
    assert "segment 'x' uses filter definition 'viewed'" in error.value.message

    with pytest.raises(TrackstoreError) as error:
        api.call("DeleteSegment", name="x", etag="stale")
    assert refused(error.value) == (grpc.StatusCode.ABORTED, "ETAG_MISMATCH")
    api.call("DeleteSegment", name="x", etag=api.segment("x").etag)
    api.call("DeleteSegment", name="y")
    for call in (lambda: api.segment("x"), lambda: api.is_in("d", "x"),
                 lambda: api.call("RefreshSegment", name="x"),
                 lambda: api.call("EvaluateSegment", name="x")):
        with pytest.raises(TrackstoreError) as error:
            call()
        assert error.value.code == grpc.StatusCode.NOT_FOUND
    api.call("DeleteFilterDefinition", name="viewed")  # no segment uses it any more


HOSTILE = "shoes' or EventType == 'pageview' or 'x' == '"


def test_a_segments_string_values_stay_literals(api):
    api.track([view("literal", HOSTILE), view("other", "shoes")])
    api.create_definition("viewed", VIEWED, product="string", window="timespan")
    api.create_segment("odd", "viewed", product=value("string", HOSTILE), window=WEEK)
    segment = api.wait("odd", lambda s: s.generation > 0)
    assert segment.parameters["product"].string_value == HOSTILE
    assert api.devices("odd") == ["literal"]
    assert api.devices("odd", fresh=True) == ["literal"]


def test_a_failed_refresh_keeps_the_segment_and_records_why(api):
    api.track([view("d", "shoes")])
    api.create_definition("pattern", "Events | where EventType matches regex {{re}}", re="string")
    api.create_segment("p", "pattern", re=value("string", "page.*"))
    good = api.wait("p", lambda s: s.generation > 0)
    # A back-reference: Python reads it, RE2 does not, so only the refresh finds it out (a
    # pattern no engine reads, such as '(', is refused at Replace).
    api.call("ReplaceSegment", segment=spb.Segment(name="p", filter_definition="pattern",
                                                   parameters={"re": value("string", r"(a)\1")}))
    failed = api.wait("p", lambda s: s.last_error != "")
    assert failed.HasField("last_error_time") and failed.generation == good.generation
    assert api.is_in("d", "p") == [True]  # still as last computed
    api.call("ReplaceSegment", segment=spb.Segment(name="p", filter_definition="pattern",
                                                   parameters={"re": value("string", "p.*")}))
    fixed = api.wait("p", lambda s: s.generation > good.generation)
    assert fixed.last_error == "" and not fixed.HasField("last_error_time")


def test_definitions_segments_and_materialisations_survive_a_restart(start_server, tmp_path):
    server = start_server(*FAST, data_dir=tmp_path / "data")
    with Api(server) as api:
        api.track([view("kept", "shoes")])
        segment = shoes_segment(api)
    server.stop()
    logged = len(server.log())
    server = start_server(*FAST, data_dir=tmp_path / "data")
    with Api(server) as api:
        # answered at once, from the materialisation loaded at start, not a new refresh
        assert api.is_in("kept", "shoes") == [True]
        assert api.segment("shoes") == segment
        assert api.devices("shoes") == ["kept"]
        assert api.call("GetFilterDefinition", name="viewed").filter_definition.query == VIEWED
    assert "refreshed" not in server.log()[logged:]


def test_each_call_checks_the_scope_of_the_key(start_server, tmp_path):
    keys = tmp_path / "keys.toml"
    keys.write_text('[keys.shop]\nkey = "shop-secret"\nscopes = ["shop"]\n')
    server = start_server(*FAST, "--api-keys-file", str(keys))
    with Api(server, scope="shop", api_key="shop-secret") as api:
        api.track([view("d", "shoes")])
        shoes_segment(api)
        assert api.is_in("d", "shoes") == [True]
        api.scope = "elsewhere"
        for call in (lambda: api.is_in("d", "shoes"),
                     lambda: api.call("SegmentsOf", device_id="d"),
                     lambda: api.create_definition("viewed", VIEWED, product="string",
                                                   window="timespan")):
            with pytest.raises(TrackstoreError) as error:
                call()
            assert error.value.code == grpc.StatusCode.PERMISSION_DENIED
    with Api(server, scope="shop", api_key="wrong") as api:
        with pytest.raises(TrackstoreError) as error:
            api.is_in("d", "shoes")
        assert error.value.code == grpc.StatusCode.UNAUTHENTICATED


def test_membership_and_track_are_answered_while_every_pool_thread_waits(server, api):
    """IsInSegment answers on the event loop and Track waits there for its commit, so neither
    queues behind blocking calls, here client streams the clients leave open, one per pool
    thread and more (server/api/rpc.py)."""
    api.track([view("d1", "shoes")])
    shoes_segment(api)
    release = threading.Event()

    def first_message_then_wait():
        yield export_pb.ImportRequest(scope=api.scope, format=export_pb.IMPORT_FORMAT_PROFILESTORE,
                                      data=b"[]")
        release.wait(30)

    with server.channel() as channel:
        stub = export_grpc.ImportServiceStub(channel)
        imports = [stub.Import.future(first_message_then_wait(), timeout=60)
                   for _ in range(POOL_THREADS + 4)]
        try:
            time.sleep(1.0)  # every pool thread now waits for a stream's next message
            assert not any(call.done() for call in imports)
            started = time.monotonic()
            assert api.is_in("d1", "shoes") == [True]
            assert api.call("SegmentsOf", device_id="d1").segments == ["shoes"]
            assert len(api.track([view("d2", "shoes")])) == 1
            assert time.monotonic() - started < 5
        finally:
            release.set()
        assert all(call.result().imported == 0 for call in imports)
