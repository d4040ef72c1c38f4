"""JSON and google.protobuf.Struct values nested as deep as a test needs (100,000 levels
included), built in linear time, as text and as serialized bytes."""
from __future__ import annotations

ONE = b"\x11" + bytes.fromhex("000000000000f03f")  # Value{number_value: 1.0}


def nested_text(depth: int, kinds: str = "{") -> str:
    """JSON `depth` levels deep, its containers cycling through `kinds` ("{" or "[") from the
    inside out."""
    opening = ['{"a":' if kinds[level % len(kinds)] == "{" else "[" for level in range(depth)]
    closing = ["}" if kinds[level % len(kinds)] == "{" else "]" for level in range(depth)]
    return "".join(reversed(opening)) + "1" + "".join(closing)


def struct_bytes(depth: int) -> bytes:
    """A serialized Struct `depth` levels deep ({"a": {"a": ... 1}}), built as bytes: protobuf
    itself cannot build or parse one much beyond 33. Every level is a prefix (a length-delimited
    field has no end mark), so the levels are made from the inside out and joined once."""
    prefixes, size = [], len(ONE)
    for level in range(depth):
        if level:  # Value{struct_value: the level below}
            prefix = b"\x2a" + varint(size)
            prefixes.append(prefix)
            size += len(prefix)
        entry = b"\x0a\x01a\x12" + varint(size)  # {"a": value}
        wrapper = b"\x0a" + varint(size + len(entry))
        prefixes.append(wrapper + entry)
        size += len(wrapper) + len(entry)
    return b"".join(reversed(prefixes)) + ONE


def varint(n: int) -> bytes:
    out = bytearray()
    while n >= 0x80:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)
