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
    ]


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
