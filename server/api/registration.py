"""The handler table of every service of the contract (proto/), built from its descriptors.

Each method is served by the servicer's method of the same name, its request parsed and its
response serialized by the message classes the descriptor names. A servicer replaces only what
its own code reads or writes faster (its REQUEST_DECODERS and RESPONSE_ENCODERS, by method
name). A method of the contract without an implementation stops the server from starting, and
tests/e2e/test_registration.py calls every method of the running server.
"""
from __future__ import annotations

import importlib
import pkgutil
from typing import Callable

import grpc
from google.protobuf import message_factory
from google.protobuf.descriptor import ServiceDescriptor

import trackstore.v1

from ..errors import BadRequest, FieldViolation

# By (client streaming, server streaming): the grpc.RpcMethodHandler attribute that holds a
# method's behavior, and the factory of such handlers.
HANDLER_KINDS = {
    (False, False): ("unary_unary", grpc.unary_unary_rpc_method_handler),
    (True, False): ("stream_unary", grpc.stream_unary_rpc_method_handler),
    (False, True): ("unary_stream", grpc.unary_stream_rpc_method_handler),
    (True, True): ("stream_stream", grpc.stream_stream_rpc_method_handler),
}

# message class -> a request deserializer, or a response serializer, for that class
CodecFactory = Callable[[type], Callable]


class NotServed(LookupError):
    """The contract and the servicers disagree: a service or method without an implementation,
    or a replacement codec for a method the service does not have."""


def contract_services() -> list[ServiceDescriptor]:
    """Every service of every generated module of the contract (trackstore.v1.*_pb2)."""
    services = []
    for module in pkgutil.iter_modules(trackstore.v1.__path__):
        if module.name.endswith("_pb2"):
            generated = importlib.import_module(f"{trackstore.v1.__name__}.{module.name}")
            services.extend(generated.DESCRIPTOR.services_by_name.values())
    return services


def method_handlers(service: ServiceDescriptor, servicer,
                    wrap: Callable = lambda behavior: behavior) -> dict[str, grpc.RpcMethodHandler]:
    """Method name -> handler, for every method of `service`, its behavior wrapped by `wrap`
    (auth.authenticating)."""
    decoders: dict[str, CodecFactory] = getattr(servicer, "REQUEST_DECODERS", {})
    encoders: dict[str, CodecFactory] = getattr(servicer, "RESPONSE_ENCODERS", {})
    unknown = (decoders.keys() | encoders.keys()) - set(service.methods_by_name)
    if unknown:
        raise NotServed(f"{type(servicer).__name__} replaces codecs of methods "
                        f"{service.full_name} does not have: {', '.join(sorted(unknown))}")
    handlers = {}
    for method in service.methods:
        behavior = getattr(servicer, method.name, None)
        if behavior is None:
            raise NotServed(f"{service.full_name}.{method.name} has no implementation in "
                            f"{type(servicer).__name__}")
        request = message_factory.GetMessageClass(method.input_type)
        response = message_factory.GetMessageClass(method.output_type)
        decoder = tolerant(decoders[method.name](request) if method.name in decoders
                           else request.FromString, method.input_type.full_name)
        encoder = (encoders[method.name](response) if method.name in encoders
                   else response.SerializeToString)
        _, make = HANDLER_KINDS[(method.client_streaming, method.server_streaming)]
        handlers[method.name] = make(wrap(behavior), request_deserializer=decoder,
                                     response_serializer=encoder)
    return handlers


class Undecodable:
    """A request message the server could not parse, in place of the message: the method's
    `rpc()` wrapper (rpc.py) answers its error, INVALID_ARGUMENT. gRPC itself would answer
    a deserializer's exception with INTERNAL, which it is not."""

    __slots__ = ("error",)

    def __init__(self, error: BadRequest):
        self.error = error


def checked(request):
    """`request`, unless it is an Undecodable: then raises its BadRequest."""
    if type(request) is Undecodable:
        raise request.error
    return request


def tolerant(decoder: Callable[[bytes], object], message_name: str) -> Callable:
    """`decoder`, answering an Undecodable for bytes it refuses (invalid UTF-8 in a string,
    messages nested deeper than protobuf follows, bytes that are not protobuf at all)."""

    def decode(data: bytes):
        try:
            return decoder(data)
        except BadRequest as error:  # a decoder that can say more (fast_decode.py)
            return Undecodable(error)
        except Exception as error:  # noqa: BLE001 - the client's bytes, never our fault
            reason = str(error) or type(error).__name__
            return Undecodable(BadRequest(
                f"the request is not a valid {message_name} message: {reason}",
                [FieldViolation("", "not a valid protobuf message")], reason="MALFORMED_REQUEST"))

    return decode


def register(server, servicers: list,
             wrap: Callable = lambda behavior: behavior) -> tuple[str, ...]:
    """Registers every service of the contract with the servicer whose SERVICE it is, each
    method's behavior wrapped by `wrap`; returns the full names of the services."""
    by_name = {servicer.SERVICE.full_name: servicer for servicer in servicers}
    names = []
    for service in contract_services():
        servicer = by_name.pop(service.full_name, None)
        if servicer is None:
            raise NotServed(f"no servicer implements {service.full_name}")
        handlers = method_handlers(service, servicer, wrap)
        server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler(service.full_name, handlers),))
        server.add_registered_method_handlers(service.full_name, handlers)
        names.append(service.full_name)
    if by_name:
        raise NotServed(f"servicers of services the contract lacks: {', '.join(sorted(by_name))}")
    return tuple(names)


def preserialized(message_class: type) -> Callable:
    """A response serializer for methods that may answer bytes already serialized (rows written
    by server/wire/rows.c), or else a `message_class` message."""
    serialize = message_class.SerializeToString

    def serializer(response) -> bytes:
        return response if type(response) is bytes else serialize(response)

    return serializer
