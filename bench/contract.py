"""The RPCs the benchmark calls and serves, taken from the generated descriptors of proto/.

Paths, message classes and call kinds come from the service descriptors, so a renamed service or
method fails here at once instead of answering UNIMPLEMENTED in the middle of a run.
"""
from __future__ import annotations

from typing import Callable

import grpc
from google.protobuf import message_factory

from trackstore.v1 import admin_pb2 as admin_pb
from trackstore.v1 import trackevents_pb2 as pb

EVENTS_SERVICE = pb.DESCRIPTOR.services_by_name["TrackEventsService"]
ADMIN_SERVICE = admin_pb.DESCRIPTOR.services_by_name["AdminService"]

# (client streaming, server streaming) -> the channel's factory and the server's handler.
_CALL_KINDS = {
    (False, False): ("unary_unary", grpc.unary_unary_rpc_method_handler),
    (True, False): ("stream_unary", grpc.stream_unary_rpc_method_handler),
    (False, True): ("unary_stream", grpc.unary_stream_rpc_method_handler),
    (True, True): ("stream_stream", grpc.stream_stream_rpc_method_handler),
}


def _kind(method) -> tuple[str, Callable]:
    return _CALL_KINDS[method.client_streaming, method.server_streaming]


def method_path(method) -> str:
    return f"/{method.containing_service.full_name}/{method.name}"


def client_call(channel: grpc.Channel, service, name: str, serialized: bool = False):
    """The channel's callable for `service`'s method `name`. `serialized`: the caller passes
    request bytes, so no message is built or encoded on the measured path."""
    method = service.methods_by_name[name]
    request = message_factory.GetMessageClass(method.input_type)
    response = message_factory.GetMessageClass(method.output_type)
    factory = getattr(channel, _kind(method)[0])
    return factory(method_path(method),
                   request_serializer=None if serialized else request.SerializeToString,
                   response_deserializer=response.FromString)


def add_raw_handlers(server: grpc.Server, service, behaviours: dict[str, Callable]) -> None:
    """Serves `service`'s methods named in `behaviours` with bytes in and bytes out, registered
    as grpc's generated `add_*Servicer_to_server` registers a service."""
    handlers = {}
    for name, behaviour in behaviours.items():
        method = service.methods_by_name[name]
        handlers[method.name] = _kind(method)[1](
            behaviour, request_deserializer=None, response_serializer=None)
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(service.full_name, handlers),))
    server.add_registered_method_handlers(service.full_name, handlers)
