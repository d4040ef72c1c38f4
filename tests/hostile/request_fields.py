"""Every string field of every request message of the contract, found from the descriptors
(so a new service or field is walked without a change here), and requests with one of them set.

A field path is a tuple of field names from the request message down; a repeated field is
entered through its first element, and a google.protobuf.Struct through one key and its string
value ("<key>" and "<value>").
"""
from __future__ import annotations

from google.protobuf.descriptor import FieldDescriptor

STRING = FieldDescriptor.TYPE_STRING
MESSAGE = FieldDescriptor.TYPE_MESSAGE
STRUCT = "google.protobuf.Struct"
# google.protobuf messages without a string an attacker could fill
NO_STRINGS = {"google.protobuf.Timestamp", "google.protobuf.Duration", "google.protobuf.Value",
              "google.protobuf.ListValue"}


def string_fields(descriptor, seen: tuple = ()) -> list[tuple[str, ...]]:
    """The paths of every string field below a message descriptor."""
    paths: list[tuple[str, ...]] = []
    for field in descriptor.fields:
        if field.type == STRING:
            paths.append((field.name,))
        elif field.type == MESSAGE and not field.message_type.GetOptions().map_entry:
            inner = field.message_type
            if inner.full_name == STRUCT:
                paths += [(field.name, "<key>"), (field.name, "<value>")]
            elif inner.full_name not in NO_STRINGS and inner.full_name not in seen:
                paths += [(field.name, *rest)
                          for rest in string_fields(inner, seen + (descriptor.full_name,))]
    return paths


def with_value(request, path: tuple[str, ...], value: str):
    """A copy of `request` with the field at `path` set to `value` (added where absent)."""
    copy = type(request)()
    copy.CopyFrom(request)
    _set(copy, path, value)
    return copy


def _set(message, path: tuple[str, ...], value: str) -> None:
    name, rest = path[0], path[1:]
    field = message.DESCRIPTOR.fields_by_name[name]
    repeated = field.is_repeated
    if field.type == STRING:
        if repeated:
            del getattr(message, name)[:]
            getattr(message, name).append(value)
        else:
            setattr(message, name, value)
        return
    if field.message_type.full_name == STRUCT:
        getattr(message, name).update({value: "x"} if rest == ("<key>",) else {"k": value})
        return
    if repeated:
        items = getattr(message, name)
        target = items[0] if len(items) else items.add()
    else:
        target = getattr(message, name)
    _set(target, rest, value)
