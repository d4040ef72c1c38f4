"""server/api/segment_messages.py reads its tables from the contract's descriptors: they must
hold querylang's parameter types, and values must come back as they were sent."""
from __future__ import annotations

import datetime as dt

import pytest
from google.protobuf import duration_pb2, timestamp_pb2

from querylang.templates import PARAMETER_TYPES
from trackstore.v1 import segments_pb2 as spb
from trackstore_server.api import segment_messages as messages
from trackstore_server.errors import BadRequest
from trackstore_server.segments import values
from trackstore_server.segments.model import Value

EXAMPLES = {
    "bool": True, "datetime": dt.datetime(2020, 1, 2, 3, 4, 5, 678901), "guid":
    "0b7e8a52-0f3c-4d5e-9a1b-2c3d4e5f6a7b", "int": -7, "long": 2**62, "double": 0.1,
    "string": "a 'b' {{c}}\n", "timespan": dt.timedelta(days=-1, microseconds=3),
}


def test_the_contract_has_each_parameter_type_of_the_compiler_and_a_value_field_for_it():
    assert sorted(messages.TYPE_NAMES.values()) == sorted(PARAMETER_TYPES)
    assert sorted(messages.VALUE_FIELDS) == sorted(PARAMETER_TYPES) == sorted(EXAMPLES)


@pytest.mark.parametrize("kind", sorted(EXAMPLES))
def test_a_value_comes_back_from_the_contract_and_from_the_lake_as_it_was(kind):
    original = {"p": Value(kind, EXAMPLES[kind])}
    sent = {"p": messages.value_out(original["p"])}
    assert messages.values_in(sent, "parameters") == original
    assert values.from_json(values.to_json(original)) == original


@pytest.mark.parametrize("message, words", [
    (spb.ParameterValue(datetime_value=timestamp_pb2.Timestamp(seconds=-62_135_596_801)),
     "not a valid timestamp"),
    (spb.ParameterValue(datetime_value=timestamp_pb2.Timestamp(seconds=0, nanos=-1)),
     "not a valid timestamp"),
    (spb.ParameterValue(timespan_value=duration_pb2.Duration(seconds=-1, nanos=5)),
     "not a valid duration"),
    (spb.ParameterValue(timespan_value=duration_pb2.Duration(seconds=315_576_000_001)),
     "not a valid duration"),
    (spb.ParameterValue(), "has no value"),
])
def test_an_invalid_value_names_its_parameter(message, words):
    with pytest.raises(BadRequest) as error:
        messages.values_in({"when": message}, "segment.parameters")
    [violation] = error.value.violations
    assert violation.field == "segment.parameters[when]" and words in violation.description
