"""How deeply a User/Payload value nests, counted the one way both ingest paths count it.

An object or an array is one level (`{"a": 1}` is 1 deep, `{"a": [1]}` 2); scalars add none.
A stored value may nest MAX_JSON_DEPTH levels (server/limits.py): a protobuf decoder stops
at 100 nested messages, a JSON level in a google.protobuf.Struct costs three (Struct, map
entry, Value), and a Preview, List or Export answer wraps each value in two more, so deeper
values could be stored but not read back by Python, C++ or Java clients. The C decoder
(server/wire/json_check.c, struct_json.c) never accepts anything deeper; these functions are
the ordinary path's count, and tests/unit/test_nesting.py holds the two to the same answers.
"""
from __future__ import annotations

from .limits import MAX_JSON_DEPTH


def text_may_exceed(text: str, limit: int = MAX_JSON_DEPTH) -> bool:
    """False when the JSON text has too few brackets to nest beyond `limit` (a fast test that
    spares almost every event the walk of `deeper_than`)."""
    return text.count("{") + text.count("[") > limit


def deeper_than(value, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether a parsed JSON value (dicts, lists, scalars) nests deeper than `limit` levels."""
    containers = (dict, list)
    pending = [(value, 1)] if isinstance(value, containers) else []
    while pending:
        item, depth = pending.pop()
        if depth > limit:
            return True
        for child in item.values() if isinstance(item, dict) else item:
            if isinstance(child, containers):
                pending.append((child, depth + 1))
    return False


def struct_deeper_than(struct, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether a google.protobuf.Struct message nests deeper than `limit` JSON levels."""
    pending = [(struct, 1)]
    while pending:
        message, depth = pending.pop()
        if depth > limit:
            return True
        values = (message.fields.values() if message.DESCRIPTOR.name == "Struct"
                  else message.values)
        for value in values:
            kind = value.WhichOneof("kind")
            if kind in ("struct_value", "list_value"):
                pending.append((getattr(value, kind), depth + 1))
    return False


# -- a serialized request protobuf could not parse -----------------------------------------

_REQUEST_EVENTS = 2  # TrackRequest.events, TrackStreamRequest.events
_STRUCT_FIELDS = {10: "User", 12: "Payload"}  # TrackEvent.user_struct, .payload_struct
_STRUCT_ENTRY, _ENTRY_VALUE, _LIST_VALUES = 1, 2, 1
_VALUE_STRUCT, _VALUE_LIST = 5, 6


def too_deep_event(data: bytes, limit: int = MAX_JSON_DEPTH) -> tuple[int, str] | None:
    """(index, "User" or "Payload") of the first event of a serialized Track or TrackStream
    request whose Struct nests deeper than `limit`, or None. For requests protobuf refused to
    parse (it stops at 100 nested messages), so the refusal can name the event."""
    view = memoryview(data)
    try:
        index = 0
        for number, start, end in _length_fields(view, 0, len(view)):
            if number != _REQUEST_EVENTS:
                continue
            for field, value_start, value_end in _length_fields(view, start, end):
                if (field in _STRUCT_FIELDS
                        and _struct_bytes_deeper(view, value_start, value_end, limit)):
                    return index, _STRUCT_FIELDS[field]
            index += 1
    except ValueError:  # not a request of that shape after all
        return None
    return None


def _struct_bytes_deeper(view: memoryview, start: int, end: int, limit: int) -> bool:
    """A serialized Struct: whether it nests deeper than `limit` JSON levels."""
    pending = [(start, end, 1, True)]  # (start, end, depth, is a Struct, else a ListValue)
    while pending:
        start, end, depth, is_struct = pending.pop()
        if depth > limit:
            return True
        for number, value_start, value_end in _length_fields(view, start, end):
            if is_struct and number == _STRUCT_ENTRY:
                values = [(s, e) for n, s, e in _length_fields(view, value_start, value_end)
                          if n == _ENTRY_VALUE]
            elif not is_struct and number == _LIST_VALUES:
                values = [(value_start, value_end)]
            else:
                continue
            for value in values:
                for kind, inner_start, inner_end in _length_fields(view, *value):
                    if kind in (_VALUE_STRUCT, _VALUE_LIST):
                        pending.append((inner_start, inner_end, depth + 1,
                                        kind == _VALUE_STRUCT))
    return False


def _length_fields(view: memoryview, at: int, end: int):
    """(number, start, end) of each length-delimited field between `at` and `end`; other wire
    types are skipped. Raises ValueError at bytes that are not protobuf."""
    while at < end:
        key, at = _varint(view, at, end)
        wire_type = key & 7
        if wire_type == 0:
            _, at = _varint(view, at, end)
        elif wire_type == 1 or wire_type == 5:
            at += 8 if wire_type == 1 else 4
        elif wire_type == 2:
            length, at = _varint(view, at, end)
            if at + length > end:
                raise ValueError("cut off")
            yield key >> 3, at, at + length
            at += length
        else:
            raise ValueError("group wire types are not ours")


def _varint(view: memoryview, at: int, end: int) -> tuple[int, int]:
    value = shift = 0
    while at < end and shift < 64:
        byte = view[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, at
        shift += 7
    raise ValueError("not a varint")
