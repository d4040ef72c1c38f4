"""The OpenAPI document against the routes really served: every route is documented and every
documented operation is served, the document is valid OpenAPI 3.1, and the real server's
answers fit the schemas it gives. The Swagger page and the console load nothing from elsewhere.
"""
from __future__ import annotations

import re

import jsonschema
import pytest
from openapi_spec_validator import validate
from starlette.routing import Route

from helpers import event
from trackstore_server.api.http.app import STATIC, create_app
from trackstore_server.api.http.calls import Edge
from trackstore_server.api.http.openapi import document

DOCUMENT = document()


def served_operations() -> set[tuple[str, str]]:
    app = create_app(Edge(None))
    return {(route.path, method) for route in app.routes
            if isinstance(route, Route) and route.include_in_schema
            for method in route.methods - {"HEAD"}}


def documented_operations() -> set[tuple[str, str]]:
    return {(path, method.upper()) for path, operations in DOCUMENT["paths"].items()
            for method in operations}


def test_every_served_route_is_documented_and_every_documented_one_served():
    assert served_operations() == documented_operations()


def test_the_document_is_valid_openapi():
    validate(DOCUMENT)


def test_the_server_serves_the_document_it_was_built_with(served):
    assert served.api.call("GET", "/openapi.json").json == DOCUMENT


def _fits(schema_or_ref: dict, value) -> None:
    jsonschema.Draft202012Validator(
        {**schema_or_ref, "components": DOCUMENT["components"]}).validate(value)


def _answer_schema(path: str, method: str, status: int) -> dict:
    answer = DOCUMENT["paths"][path][method]["responses"][str(status)]
    return answer["content"]["application/json"]["schema"]


def _calls(api):
    """(documented path, method, the real answer) for each operation, successes and errors."""
    track_id = api.track(event(1, Scope="openapi")).json["TrackId"]
    path = "/api/v2.0/TrackEvents"
    return [
        (f"{path}/track", "post", api.track(event(2, Scope="openapi"))),
        (f"{path}/track", "post", api.track([event(3, Scope="openapi")])),
        (f"{path}/track", "post", api.track([{"Nope": 1}])),
        (path, "get", api.list("openapi", top="5")),
        (path, "get", api.list("openapi", filter="EventType eq")),
        (f"{path}/preview", "post", api.preview("Events | take 3", "openapi")),
        (f"{path}/preview", "post", api.preview("Events | take", "openapi")),
        (path + "/{scope}/{id}", "delete", api.delete("openapi", track_id)),
        (path + "/{scope}/{id}", "delete", api.delete("openapi", track_id)),
        ("/openapi.json", "get", api.call("GET", "/openapi.json")),
        *_segment_calls(api),
    ]


def _segment_calls(api):
    """Each filter-definition and segment route, answering a success and then an error."""
    definitions, segments = "/api/v2.0/FilterDefinitions", "/api/v2.0/Segments"
    one, segment, scope = definitions + "/{name}", segments + "/{name}", "?scope=openapi"
    definition = {"Name": "d", "Query": "Events | where EventType == {{t}}", "Scope": "openapi",
                  "Parameters": [{"Name": "t", "Type": "string"}]}
    made = api.call("POST", definitions, definition)
    calls = [
        (definitions, "post", made),
        (definitions, "post", api.call("POST", definitions, definition)),  # taken
        (definitions, "get", api.call("GET", definitions + scope)),
        (definitions, "get", api.call("GET", definitions + scope + "&$top=x")),
        (one, "get", api.call("GET", f"{definitions}/d{scope}")),
        (one, "get", api.call("GET", f"{definitions}/nope{scope}")),
        (one, "put", api.call("PUT", f"{definitions}/d", made.json)),
        (one, "put", api.call("PUT", f"{definitions}/d", made.json)),  # a stale ETag
        (definitions + "/preview", "post", api.call("POST", definitions + "/preview", {
            "Scope": "openapi", "Name": "d", "Parameters": {"t": "pageview"}})),
        (definitions + "/preview", "post", api.call("POST", definitions + "/preview", {
            "Scope": "openapi", "Name": "d"})),
    ]
    created = api.call("POST", segments, {"Name": "s", "FilterDefinition": "d", "Scope": "openapi",
                                          "Parameters": {"t": "pageview"}})
    calls += [
        (segments, "post", created), (segments, "post", api.call("POST", segments, {"Name": "s"})),
        (segments, "get", api.call("GET", segments + scope)),
        (segments, "get", api.call("GET", segments + scope + "&nope=1")),
        (segment, "get", api.call("GET", f"{segments}/s{scope}")),
        (segment, "get", api.call("GET", f"{segments}/nope{scope}")),
        (segment, "put", api.call("PUT", f"{segments}/s", {**created.json, "Description": "x"})),
        (segment, "put", api.call("PUT", f"{segments}/s", created.json)),  # a stale ETag
        (segment + "/refresh", "post", api.call("POST", f"{segments}/s/refresh{scope}")),
        (segment + "/refresh", "post", api.call("POST", f"{segments}/nope/refresh{scope}")),
        (segment + "/devices", "get", api.call("GET", f"{segments}/s/devices{scope}&fresh=true")),
        (segment + "/devices", "get", api.call("GET", f"{segments}/nope/devices{scope}")),
        ("/api/v2.0/Devices/{id}/Segments", "get",
         api.call("GET", f"/api/v2.0/Devices/d-1/Segments{scope}&name=s")),
        ("/api/v2.0/Devices/{id}/Segments", "get",
         api.call("GET", f"/api/v2.0/Devices/d-1/Segments{scope}&name=nope")),
        (one, "delete", api.call("DELETE", f"{definitions}/d{scope}")),  # segment s uses it
        (segment, "delete", api.call("DELETE", f"{segments}/s{scope}")),
        (segment, "delete", api.call("DELETE", f"{segments}/s{scope}")),
        (one, "delete", api.call("DELETE", f"{definitions}/d{scope}")),
    ]
    return calls


def test_each_answer_fits_its_documented_status_and_schema(served):
    seen = set()
    for path, method, answer in _calls(served.api):
        _fits(_answer_schema(path, method, answer.status), answer.json)
        seen.add((path, method.upper(), "error" if answer.status >= 400 else "success"))
    # Each route answered both a success and an error; the document, a success.
    assert seen == {(path, method, outcome) for path, method in documented_operations()
                    for outcome in ("success", "error")} - {("/openapi.json", "GET", "error")}


@pytest.mark.parametrize("page", ["swagger.html", "console.html"])
def test_the_pages_load_only_this_server_s_assets(served, page):
    html = (STATIC / page).read_text()
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets and all(asset.startswith("/") for asset in assets), assets
    for asset in assets:
        assert served.api.call("GET", asset).status == 200, asset
    scripts = " ".join(p.read_text() for p in STATIC.glob("*.js"))
    assert not re.search(r"https?://", scripts)
