"""The injection corpus (tests/injection_corpus.py) through every string field of every request
of every service (walked from the descriptors), and through every string input of every HTTP
route (walked from the OpenAPI document): each call answers INVALID_ARGUMENT or treats the text
as plain data (OK, NOT_FOUND, ALREADY_EXISTS, FAILED_PRECONDITION), never INTERNAL or another
failure; the store is unchanged unless the call was a valid write, and a tracked text comes
back exactly as sent, and a query finds it by it."""
from __future__ import annotations

import json
import urllib.parse

import grpc
import pytest

from trackstore.v1 import admin_pb2 as admin_pb
from trackstore.v1 import export_pb2 as export_pb
from trackstore.v1 import trackevents_pb2 as pb
from trackstore_server.api.http import openapi

from grpc_calls import METHOD, METHODS, call, method_path
from injection_corpus import SENDABLE, kql_quoted, label
from request_fields import string_fields, with_value
from valid_requests import BASES, base_request

CLEAN = {grpc.StatusCode.OK, grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND,
         grpc.StatusCode.ALREADY_EXISTS, grpc.StatusCode.FAILED_PRECONDITION}
WRITES = {"Track", "TrackStream", "Delete", "BatchDelete", "Import", "Compact",
          "CreateExportConfiguration", "UpdateExportConfiguration",
          "DeleteExportConfiguration", "RunExportConfiguration"}
# The scopes a configuration may be written to by the corpus: the default one, and the corpus
# texts that are valid scopes (printable, at most 200 characters).
CONFIGURATION_SCOPES = ["default", *(t for t in SENDABLE if t.isprintable() and len(t) <= 200)]
CASES = [(method, path) for method in METHODS
         for path in string_fields(method.input_type)]


def state(channel, scopes=CONFIGURATION_SCOPES) -> tuple:
    """What the store holds: how many events and pending deletions, and the configurations of
    `scopes` (by default every scope the corpus names) as written."""
    figures = call(channel, METHOD["GetStoreStats"], admin_pb.GetStoreStatsRequest()).response
    configurations = []
    for scope in scopes:
        answer = call(channel, METHOD["ListExportConfigurations"],
                      export_pb.ListExportConfigurationsRequest(scope=scope))
        if answer.ok:
            configurations.append([_as_written(c) for c in answer.response.configurations])
    return figures.events, figures.pending_deletions, configurations


def _as_written(configuration) -> bytes:
    """A configuration as its writes left it: without how far the scheduler has exported
    (a due configuration runs in the background, whatever the test does)."""
    copy = type(configuration)()
    copy.CopyFrom(configuration)
    copy.ClearField("exported_until")
    return copy.SerializeToString(deterministic=True)


@pytest.fixture(scope="module")
def channel(served):
    with served.server.channel() as opened:
        create = METHOD["CreateExportConfiguration"]
        assert call(opened, create, BASES["CreateExportConfiguration"]).ok
        yield opened


def test_the_walk_finds_the_fields_of_every_service():
    services = {method.containing_service.name for method, _ in CASES}
    assert services >= {"TrackEventsService", "ExportService", "ImportService"}
    assert ("events", "payload_json") in string_fields(pb.TrackRequest.DESCRIPTOR)
    assert ("configuration", "destination", "s3", "endpoint") in string_fields(
        export_pb.CreateExportConfigurationRequest.DESCRIPTOR)


@pytest.mark.parametrize("method, path", CASES,
                         ids=[f"{m.name}:{'.'.join(p)}" for m, p in CASES])
def test_every_string_field_takes_the_corpus_cleanly(channel, method, path):
    """Every answer is clean. The store is compared before and after each refused write (in
    the scopes it could reach), and before and after the whole corpus of a read (which never
    writes)."""
    failures = []
    write, names_scope = method.name in WRITES, path[-1] == "scope"
    before_all = None if write else state(channel)  # a write's every refusal is checked
    known = state(channel, ["default"]) if write else None  # the store since the last write
    for text in SENDABLE:
        request = with_value(base_request(method), path, text)
        # a write reaches the default scope, and the scope it names when this text is one
        reachable = ["default", *([text] if names_scope and text in CONFIGURATION_SCOPES
                                  else [])]
        before = state(channel, reachable) if write and names_scope else known
        answer = call(channel, method, request)
        if answer.code not in CLEAN:
            failures.append((label(text), answer.code.name, answer.message[:200]))
        elif write and answer.ok:
            known = state(channel, ["default"])
        elif write and state(channel, reachable) != before:
            failures.append((label(text), "a refused write changed the store"))
    if not write and state(channel) != before_all:
        failures.append(("the corpus", "changed the store without a write"))
    assert failures == [], f"{method_path(method)} {'.'.join(path)}"


@pytest.mark.parametrize("field", ["event_type", "value", "device_id", "page_title", "city"])
def test_a_tracked_corpus_text_is_stored_exactly_and_found_by_it(channel, field):
    scope = f"corpus-{field}"
    for text in SENDABLE:
        if "\0" in text:
            continue
        event = pb.TrackEvent(**({"event_type": "x"} | {field: text}))
        tracked = call(channel, METHOD["Track"], pb.TrackRequest(scope=scope, events=[event]))
        assert tracked.ok, (label(text), tracked)
        column = "".join(part.title() for part in field.split("_"))
        query = (f"Events | where {column} == {kql_quoted(text)} and TrackId == "
                 f"{kql_quoted(tracked.response.track_ids[0])} | project {column}")
        found = call(channel, METHOD["Preview"], pb.PreviewRequest(scope=scope, query=query))
        assert found.ok, (label(text), found)
        assert [item[column] for item in found.response.items] == [text], label(text)


# -- HTTP ---------------------------------------------------------------------------------------

def http_inputs() -> list[tuple[str, str, str, str]]:
    """(method, path, where, name) of every string input of every documented API route."""
    document = openapi.document()
    inputs = []
    for path, operations in document["paths"].items():
        for verb, operation in operations.items():
            for parameter in operation.get("parameters", []):
                # A header (If-Match) is left out: http.client refuses CR, LF and NUL in one
                # before it is sent, and the server reads it as an etag only.
                if parameter.get("schema", {}).get("type") == "string" and \
                        parameter["in"] != "header":
                    inputs.append((verb.upper(), path, parameter["in"], parameter["name"]))
            for name in _body_strings(document, operation):
                inputs.append((verb.upper(), path, "body", name))
    return inputs


def _body_strings(document, operation) -> list[str]:
    content = operation.get("requestBody", {}).get("content", {})
    schema = next(iter(content.values()), {}).get("schema", {})
    schema = (schema.get("oneOf") or [schema])[0]
    if "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return [name for name, spec in schema.get("properties", {}).items()
            if "string" in (spec.get("type") if isinstance(spec.get("type"), list)
                            else [spec.get("type")]) and spec.get("format") != "date-time"]


HTTP_BASES = {"/api/v2.0/TrackEvents/preview": {"Query": "Events | count"},
              "/api/v2.0/TrackEvents/track": {"EventType": "injection"},
              "/api/v2.0/FilterDefinitions": {"Name": "injection", "Query": "Events | take 1"},
              "/api/v2.0/FilterDefinitions/preview": {"Name": "no-such-name"},
              "/api/v2.0/FilterDefinitions/{name}": {"Query": "Events | take 1"},
              "/api/v2.0/Segments": {"Name": "injection", "FilterDefinition": "no-such-name"},
              "/api/v2.0/Segments/{name}": {"FilterDefinition": "no-such-name"}}
# 201 a create, 202 a refresh started, 409 a name taken (the corpus creates one definition)
CLEAN_STATUSES = (200, 201, 202, 400, 404, 409)
HTTP_CASES = http_inputs()


def http_call(api, verb: str, path: str, where: str, name: str, text: str):
    params = {"scope": "default", "id": "no-such-event", "name": "no-such-name"}
    query = {}
    body = dict(HTTP_BASES.get(path, {})) if verb in ("POST", "PUT") else None
    if where == "path":
        params[name] = text
    elif where == "query":
        query[name] = text
    else:
        body[name] = text
    route = path.format(**{k: urllib.parse.quote(v, safe="") for k, v in params.items()})
    if query:
        route += "?" + urllib.parse.urlencode(query)
    raw = None if body is None else json.dumps(body).encode()
    return api.call(verb, route, raw=raw, headers={"Content-Type": "application/json"})


def test_the_walk_finds_the_inputs_of_every_route():
    assert {(verb, path) for verb, path, _, _ in HTTP_CASES} >= {
        ("GET", "/api/v2.0/TrackEvents"), ("POST", "/api/v2.0/TrackEvents/track"),
        ("POST", "/api/v2.0/TrackEvents/preview"), ("DELETE", "/api/v2.0/TrackEvents/{scope}/{id}")}


@pytest.mark.parametrize("verb, path, where, name", HTTP_CASES,
                         ids=[f"{v}:{p}:{n}" for v, p, _, n in HTTP_CASES])
def test_every_http_input_takes_the_corpus_cleanly(served, channel, verb, path, where, name):
    failures, wrote = [], False
    before = state(channel)
    for text in SENDABLE:
        answer = http_call(served.api, verb, path, where, name, text)
        if answer.status not in CLEAN_STATUSES:
            failures.append((label(text), answer.status, answer.body[:200]))
        wrote = wrote or (answer.status in (200, 201) and verb in ("POST", "PUT", "DELETE")
                          and not path.endswith("preview"))
    if not wrote and state(channel) != before:
        failures.append(("the corpus", "changed the store without a write"))
    assert failures == []
