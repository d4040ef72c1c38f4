"""The Profile Store's track-event routes through the real server's HTTP port: each route with
its success and its error statuses, including the Profile Store's own documented examples."""
from __future__ import annotations

import json
import pathlib
import re

import pytest

from http_support import start_http_server
from helpers import event

ROOT = pathlib.Path(__file__).resolve().parents[2]
SEED = ROOT.parent / "shared" / "seeds" / "optimizely-profile-store-track-events.txt"
EXAMPLE_EVENTS = [json.loads(line) for line in (ROOT / "examples" / "events.ndjson").open()]
PROFILE_STORE_FIELDS = ["TrackId", "DeviceId", "EventType", "Value", "Scope", "PageUri",
                        "PageTitle", "RemoteAddress", "SessionId", "User", "Payload",
                        "CountryCode", "City", "EventTime"]
# The documented preview request, as the seed document writes it: a KQL query over several
# lines inside a JSON string, sent as application/json-patch+json.
DOCUMENTED_PREVIEW = b"""{
  "Query" : "Events
    | where EventTime between (todatetime('2019-01-01') .. endofday(now()))
        and EventType == 'pageview'
        and User.Email != ''
    | take 2",
  "Scope" : "default"
}"""
TICKS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z$")


def _error(answer, status: int, code: str, reason: str | None = None) -> dict:
    assert answer.status == status, answer.body
    assert answer.headers["content-type"] == "application/json"
    error = answer.error
    assert error["code"] == code and error["message"]
    assert error["innererror"]["code"] == (reason or code)
    return error


# -- the seed document's own examples --------------------------------------------------------

def test_the_documented_preview_request_returns_its_two_events(served):
    if SEED.exists():  # the request above is the seed document's, line for line
        assert b"Content-Type: application/json-patch+json" in SEED.read_bytes()
    tracked = served.api.track(EXAMPLE_EVENTS)
    assert tracked.status == 200 and tracked.json["count"] == len(EXAMPLE_EVENTS)
    answer = served.api.call("POST", "/api/v2.0/TrackEvents/preview", raw=DOCUMENTED_PREVIEW,
                             headers={"Content-Type": "application/json-patch+json",
                                      "accept": "application/json"})
    assert answer.status == 200, answer.body
    found = answer.json
    assert found["count"] == 2 and len(found["items"]) == 2
    assert [item["DeviceId"] for item in found["items"]] == [
        "558356a7-86d2-4ca7-9c00-c01c46d81111", "558356a7-86d2-4ca7-9c00-c01c46d82222"]
    first = found["items"][0]
    assert list(first) == PROFILE_STORE_FIELDS
    assert first["User"] == {"Email": "john@example.com", "Name": "John Smith"}
    # The Profile Store's spelling of times: seven fractional digits (the store keeps µs).
    assert first["EventTime"] == "2020-01-23T21:27:49.3361000Z"


def test_a_delete_of_an_unknown_id_is_404(served):
    answer = served.api.delete("default", "no-such-track-id")
    error = _error(answer, 404, "NOT_FOUND")
    assert "no-such-track-id" in error["message"]


def test_the_pending_deletion_limit_is_429_with_retry_after(tmp_path):
    running = start_http_server(tmp_path / "data", "--max-pending-deletes", "2",
                                "--delete-retry-seconds", "42")
    try:
        ids = [item["TrackId"] for item in
               running.api.track([event(i) for i in range(3)]).json["items"]]
        with running.server.client() as client:
            client.compact()  # flushes: deletions of events in the lake wait for compaction
        assert [running.api.delete("default", i).status for i in ids[:2]] == [200, 200]
        refused = running.api.delete("default", ids[2])
        error = _error(refused, 429, "RESOURCE_EXHAUSTED", "TOO_MANY_PENDING_DELETES")
        assert refused.headers["retry-after"] == "42"
        assert error["innererror"]["retryAfterSeconds"] == 42
        # The refused event is untouched.
        assert running.api.list(filter=f"TrackId eq '{ids[2]}'").json["count"] == 1
    finally:
        running.server.stop()


# -- POST api/v2.0/TrackEvents/track ------------------------------------------------------------

def test_track_one_event_answers_its_track_id_and_stores_it(served):
    sent = {"eventType": "home", "deviceId": "d-1", "Scope": "track-one",
            "payload": {"name": "Home page", "contentTypeID": 170},
            "EventTime": "2017-09-15T07:16:34.7957819Z"}
    answer = served.api.track(sent)
    assert answer.status == 200, answer.body
    track_id = answer.json["TrackId"]
    listed = served.api.list("track-one").json
    assert listed["count"] == 1
    stored = listed["items"][0]
    assert stored["TrackId"] == track_id and stored["Scope"] == "track-one"
    assert (stored["EventType"], stored["DeviceId"]) == ("home", "d-1")
    assert stored["Payload"] == {"name": "Home page", "contentTypeID": 170}
    assert stored["EventTime"] == "2017-09-15T07:16:34.7957810Z"


def test_track_an_array_answers_the_track_ids_in_order(served):
    events = [event(i, Scope="track-many", TrackId=f"id-{i}") for i in range(3)]
    answer = served.api.track(events)
    assert answer.status == 200
    assert answer.json == {"items": [{"TrackId": f"id-{i}"} for i in range(3)], "count": 3}
    time_only = served.api.track([{"EventType": "x", "Scope": "track-many"}]).json
    assert TICKS.match(served.api.list("track-many", filter="EventType eq 'x'").json[
        "items"][0]["EventTime"]) and time_only["count"] == 1


@pytest.mark.parametrize("body, target, words", [
    ([{"EventType": "a", "Colour": "red"}], "events[0].Colour", "unknown field 'Colour'"),
    ([{"EventType": "a"}, {"EventTime": "yesterday"}], "events[1].EventTime", "RFC 3339"),
    ([{"EventType": "a", "eventtype": "b"}], "events[0].eventtype", "repeats"),
    ({"Payload": [1, 2]}, "event.Payload", "must be a JSON object"),
    ([{"Scope": "a"}, {"Scope": "b"}], "Scope", "must share a Scope"),
    ("just text", "body", "an event (a JSON object) or an array"),
])
def test_track_refuses_a_bad_body_whole_naming_the_part(served, body, target, words):
    if isinstance(body, list):
        body = [dict(e, Scope=e.get("Scope", "track-bad"), Value="must not be stored")
                for e in body]
    error = _error(served.api.track(body), 400, "INVALID_ARGUMENT",
                   "INVALID_ARGUMENT" if target in ("Scope", "body") else "INVALID_EVENT")
    assert error["target"] == target and words in error["message"]
    assert served.api.list("track-bad").json["count"] == 0


def test_track_refuses_a_body_that_is_not_json(served):
    answer = served.api.call("POST", "/api/v2.0/TrackEvents/track", raw=b'{"EventType": }',
                             headers={"Content-Type": "application/json"})
    error = _error(answer, 400, "INVALID_ARGUMENT")
    assert error["target"] == "body" and "line 1, column 15" in error["message"]
    form = served.api.call("POST", "/api/v2.0/TrackEvents/track", raw=b"a=1",
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert _error(form, 400, "INVALID_ARGUMENT")["target"] == "Content-Type"


def test_track_refuses_more_events_than_a_batch_holds(served):
    error = _error(served.api.track([{"EventType": "x"}] * 10_001), 400, "INVALID_ARGUMENT",
                   "BATCH_TOO_LARGE")
    assert "at most 10000 events" in error["message"]


# -- GET api/v2.0/TrackEvents ----------------------------------------------------------------

def test_list_filters_orders_and_pages(served):
    served.api.track([event(i, Scope="listing", TrackId=f"l-{i:03d}") for i in range(105)])
    page = served.api.list("listing", filter="EventType eq 'pageview'", orderby="TrackId",
                           skip="2", top="3").json
    assert [item["TrackId"] for item in page["items"]] == ["l-004", "l-006", "l-008"]
    assert page["count"] == 3
    assert served.api.list("listing").json["count"] == 100  # $top is 100 by default


@pytest.mark.parametrize("options, target", [
    ({"filter": "EventType eq"}, "$filter"),
    ({"orderby": "NoSuchField desc"}, "$orderby"),
    ({"top": "ten"}, "$top"),
    ({"skip": "9990", "top": "10"}, "$top"),
    ({"skip": "-1"}, "$skip"),
    ({"select": "TrackId"}, "$select"),
])
def test_list_refuses_bad_options_naming_them(served, options, target):
    error = _error(served.api.list("listing", **options), 400, "INVALID_ARGUMENT",
                   "QUERY_INVALID" if target in ("$filter", "$orderby") else None)
    assert error["target"] == target
    if target == "$filter":
        assert error["innererror"]["line"] == 1 and error["innererror"]["column"] >= 11


# -- POST api/v2.0/TrackEvents/preview -----------------------------------------------------------

def test_preview_answers_items_count_columns_and_truncation(served):
    served.api.track([event(i, Scope="previewing") for i in range(60)])
    answer = served.api.preview(
        "Events | summarize n = count() by EventType | sort by EventType asc", "previewing").json
    assert answer["items"] == [{"EventType": "pageview", "n": 30},
                               {"EventType": "purchase", "n": 30}]
    assert answer["columns"] == [{"name": "EventType", "type": "string"},
                                 {"name": "n", "type": "long"}]
    assert answer["count"] == 2 and answer["truncated"] is False
    many = served.api.preview("Events", "previewing").json  # --preview-max-rows 50
    assert many["count"] == 50 and many["truncated"] is True


def test_preview_error_gives_line_and_column(served):
    error = _error(served.api.preview("Events\n| where NoSuchColumn == 1", "previewing"), 400,
                   "INVALID_ARGUMENT", "QUERY_INVALID")
    assert error["target"] == "Query"
    assert (error["innererror"]["line"], error["innererror"]["column"]) == (2, 9)
    assert error["message"].startswith("line 2, column 9: ")
    assert error["details"] == [{"code": "QUERY_INVALID", "target": "Query",
                                 "message": error["message"]}]


@pytest.mark.parametrize("body, target", [
    ({"Scope": "previewing"}, "Query"),
    ({"Query": "Events", "Top": 3}, "Top"),
    (["Events"], "body"),
    ({"Query": "Events", "Scope": "x" * 201}, "Scope"),
])
def test_preview_refuses_a_bad_request_naming_the_field(served, body, target):
    answer = served.api.call("POST", "/api/v2.0/TrackEvents/preview", body)
    assert _error(answer, 400, "INVALID_ARGUMENT")["target"] == target


# -- DELETE api/v2.0/TrackEvents/{scope}/{id} ---------------------------------------------------

def test_delete_removes_the_event_from_every_read(served):
    served.api.track([event(1, Scope="deleting", TrackId="del-1"),
                      event(2, Scope="deleting", TrackId="del-2")])
    answer = served.api.delete("deleting", "del-1")
    assert answer.status == 200 and answer.json == {"TrackId": "del-1", "Scope": "deleting"}
    assert [i["TrackId"] for i in served.api.list("deleting").json["items"]] == ["del-2"]
    assert served.api.preview("Events | count", "deleting").json["items"] == [{"Count": 1}]
    assert served.api.delete("deleting", "del-1").status == 404  # once


# -- every route: the key and its scopes, and what no route serves ------------------------------

ROUTE_CALLS = [
    ("track", lambda api, **k: api.track([{"EventType": "x", "Scope": "shop"}], **k)),
    ("list", lambda api, **k: api.call("GET", "/api/v2.0/TrackEvents?scope=shop", **k)),
    ("preview", lambda api, **k: api.preview("Events | count", "shop", **k)),
    ("delete", lambda api, **k: api.delete("shop", "nope", **k)),
]


@pytest.mark.parametrize("name, send", ROUTE_CALLS, ids=[name for name, _ in ROUTE_CALLS])
def test_every_route_needs_a_key_allowed_the_scope(keyed, name, send):
    missing = send(keyed.api)
    _error(missing, 401, "UNAUTHENTICATED", "API_KEY_INVALID")
    assert missing.headers["www-authenticate"].startswith("epi-single")
    _error(send(keyed.api, key="wrong"), 401, "UNAUTHENTICATED", "API_KEY_INVALID")
    admin = send(keyed.api, key="admin-secret")
    assert admin.status == (404 if name == "delete" else 200), admin.body
    assert send(keyed.api, key="web-secret").status == admin.status
    other_scope = keyed.api.preview("Events | count", "private", key="web-secret")
    _error(other_scope, 403, "PERMISSION_DENIED", "SCOPE_NOT_ALLOWED")


def test_the_pages_and_the_document_need_no_key(keyed):
    for path in ("/", "/swagger", "/openapi.json", "/static/console.js"):
        assert keyed.api.call("GET", path).status == 200, path


def test_what_no_route_serves_is_answered_in_the_same_error_shape(served):
    unknown = served.api.call("GET", "/api/v2.0/Nothing")
    assert unknown.status == 404 and unknown.error["code"] == "NOT_FOUND"
    wrong_method = served.api.call("PUT", "/api/v2.0/TrackEvents/track")
    assert wrong_method.status == 405 and wrong_method.error["code"] == "METHOD_NOT_ALLOWED"


def test_each_call_writes_one_access_log_line_without_contents_or_keys(keyed):
    keyed.api.track([{"EventType": "logged", "Scope": "shop", "Value": "secret-value-xyz"}],
                    key="web-secret")
    keyed.api.delete("shop", "nope", key="web-secret")
    log = keyed.server.log()
    assert "secret-value-xyz" not in log and "web-secret" not in log
    calls = [json.loads(line.split("trackstore.access ", 1)[1])
             for line in log.splitlines() if "trackstore.access " in line]
    assert [(c["method"], c["transport"], c["scope"], c["status"], c["rows"])
            for c in calls[-2:]] == [("Track", "http", "shop", "OK", 1),
                                     ("Delete", "http", "shop", "NOT_FOUND", 0)]
