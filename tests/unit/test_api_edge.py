"""The edge (server/api/, HTTP included) touches no database driver, and its gRPC handler table
derived from the contract that refuses to start with a method it cannot serve."""
from __future__ import annotations

import ast
import pathlib

import pytest

import trackstore_server
from trackstore.v1 import trackevents_pb2 as pb
from trackstore_server.api import registration
from trackstore_server.api.servicer import TrackEventsServicer

API = pathlib.Path(trackstore_server.__file__).parent / "api"
DATABASE_DRIVERS = {"duckdb", "psycopg", "psycopg2", "sqlite3"}
SERVICE = pb.DESCRIPTOR.services_by_name["TrackEventsService"]


def imported_modules(path: pathlib.Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_the_api_package_imports_no_database_driver():
    files = sorted(API.rglob("*.py"))
    names = {str(path.relative_to(API)) for path in files}
    assert names >= {"app.py", "servicer.py", "status.py", "auth.py", "registration.py",
                     "http/app.py", "http/calls.py", "http/trackevents.py"}
    assert {str(path.relative_to(API)): imported_modules(path) & DATABASE_DRIVERS
            for path in files} == {name: set() for name in names}


def test_every_method_of_a_service_gets_a_handler_from_the_descriptor():
    handlers = registration.method_handlers(SERVICE, TrackEventsServicer())
    assert set(handlers) == {method.name for method in SERVICE.methods}
    stream = handlers["TrackStream"]
    assert stream.request_streaming and not stream.response_streaming
    request = pb.DeleteRequest(scope="s", track_id="t")
    assert handlers["Delete"].request_deserializer(request.SerializeToString()) == request


def test_bytes_protobuf_refuses_are_an_invalid_argument_not_an_exception_in_grpc():
    decode = registration.method_handlers(SERVICE, TrackEventsServicer())["Preview"] \
        .request_deserializer
    bad_utf8 = b"\x12\x02\xc3\x28"  # PreviewRequest.query = invalid UTF-8
    undecodable = decode(bad_utf8)
    assert isinstance(undecodable, registration.Undecodable)
    assert undecodable.error.reason == "MALFORMED_REQUEST"
    assert undecodable.error.message.startswith(
        "the request is not a valid trackstore.v1.PreviewRequest message: ")


def test_a_method_without_an_implementation_stops_registration():
    class WithoutDelete(TrackEventsServicer):
        Delete = None

    with pytest.raises(registration.NotServed, match="TrackEventsService.Delete"):
        registration.method_handlers(SERVICE, WithoutDelete())


def test_a_codec_for_a_method_the_service_lacks_stops_registration():
    class Misspelt(TrackEventsServicer):
        RESPONSE_ENCODERS = {"Lists": registration.preserialized}

    with pytest.raises(registration.NotServed, match="Lists"):
        registration.method_handlers(SERVICE, Misspelt())
