"""The stored event's columns, declared once and tied to the contract.

querylang's EVENTS_SCHEMA names and types the columns (the compiler resolves names against it,
lake.py creates the table from it); each column is the TrackEvent field, or the oneof, of the
same name in lower_snake_case (proto/trackstore/v1/trackevents.proto says so). Everything else
that lists the columns derives from here; the C decoder's field numbers are checked against the
descriptor by tests/unit/test_wire_fields.py.
"""
from __future__ import annotations

import re

import pyarrow as pa
from google.protobuf.descriptor import FieldDescriptor

from querylang.schema import DATETIME, EVENTS_SCHEMA
from trackstore.v1 import trackevents_pb2 as pb

EVENT = pb.TrackEvent.DESCRIPTOR
# Table column order: the order of every columnar batch, log record and INSERT.
COLUMN_NAMES: tuple[str, ...] = EVENTS_SCHEMA.names
# User and Payload (dynamic) are stored as JSON text.
ARROW_SCHEMA = pa.schema([(c.name, pa.timestamp("us") if c.type == DATETIME else pa.string())
                          for c in EVENTS_SCHEMA.columns])


def proto_name(column: str) -> str:
    """TrackId -> track_id."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", column).lower()


def fields_of(column: str) -> tuple[FieldDescriptor, ...]:
    """The TrackEvent fields that give `column`: its field, or the members of its oneof (User:
    user_struct and user_json). A column the contract lacks fails at import."""
    name = proto_name(column)
    if name in EVENT.oneofs_by_name and name not in EVENT.fields_by_name:
        return tuple(EVENT.oneofs_by_name[name].fields)
    return (EVENT.fields_by_name[name],)


FIELDS: dict[str, tuple[FieldDescriptor, ...]] = {c: fields_of(c) for c in COLUMN_NAMES}
# TrackEvent field number -> the column it fills.
COLUMN_OF_FIELD: dict[int, str] = {f.number: c for c, fs in FIELDS.items() for f in fs}
# Ignored on input: the request's scope applies.
INPUT_IGNORED = ("Scope",)
# Field number -> column of the strings stored as they are given.
PLAIN_STRING_FIELDS: dict[int, str] = {
    fs[0].number: c for c, fs in FIELDS.items()
    if len(fs) == 1 and fs[0].type == FieldDescriptor.TYPE_STRING and c not in INPUT_IGNORED
}
