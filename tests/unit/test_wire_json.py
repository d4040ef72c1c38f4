"""The decoder's JSON check (server/wire/json_check.c) never accepts what orjson, the ordinary
path's parser, refuses or reads as something other than an object (or null)."""
from __future__ import annotations

import json
import re

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trackstore_server import _wire

OBJECT, NULL, NOT_OURS = 1, 2, 0


def orjson_kind(text: bytes) -> int:
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return NOT_OURS
    return OBJECT if type(value) is dict else NULL if value is None else NOT_OURS


@pytest.mark.parametrize("text", [
    b"{}", b" { } ", b'{"a": 1}', b'{"a": [1, 2.5, -0.5e-10, true, false, null, {"b": "c"}]}',
    b'{"\\u00e9": "\\n\\t\\"\\\\\\/"}', '{"é": "ü"}'.encode(), b'{"n": 123456789012345678}',
    b'{"a": "\\ud83d\\ude00"}', b'{"a": 1}\n', b"\t{\"a\":{}}\r\n",
])
def test_objects_are_accepted(text):
    assert _wire.is_json_object(text) == OBJECT == orjson_kind(text)


@pytest.mark.parametrize("text", [b"null", b"  null\n"])
def test_null_is_told_apart(text):
    assert _wire.is_json_object(text) == NULL == orjson_kind(text)


@pytest.mark.parametrize("text", [
    b"", b" ", b"[]", b'"a"', b"1", b"true", b"{", b"}", b'{"a"}', b'{"a":}', b'{"a":1,}',
    b"{a: 1}", b"{'a': 1}", b'{"a": 01}', b'{"a": 1.}', b'{"a": .5}', b'{"a": +1}',
    b'{"a": NaN}', b'{"a": Infinity}', b'{"a": "\x01"}', b'{"a": "\\x"}', b'{"a": "\\u12"}',
    b'{} {}', b'{}x', b'\xef\xbb\xbf{}', b'{"a": tru}', b'{"a": nul}', b'{"a": [1,]}',
    b'{"a": "\xff"}', b'{"a": "\xed\xa0\x80"}', b"nulll",
])
def test_invalid_texts_are_refused(text):
    assert _wire.is_json_object(text) == NOT_OURS


@pytest.mark.parametrize("text", [
    b'"\\udc00"', b'"\\ud83d"', b'"\\ud83d\\u0041"', b'{"a": 1e400}', b'{"a": 1e-400}',
    b'{"a": 123456789012345678901234567890}', b"[" * 300 + b"]" * 300,
])
def test_texts_parsers_disagree_on_are_left_to_orjson(text):
    assert _wire.is_json_object(b'{"x": ' + text + b"}") == NOT_OURS


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) |
    st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) |
    st.dictionaries(st.text(max_size=5), children, max_size=4),
    max_leaves=20)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.text(max_size=8), json_values, max_size=6), st.sampled_from(
    [{}, {"indent": 2}, {"separators": (",", ":")}, {"ensure_ascii": False}]))
def test_generated_objects_agree_with_orjson(value, options):
    text = json.dumps(value, **options).encode()
    kind = _wire.is_json_object(text)
    assert kind in (OBJECT, NOT_OURS)
    if kind == OBJECT:
        assert orjson_kind(text) == OBJECT
    exponents = [int(e) for e in re.findall(r"\d[eE]([-+]?\d+)", text.decode())]
    if all(abs(e) <= 300 for e in exponents) and not any(
            isinstance(v, int) and abs(v) >= 10**18 for v in _leaves(value)):
        assert kind == OBJECT  # ordinary JSON is read here, not left to the slow path


@settings(max_examples=600, deadline=None)
@given(st.binary(max_size=40), st.integers(0, 40))
def test_mutated_texts_never_pass_what_orjson_refuses(noise, at):
    base = b'{"a": [1, -2.5e3, "x\\u00e9"], "b": {"c": null, "d": true}}'
    text = base[:at] + noise + base[at:]
    kind = _wire.is_json_object(text)
    if kind != NOT_OURS:
        assert kind == orjson_kind(text)


def _leaves(value):
    if isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item)
    else:
        yield value


struct_values = st.recursive(
    st.none() | st.booleans() | st.text() | st.integers(-(2**60), 2**60) |
    st.floats(allow_nan=True, allow_infinity=True),
    lambda children: st.lists(children, max_size=4) |
    st.dictionaries(st.text(max_size=5), children, max_size=4),
    max_leaves=20)


def _as_stored(value):
    """What a Struct keeps of a value, as JSON reads it back: numbers are doubles, and NaN
    and the infinities have no JSON form, so they are null."""
    if isinstance(value, dict):
        return {k: _as_stored(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_stored(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    number = float(value)
    if number != number or number in (float("inf"), float("-inf")):
        return None
    return number


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=8), struct_values, max_size=6))
def test_struct_json_is_the_struct_as_json(value):
    from google.protobuf import struct_pb2

    struct = struct_pb2.Struct()
    struct.update(value)
    text = _wire.struct_json(struct.SerializeToString())
    parsed = json.loads(text)
    assert list(parsed) == sorted(parsed)
    assert _as_stored(parsed) == _as_stored(value)
    # Integral numbers below 2^53 are written as integers.
    for leaf in _leaves(parsed):
        if isinstance(leaf, float):
            assert not (leaf.is_integer() and abs(leaf) < 2**53)
