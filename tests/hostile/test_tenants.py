"""Tenants kept apart (issue 20), through a real server with a keys file: every method of every
service and every HTTP route refuses a missing, a wrong and a wrong-scope key (walked from the
descriptors and the OpenAPI document); nothing of one scope reaches another through errors,
counts, cursors or configuration names; a key's max_queries and requests_per_second refuse
with RESOURCE_EXHAUSTED and RetryInfo; one key's pile of queries does not starve another's;
and keys rotate without a restart, on SIGHUP and when the file changes."""
from __future__ import annotations

import ctypes
import json
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest

from trackstore.v1 import export_pb2 as export_pb
from trackstore.v1 import trackevents_pb2 as pb
from trackstore_server.api.http import openapi
from http_support import HttpApi, start_http_server

from grpc_calls import METHOD, METHODS, call, method_path
from request_fields import string_fields, with_value
from valid_requests import BASES, base_request

ENDLESS = "range x from 1 to 1000000000000 step 1 | where x % 7 == 3 | count"
SLOTS = 3  # queries the server runs at once (--max-concurrent-queries)
A, B = "tenant-a", "tenant-b"
KEYS = {  # name -> (key, scopes, settings)
    "admin": ("admin-secret", ["*"], {}),
    "a": ("a-secret", [A], {}),
    "b": ("b-secret", [B], {}),
    "budget": ("budget-secret", [A], {"max_queries": 2}),
    "hasty": ("hasty-secret", [A], {"requests_per_second": 2}),
}
SCOPED = [(m, [p for p in string_fields(m.input_type) if p[-1] == "scope"]) for m in METHODS]


def _named_routes(base: str, body: dict) -> dict:
    """GET, PUT and DELETE of a filter definition or segment that does not exist (404)."""
    return {"GET": lambda s: ("GET", f"{base}/none?scope={s}", None),
            "PUT": lambda s: ("PUT", f"{base}/none", {**body, "Scope": s}),
            "DELETE": lambda s: ("DELETE", f"{base}/none?scope={s}", None)}


# Every route of the HTTP API but the open OpenAPI document, as a call in `scope`.
HTTP_ROUTES = {
    ("GET", "/api/v2.0/TrackEvents"): lambda s: ("GET", f"/api/v2.0/TrackEvents?scope={s}", None),
    ("POST", "/api/v2.0/TrackEvents/track"): lambda s: (
        "POST", "/api/v2.0/TrackEvents/track", {"EventType": "x", "Scope": s}),
    ("POST", "/api/v2.0/TrackEvents/preview"): lambda s: (
        "POST", "/api/v2.0/TrackEvents/preview", {"Query": "Events | count", "Scope": s}),
    ("DELETE", "/api/v2.0/TrackEvents/{scope}/{id}"): lambda s: (
        "DELETE", f"/api/v2.0/TrackEvents/{s}/no-such-event", None),
    **{(verb, path): call for path, calls in {
        # Filter definitions and segments (server/api/http/segments.py)
        "/api/v2.0/FilterDefinitions": {
            "POST": lambda s: ("POST", "/api/v2.0/FilterDefinitions",
                               {"Name": "tenant", "Query": "Events | take 1", "Scope": s}),
            "GET": lambda s: ("GET", f"/api/v2.0/FilterDefinitions?scope={s}", None)},
        "/api/v2.0/FilterDefinitions/preview": {
            "POST": lambda s: ("POST", "/api/v2.0/FilterDefinitions/preview",
                               {"Definition": {"Query": "Events | take 1"}, "Scope": s})},
        "/api/v2.0/Segments": {
            "POST": lambda s: ("POST", "/api/v2.0/Segments",
                               {"Name": "tenant", "FilterDefinition": "none", "Scope": s}),
            "GET": lambda s: ("GET", f"/api/v2.0/Segments?scope={s}", None)},
        "/api/v2.0/Segments/{name}/refresh": {
            "POST": lambda s: ("POST", f"/api/v2.0/Segments/none/refresh?scope={s}", None)},
        "/api/v2.0/Segments/{name}/devices": {
            "GET": lambda s: ("GET", f"/api/v2.0/Segments/none/devices?scope={s}", None)},
        "/api/v2.0/Devices/{id}/Segments": {
            "GET": lambda s: ("GET", f"/api/v2.0/Devices/d-1/Segments?scope={s}", None)},
        **{f"{base}/{{name}}": _named_routes(base, body) for base, body in (
            ("/api/v2.0/FilterDefinitions", {"Query": "Events | take 1"}),
            ("/api/v2.0/Segments", {"FilterDefinition": "none"}))},
    }.items() for verb, call in calls.items()},
}


def key_file_text(keys: dict) -> str:
    return "".join(
        f"[keys.{name}]\nkey = {json.dumps(key)}\nscopes = {json.dumps(scopes)}\n"
        + "".join(f"{k} = {v}\n" for k, v in settings.items())
        for name, (key, scopes, settings) in keys.items())


def auth(name_or_key: str) -> tuple:
    key = KEYS[name_or_key][0] if name_or_key in KEYS else name_or_key
    return (("authorization", f"epi-single {key}"),)


@pytest.fixture(scope="module")
def keyed(tmp_path_factory):
    directory = tmp_path_factory.mktemp("tenants")
    (directory / "keys.toml").write_text(key_file_text(KEYS))
    running = start_http_server(directory / "data", "--api-keys-file",
                                str(directory / "keys.toml"),
                                "--max-concurrent-queries", str(SLOTS))
    yield running
    running.server.stop()


@pytest.fixture(scope="module")
def channel(keyed):
    with keyed.server.channel() as opened:
        yield opened


def test_the_walks_find_every_service_and_route():
    assert {m.containing_service.name for m in METHODS} >= {
        "TrackEventsService", "AdminService", "ExportService", "ImportService"}
    document = openapi.document()
    routes = {(verb.upper(), path) for path, operations in document["paths"].items()
              for verb, operation in operations.items() if operation.get("security") != []}
    assert routes == set(HTTP_ROUTES), "a new route: add how to call it to HTTP_ROUTES"


@pytest.mark.parametrize("method", METHODS, ids=[m.name for m in METHODS])
def test_every_method_refuses_a_missing_or_wrong_key(channel, method):
    for metadata in ((), auth("not-a-key"), (("authorization", "Bearer a-secret"),)):
        answer = call(channel, method, base_request(method), metadata=metadata)
        assert answer.code == grpc.StatusCode.UNAUTHENTICATED, (metadata, answer)
        assert answer.reason == "API_KEY_INVALID"


@pytest.mark.parametrize("method, paths", SCOPED, ids=[m.name for m, _ in SCOPED])
def test_every_method_refuses_a_scope_the_key_may_not_use(channel, method, paths):
    """A scoped method in another key's scope, and a method without a scope (administration)
    with a key that is not allowed every scope: PERMISSION_DENIED, and nothing written."""
    before = events_of(channel, B)
    requests = [with_value(base_request(method), path, B) for path in paths] or \
        [base_request(method)]
    for request in requests:
        answer = call(channel, method, request, metadata=auth("a"))
        assert answer.code == grpc.StatusCode.PERMISSION_DENIED, (method_path(method), answer)
        assert answer.reason == "SCOPE_NOT_ALLOWED"
    assert events_of(channel, B) == before


def events_of(channel, scope: str) -> int:
    answer = call(channel, METHOD["Preview"], pb.PreviewRequest(scope=scope, query="Events | count"),
                  metadata=auth("admin"))
    return answer.response.items[0]["Count"]


@pytest.mark.parametrize("route", HTTP_ROUTES, ids=[f"{v} {p}" for v, p in HTTP_ROUTES])
def test_every_http_route_refuses_missing_wrong_and_wrong_scope_keys(keyed, route):
    verb, path, body = HTTP_ROUTES[route](B)
    api = HttpApi(keyed.api.port)
    assert api.call(verb, path, body).status == 401
    assert api.call(verb, path, body, key="not-a-key").status == 401
    answer = api.call(verb, path, body, key=KEYS["a"][0])
    assert answer.status == 403, answer.body
    verb, path, body = HTTP_ROUTES[route](A)  # and its own scope it may use
    assert api.call(verb, path, body, key=KEYS["a"][0]).status in (200, 201, 404)


def test_a_cursor_of_one_scope_reads_nothing_of_another(channel):
    secret = [pb.TrackEvent(event_type="secret-of-a", value=f"v{i}") for i in range(3)]
    assert call(channel, METHOD["Track"], pb.TrackRequest(scope=A, events=secret),
                metadata=auth("a")).ok
    first = call(channel, METHOD["Export"], export_pb.ExportRequest(scope=A, page_size=1),
                 metadata=auth("a"))
    assert first.ok and first.response.next_cursor
    stolen = call(channel, METHOD["Export"], export_pb.ExportRequest(
        scope=B, page_size=1, cursor=first.response.next_cursor), metadata=auth("b"))
    assert stolen.code in (grpc.StatusCode.INVALID_ARGUMENT,
                           grpc.StatusCode.FAILED_PRECONDITION), stolen
    assert "secret-of-a" not in stolen.message and A not in stolen.message


def test_errors_and_counts_of_one_scope_say_nothing_of_another(channel):
    tracked = call(channel, METHOD["Track"], pb.TrackRequest(scope=A, events=[
        pb.TrackEvent(event_type="private-type-of-a", track_id="a-private-id")]),
        metadata=auth("a"))
    assert tracked.ok
    unknown = call(channel, METHOD["Delete"], pb.DeleteRequest(scope=B, track_id="never-was"),
                   metadata=auth("b"))
    theirs = call(channel, METHOD["Delete"], pb.DeleteRequest(scope=B, track_id="a-private-id"),
                  metadata=auth("b"))
    assert (theirs.code, theirs.reason) == (unknown.code, unknown.reason) == (
        grpc.StatusCode.NOT_FOUND, unknown.reason)
    assert theirs.message == unknown.message.replace("never-was", "a-private-id")
    # a near miss of A's event type: B's answer neither suggests nor counts it
    near = call(channel, METHOD["Preview"], pb.PreviewRequest(
        scope=B, query="Events | where EventType == 'private-type-of-b' | count"),
        metadata=auth("b"))
    assert near.ok and near.response.items[0]["Count"] == 0
    assert "private-type-of-a" not in str(near.response)
    assert events_of(channel, B) == 0  # B has tracked nothing: A's events are not counted


def test_a_configuration_name_of_one_scope_is_unknown_in_another(channel):
    create = BASES["CreateExportConfiguration"]
    request = export_pb.CreateExportConfigurationRequest()
    request.CopyFrom(create)
    request.configuration.scope, request.configuration.name = A, "a-private-export"
    assert call(channel, METHOD["CreateExportConfiguration"], request, metadata=auth("a")).ok
    theirs = call(channel, METHOD["GetExportConfiguration"], export_pb.GetExportConfigurationRequest(
        scope=B, name="a-private-export"), metadata=auth("b"))
    unknown = call(channel, METHOD["GetExportConfiguration"], export_pb.GetExportConfigurationRequest(
        scope=B, name="never-was"), metadata=auth("b"))
    assert theirs.code == unknown.code == grpc.StatusCode.NOT_FOUND
    assert theirs.message == unknown.message.replace("never-was", "a-private-export")
    listed = call(channel, METHOD["ListExportConfigurations"],
                  export_pb.ListExportConfigurationsRequest(scope=B), metadata=auth("b"))
    assert listed.ok and list(listed.response.configurations) == []


def preview_future(channel, key: str, query: str, scope: str = A, timeout: float = 120):
    stub = channel.unary_unary(method_path(METHOD["Preview"]),
                               request_serializer=pb.PreviewRequest.SerializeToString,
                               response_deserializer=pb.PreviewResponse.FromString)
    return stub.future(pb.PreviewRequest(scope=scope, query=query), metadata=auth(key),
                       timeout=timeout)


def test_over_its_query_budget_a_key_is_refused_with_retry_info(keyed, channel):
    """Key budget may have two queries running or waiting; the server runs three."""
    running = [preview_future(channel, "budget", ENDLESS) for _ in range(2)]
    try:
        time.sleep(1.0)  # both are admitted
        for _ in range(2):
            answer = call(channel, METHOD["Preview"], pb.PreviewRequest(
                scope=A, query="Events | count"), metadata=auth("budget"))
            assert answer.code == grpc.StatusCode.RESOURCE_EXHAUSTED, answer
            assert answer.reason == "QUERY_BUDGET_EXCEEDED" and answer.retry_delay > 0
        over_http = keyed.api.preview("Events | count", scope=A, key=KEYS["budget"][0])
        assert over_http.status == 429 and over_http.headers.get("retry-after") == "1"
        other = call(channel, METHOD["Preview"], pb.PreviewRequest(
            scope=A, query="Events | count"), metadata=auth("a"), timeout=60)
        assert other.ok, other  # another key is not held to this one's budget
    finally:
        for future in running:
            future.cancel()


def test_one_keys_pile_of_queries_does_not_starve_another_key(channel):
    """Key a fills every query slot with endless queries and queues three more; once one of
    its running ones is cancelled, the slot goes to key b's waiting query, not to a's queue
    (which would hold it for ever: b's query would reach its deadline)."""
    running = [preview_future(channel, "a", ENDLESS) for _ in range(SLOTS)]
    time.sleep(1.0)
    queued = [preview_future(channel, "a", ENDLESS) for _ in range(3)]
    time.sleep(0.5)
    theirs = preview_future(channel, "b", "Events | count", scope=B, timeout=60)
    time.sleep(0.5)
    running[0].cancel()
    try:
        assert theirs.result().items[0]["Count"] == 0
        assert not any(future.done() for future in queued)
    finally:
        for future in running + queued:
            future.cancel()


def test_over_its_rate_a_key_is_refused_with_retry_info(keyed, channel):
    request = pb.PreviewRequest(scope=A, query="Events | count")
    with ThreadPoolExecutor(10) as pool:
        answers = list(pool.map(lambda _: call(channel, METHOD["Preview"], request,
                                               metadata=auth("hasty")), range(10)))
    refused = [a for a in answers if not a.ok]
    assert 0 < len(refused) < 10
    assert {(a.code, a.reason) for a in refused} == {
        (grpc.StatusCode.RESOURCE_EXHAUSTED, "RATE_LIMITED")}
    assert all(0 < a.retry_delay <= 0.5 for a in refused)
    refused_http = [keyed.api.preview("Events | count", scope=A, key=KEYS["hasty"][0])
                    for _ in range(4)]
    assert 429 in {a.status for a in refused_http}
    assert all(a.headers.get("retry-after") == "1" for a in refused_http if a.status == 429)
    time.sleep(1.0)  # a second later the key may call again
    assert call(channel, METHOD["Preview"], request, metadata=auth("hasty")).ok


# -- rotation -----------------------------------------------------------------------------------

@pytest.fixture
def rotating(tmp_path):
    keys = tmp_path / "keys.toml"
    keys.write_text(key_file_text({"admin": KEYS["admin"], "a": ("old-secret-1", [A], {})}))
    running = start_http_server(tmp_path / "data", "--api-keys-file", str(keys))
    yield running, keys
    running.server.stop()


def works(channel, key: str) -> grpc.StatusCode:
    return call(channel, METHOD["Preview"], pb.PreviewRequest(scope=A, query="Events | count"),
                metadata=auth(key)).code


def wait_for(condition, seconds: float = 20.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def rotate_unseen(keys) -> None:
    """Key a's secret becomes new-secret-1 in place, with the file's size and times kept, so
    that only a SIGHUP can tell the server."""
    before = os.stat(keys)
    keys.write_text(keys.read_text().replace("old-secret-1", "new-secret-1"))
    os.utime(keys, ns=(before.st_atime_ns, before.st_mtime_ns))


def send_to_other_thread(pid: int, signum: int) -> None:
    """`signum` to one of the process's threads other than its main thread (tgkill), as the
    kernel may deliver a signal sent to the whole process."""
    others = sorted(int(tid) for tid in os.listdir(f"/proc/{pid}/task") if int(tid) != pid)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.tgkill(pid, others[-1], signum) != 0:
        raise OSError(ctypes.get_errno(), "tgkill failed")


def test_a_sighup_taken_by_another_thread_still_reloads_the_keys(rotating):
    """The handler runs on the main thread; a SIGHUP that another thread took used to wait
    there until the next signal (seen as the rotation test's reload coming with SIGTERM)."""
    running, keys = rotating
    with running.server.channel() as channel:
        assert works(channel, "old-secret-1") == grpc.StatusCode.OK
        rotate_unseen(keys)
        send_to_other_thread(running.server.process.pid, signal.SIGHUP)
        assert wait_for(lambda: works(channel, "new-secret-1") == grpc.StatusCode.OK, 5.0)
        assert works(channel, "old-secret-1") == grpc.StatusCode.UNAUTHENTICATED


def test_keys_rotate_on_sighup_and_when_the_file_changes(rotating):
    running, keys = rotating
    with running.server.channel() as channel:
        assert works(channel, "old-secret-1") == grpc.StatusCode.OK
        rotate_unseen(keys)
        time.sleep(1.5)
        assert works(channel, "old-secret-1") == grpc.StatusCode.OK
        running.server.process.send_signal(signal.SIGHUP)
        assert wait_for(lambda: works(channel, "new-secret-1") == grpc.StatusCode.OK)
        assert works(channel, "old-secret-1") == grpc.StatusCode.UNAUTHENTICATED
        # the file watch: a new file, no signal
        keys.write_text(key_file_text({"admin": KEYS["admin"], "a": ("newer-secret-2", [A], {})}))
        assert wait_for(lambda: works(channel, "newer-secret-2") == grpc.StatusCode.OK)
        assert works(channel, "new-secret-1") == grpc.StatusCode.UNAUTHENTICATED
        assert running.api.preview("Events | count", scope=A, key="newer-secret-2").status == 200
        # a broken file is logged, and the keys before stay in force
        keys.write_text("[keys.a]\nkey = ")
        running.server.process.send_signal(signal.SIGHUP)
        assert wait_for(lambda: "API keys not reloaded" in running.server.log())
        assert works(channel, "newer-secret-2") == grpc.StatusCode.OK
