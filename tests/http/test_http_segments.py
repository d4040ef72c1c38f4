"""The filter-definition and segment routes of the HTTP API against a real server: the same domain
layer as gRPC (what one writes the other reads), the Profile Store's JSON shapes, values typed by
their definition, and every error through the one status table."""
from __future__ import annotations

import datetime as dt
import time
from urllib.parse import quote

import pytest

import trackstore

DEFINITIONS = "/api/v2.0/FilterDefinitions"
SEGMENTS = "/api/v2.0/Segments"
QUERY = "Events | where EventType == {{eventType}} and EventTime > ago({{window}})"
DEFINITION = {"Name": "buyers", "Description": "bought lately", "Category": "sales",
              "Query": QUERY, "Parameters": [{"Name": "eventType", "Type": "string"},
                                             {"Name": "window", "Type": "timespan"}]}
NOW = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def events(scope: str) -> list[dict]:
    recent, old = (NOW - dt.timedelta(days=1)).isoformat(), (NOW - dt.timedelta(days=60))
    return [{"DeviceId": "d-1", "EventType": "purchase", "EventTime": recent, "Scope": scope},
            {"DeviceId": "d-2", "EventType": "purchase", "EventTime": old.isoformat(),
             "Scope": scope},
            {"DeviceId": "d-3", "EventType": "pageview", "EventTime": recent, "Scope": scope}]


def with_scope(path: str, scope: str) -> str:
    return f"{path}{'&' if '?' in path else '?'}scope={quote(scope)}"


def wait_computed(api, scope: str, name: str) -> dict:
    deadline = time.monotonic() + 60
    while True:
        segment = api.call("GET", with_scope(f"{SEGMENTS}/{name}", scope)).json
        if segment["ComputedAt"]:
            return segment
        assert time.monotonic() < deadline, segment
        time.sleep(0.1)


def test_a_definition_from_create_to_delete(served):
    api, scope = served.api, "http-definitions"
    created = api.call("POST", DEFINITIONS, {**DEFINITION, "Scope": scope})
    assert created.status == 201
    assert created.json | {"ETag": "", "CreateTime": "", "UpdateTime": ""} == {
        **DEFINITION, "Type": "Events", "Scope": scope, "ETag": "", "CreateTime": "",
        "UpdateTime": ""}
    assert created.json["CreateTime"].endswith("0Z")  # seven fractional digits, as .NET
    got = api.call("GET", with_scope(f"{DEFINITIONS}/buyers", scope))
    assert got.status == 200 and got.json == created.json
    again = api.call("POST", DEFINITIONS, {**DEFINITION, "Scope": scope})
    assert again.status == 409 and again.error["code"] == "ALREADY_EXISTS"

    replaced = api.call("PUT", f"{DEFINITIONS}/buyers", {**got.json, "Category": "shop"},
                        headers={"If-Match": f'"{got.json["ETag"]}"'})
    assert replaced.status == 200 and replaced.json["Category"] == "shop"
    stale = api.call("PUT", f"{DEFINITIONS}/buyers", {**got.json, "Category": "x"})
    assert stale.status == 409 and stale.error["code"] == "ABORTED"
    contradicts = api.call("PUT", f"{DEFINITIONS}/buyers", {**DEFINITION, "Name": "other"})
    assert contradicts.status == 400 and contradicts.error["target"] == "Name"

    deleted = api.call("DELETE", with_scope(f"{DEFINITIONS}/buyers", scope))
    assert deleted.status == 200 and deleted.json == {"Name": "buyers", "Scope": scope}
    gone = api.call("GET", with_scope(f"{DEFINITIONS}/buyers", scope))
    assert gone.status == 404 and gone.error["code"] == "NOT_FOUND"


def test_definitions_list_in_pages_by_name(served):
    api, scope = served.api, "http-definition-pages"
    for name in ("b-2", "a-1", "b-1"):
        assert api.call("POST", DEFINITIONS, {"Name": name, "Query": "Events | take 1",
                                              "Scope": scope}).status == 201
    first = api.call("GET", with_scope(f"{DEFINITIONS}?namePrefix=b-&$top=1", scope)).json
    assert [d["Name"] for d in first["items"]] == ["b-1"] and first["nextPageToken"]
    second = api.call("GET", with_scope(
        f"{DEFINITIONS}?namePrefix=b-&$top=1&pageToken={quote(first['nextPageToken'])}",
        scope)).json
    assert [d["Name"] for d in second["items"]] == ["b-2"] and second["count"] == 1
    bad = api.call("GET", with_scope(f"{DEFINITIONS}?$skip=1", scope))
    assert bad.status == 400 and bad.error["target"] == "$skip"


@pytest.mark.parametrize("body, target, words", [
    ({**DEFINITION, "Query": "Events\n| where EventType == {{kind}}"}, "Query",
     "not a declared parameter"),
    ({**DEFINITION, "Type": "Profiles"}, "Type", "Profiles definitions are not supported"),
    ({**DEFINITION, "Parameters": [{"Name": "eventType", "Type": "text"}]}, "Parameters[0].Type",
     "must be one of"),
    ({**DEFINITION, "Nope": 1}, "Nope", "is not a field here"),
    ({**DEFINITION, "Name": "no spaces"}, "Name", "letters, digits"),
])
def test_an_invalid_definition_names_its_field(served, body, target, words):
    answer = served.api.call("POST", DEFINITIONS, {**body, "Scope": "http-invalid"})
    assert answer.status == 400, answer.json
    assert answer.error["target"] == target and words in answer.error["message"]


def test_a_query_error_is_at_its_place_in_the_template(served):
    body = {**DEFINITION, "Query": "Events\n| wher EventType == {{eventType}}",
            "Parameters": [{"Name": "eventType", "Type": "string"}], "Scope": "http-invalid"}
    answer = served.api.call("POST", DEFINITIONS, body)
    assert answer.status == 400 and answer.error["target"] == "Query"
    assert (answer.error["innererror"]["line"], answer.error["innererror"]["column"]) == (2, 3)


def test_preview_runs_a_stored_or_an_inline_definition_with_typed_values(served):
    api, scope = served.api, "http-preview"
    api.track(events(scope))
    api.call("POST", DEFINITIONS, {**DEFINITION, "Scope": scope})
    stored = api.call("POST", f"{DEFINITIONS}/preview", {
        "Scope": scope, "Name": "buyers",
        "Parameters": {"eventType": "purchase", "window": "7.00:00:00"}})
    assert stored.status == 200 and [i["DeviceId"] for i in stored.json["items"]] == ["d-1"]
    hostile = "purchase' or 1 == 1 | take 100 //"
    literal = api.call("POST", f"{DEFINITIONS}/preview", {
        "Scope": scope, "Name": "buyers", "Parameters": {"eventType": hostile, "window": "30d"}})
    assert literal.status == 200 and literal.json["count"] == 0  # one string, matching nothing
    inline = api.call("POST", f"{DEFINITIONS}/preview", {
        "Scope": scope, "Definition": {"Query": "Events | where DeviceId == {{d}} | count",
                                       "Parameters": [{"Name": "d", "Type": "string"}]},
        "Parameters": {"d": "d-3"}})
    assert inline.status == 200 and inline.json["items"] == [{"Count": 1}]
    wrong = api.call("POST", f"{DEFINITIONS}/preview", {
        "Scope": scope, "Name": "buyers", "Parameters": {"eventType": 3, "window": "soon"}})
    assert wrong.status == 400 and wrong.error["target"] == "Parameters[window]"
    assert "'soon' is not a timespan" in wrong.error["message"]


def test_a_segment_over_http_is_the_segment_grpc_sees(served):
    api, scope = served.api, "http-segments"
    api.track(events(scope))
    api.call("POST", DEFINITIONS, {**DEFINITION, "Scope": scope})
    created = api.call("POST", SEGMENTS, {
        "Name": "recent-buyers", "FilterDefinition": "buyers", "Scope": scope,
        "Parameters": {"eventType": "purchase", "window": "7d"}, "RefreshInterval": "01:00:00"})
    assert created.status == 201, created.json
    assert created.json["Parameters"] == {"eventType": "purchase", "window": "7.00:00:00"}
    assert created.json["RefreshInterval"] == "01:00:00"
    computed = wait_computed(api, scope, "recent-buyers")
    assert computed["DeviceCount"] == 1 and computed["Generation"] > 0
    devices = api.call("GET", with_scope(f"{SEGMENTS}/recent-buyers/devices", scope)).json
    assert devices["items"] == [{"DeviceId": "d-1"}] and devices["DeviceCount"] == 1
    with trackstore.Client(served.server.target, scope=scope) as client:
        assert client.get_segment("recent-buyers")["etag"] == computed["ETag"]
        assert client.is_in_segment("d-1", ["recent-buyers"]) == {"recent-buyers": True}
    listed = api.call("GET", with_scope(SEGMENTS, scope)).json
    assert [s["Name"] for s in listed["items"]] == ["recent-buyers"]

    asked = api.call("GET", with_scope("/api/v2.0/Devices/d-1/Segments?name=recent-buyers",
                                       scope))
    assert asked.json == {"items": [{"Name": "recent-buyers", "IsIn": True}], "count": 1}
    holding = api.call("GET", with_scope("/api/v2.0/Devices/d-2/Segments", scope))
    assert holding.json == {"items": [], "count": 0}
    unknown = api.call("GET", with_scope("/api/v2.0/Devices/d-1/Segments?name=nope", scope))
    assert unknown.status == 404

    started = api.call("POST", with_scope(f"{SEGMENTS}/recent-buyers/refresh", scope))
    assert started.status == 202 and started.json["RequestTime"].endswith("Z")
    fresh = api.call("GET", with_scope(f"{SEGMENTS}/recent-buyers/devices?fresh=true", scope))
    assert fresh.json["items"] == [{"DeviceId": "d-1"}]
    current = api.call("GET", with_scope(f"{SEGMENTS}/recent-buyers", scope)).json
    widened = api.call("PUT", f"{SEGMENTS}/recent-buyers", {
        **current, "ETag": None, "Parameters": {"eventType": "purchase", "window": "90d"}},
        headers={"If-Match": current["ETag"]})
    assert widened.status == 200 and widened.json["Parameters"]["window"] == "90.00:00:00"
    in_use = api.call("DELETE", with_scope(f"{DEFINITIONS}/buyers", scope))
    assert in_use.status == 400 and in_use.error["code"] == "FAILED_PRECONDITION"
    assert "recent-buyers" in in_use.error["message"]


def test_segment_errors_name_their_fields(served):
    api, scope = served.api, "http-segment-errors"
    api.call("POST", DEFINITIONS, {**DEFINITION, "Scope": scope})
    bad_value = api.call("POST", SEGMENTS, {
        "Name": "s", "FilterDefinition": "buyers", "Scope": scope,
        "Parameters": {"eventType": 7, "window": "7d"}})
    assert bad_value.status == 400 and bad_value.error["target"] == "Parameters[eventType]"
    short = api.call("POST", SEGMENTS, {
        "Name": "s", "FilterDefinition": "buyers", "Scope": scope, "RefreshInterval": 5,
        "Parameters": {"eventType": "purchase", "window": "7d"}})
    assert short.status == 400 and short.error["target"] == "RefreshInterval"
    missing = api.call("GET", with_scope(f"{SEGMENTS}/nope/devices", scope))
    assert missing.status == 404
    flag = api.call("GET", with_scope(f"{SEGMENTS}/nope/devices?fresh=maybe", scope))
    assert flag.status == 400 and flag.error["target"] == "fresh"


def test_keys_and_scopes_hold_for_these_routes(keyed):
    api = keyed.api
    assert api.call("GET", f"{DEFINITIONS}?scope=shop").status == 401
    assert api.call("GET", f"{DEFINITIONS}?scope=shop", key="web-secret").status == 200
    other = api.call("POST", SEGMENTS, {"Name": "s", "FilterDefinition": "d", "Scope": "other"},
                     key="web-secret")
    assert other.status == 403 and other.error["code"] == "PERMISSION_DENIED"
