"""gRPC calls as a hostile client makes them: every method by its descriptor, messages as
bytes or messages, and what a refusal says (code, reason, field violations)."""
from __future__ import annotations

from dataclasses import dataclass, field

import grpc
from google.protobuf import message_factory
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from trackstore_server.api.registration import contract_services

METHODS = [method for service in contract_services() for method in service.methods]
METHOD = {method.name: method for method in METHODS}  # method names are unique across services


def method_path(method) -> str:
    return f"/{method.containing_service.full_name}/{method.name}"


def request_class(method):
    return message_factory.GetMessageClass(method.input_type)


@dataclass
class Outcome:
    """What a call answered: OK with its response, or a status with its details."""

    code: grpc.StatusCode
    message: str = ""
    reason: str = ""
    fields: list[str] = field(default_factory=list)
    retry_delay: float | None = None
    response: object = None

    @property
    def ok(self) -> bool:
        return self.code == grpc.StatusCode.OK


def call(channel: grpc.Channel, method, request, metadata=(), timeout: float = 60) -> Outcome:
    """`request` (a message, or bytes) sent to `method`; a client stream sends it once."""
    response_class = message_factory.GetMessageClass(method.output_type)
    serializer = (lambda r: r) if isinstance(request, bytes) else None
    kind = ("stream" if method.client_streaming else "unary") + "_unary"
    stub = getattr(channel, kind)(method_path(method), request_serializer=serializer or
                                  (lambda m: m.SerializeToString()),
                                  response_deserializer=response_class.FromString)
    try:
        answer = stub(iter([request]) if method.client_streaming else request,
                      metadata=metadata, timeout=timeout)
    except grpc.RpcError as error:
        return outcome_of(error)
    return Outcome(grpc.StatusCode.OK, response=answer)


def outcome_of(error: grpc.RpcError) -> Outcome:
    outcome = Outcome(error.code(), error.details() or "")
    status = rpc_status.from_call(error)
    for packed in status.details if status else ():
        for kind in (error_details_pb2.ErrorInfo, error_details_pb2.BadRequest,
                     error_details_pb2.RetryInfo):
            if packed.Is(kind.DESCRIPTOR):
                detail = kind()
                packed.Unpack(detail)
                _note(outcome, detail)
    return outcome


def _note(outcome: Outcome, detail) -> None:
    if isinstance(detail, error_details_pb2.ErrorInfo):
        outcome.reason = detail.reason
    elif isinstance(detail, error_details_pb2.BadRequest):
        outcome.fields = [v.field for v in detail.field_violations]
    else:
        outcome.retry_delay = detail.retry_delay.ToTimedelta().total_seconds()
