"""Filter definitions through the real server (issue 22): the standard methods, the checks of a
template, every parameter type with valid and invalid values, and string values that try to
become query text."""
from __future__ import annotations

import datetime as dt

import grpc
import pytest

from segments_support import Api, definition, refused, value, violations
from trackstore.v1 import segments_pb2 as spb
from trackstore_client import TrackstoreError

INVALID = grpc.StatusCode.INVALID_ARGUMENT
TEMPLATE = "Events | where EventType == {{eventType}} and EventTime > ago({{window}})"


@pytest.fixture
def api(shared_server, request):
    with Api(shared_server, scope=f"defs-{request.node.name[:150]}") as api:
        yield api


def test_create_get_replace_delete_with_etags(api):
    created = api.create_definition("viewers", TEMPLATE, eventType="string", window="timespan")
    assert created.etag and created.create_time == created.update_time
    assert [(p.name, p.type) for p in created.parameters] == [
        ("eventType", spb.PARAMETER_TYPE_STRING), ("window", spb.PARAMETER_TYPE_TIMESPAN)]
    assert api.call("GetFilterDefinition", name="viewers").filter_definition == created

    changed = definition("viewers", TEMPLATE + " | take {{n}}", eventType="string",
                         window="timespan", n="int")
    changed.etag, changed.description, changed.category = created.etag, "recent", "web"
    replaced = api.call("ReplaceFilterDefinition", filter_definition=changed).filter_definition
    assert replaced.etag != created.etag and replaced.query.endswith("take {{n}}")
    assert replaced.create_time == created.create_time
    assert replaced.update_time.ToDatetime() > created.update_time.ToDatetime()
    assert (replaced.description, replaced.category) == ("recent", "web")

    with pytest.raises(TrackstoreError) as stale:  # the etag read before the replace
        api.call("ReplaceFilterDefinition", filter_definition=changed)
    assert refused(stale.value) == (grpc.StatusCode.ABORTED, "ETAG_MISMATCH")
    with pytest.raises(TrackstoreError) as stale:
        api.call("DeleteFilterDefinition", name="viewers", etag=created.etag)
    assert refused(stale.value) == (grpc.StatusCode.ABORTED, "ETAG_MISMATCH")
    changed.etag = ""  # without an etag, a replace is unconditional
    assert api.call("ReplaceFilterDefinition", filter_definition=changed).filter_definition.etag

    api.call("DeleteFilterDefinition", name="viewers")
    for method in ("GetFilterDefinition", "DeleteFilterDefinition"):
        with pytest.raises(TrackstoreError) as gone:
            api.call(method, name="viewers")
        assert refused(gone.value) == (grpc.StatusCode.NOT_FOUND, "NOT_FOUND")
    with pytest.raises(TrackstoreError) as gone:
        api.call("ReplaceFilterDefinition", filter_definition=changed)
    assert gone.value.code == grpc.StatusCode.NOT_FOUND


def test_a_name_in_use_is_already_exists(api):
    api.create_definition("taken", "Events | take 1")
    with pytest.raises(TrackstoreError) as taken:
        api.create_definition("taken", "Events | take 2")
    assert refused(taken.value) == (grpc.StatusCode.ALREADY_EXISTS, "ALREADY_EXISTS")
    assert api.call("GetFilterDefinition", name="taken").filter_definition.query == \
        "Events | take 1"


def test_list_pages_in_name_order_with_a_prefix(api):
    for name in ("b-2", "a-3", "a-1", "c", "a-2", "a-4", "a-5"):
        api.create_definition(name, "Events | take 1")
    pages, token = [], ""
    while True:
        page = api.call("ListFilterDefinitions", page_size=2, page_token=token,
                        name_prefix="a-")
        pages.append([d.name for d in page.filter_definitions])
        token = page.next_page_token
        if not token:
            break
    assert pages == [["a-1", "a-2"], ["a-3", "a-4"], ["a-5"]]
    everything = api.call("ListFilterDefinitions")
    assert [d.name for d in everything.filter_definitions] == [
        "a-1", "a-2", "a-3", "a-4", "a-5", "b-2", "c"]
    assert everything.next_page_token == ""

    first = api.call("ListFilterDefinitions", page_size=2, name_prefix="a-").next_page_token
    for token in (first, first[:-3] + ("AAA" if first[-3:] != "AAA" else "BBB")):
        with pytest.raises(TrackstoreError) as error:  # another prefix; a tampered token
            api.call("ListFilterDefinitions", page_size=2, name_prefix="b-", page_token=token)
        assert refused(error.value) == (INVALID, "CURSOR_INVALID")
        assert "page_token" in violations(error.value)
    with pytest.raises(TrackstoreError) as error:
        api.call("ListFilterDefinitions", page_size=-1)
    assert "page_size" in violations(error.value)


@pytest.mark.parametrize("fields, field, words", [
    ({"name": "two words"}, "filter_definition.name", "letters, digits"),
    ({"name": "x" * 201}, "filter_definition.name", "1 to 200"),
    ({"name": ""}, "filter_definition.name", "1 to 200"),
    ({"category": "c" * 51}, "filter_definition.category", "at most 50"),
    ({"category": "a\\b"}, "filter_definition.category", "without a backslash"),
    ({"description": "d" * 1001}, "filter_definition.description", "at most 1000"),
    ({"query": "  "}, "filter_definition.query", "is required"),
    ({"types": {"eventType": "unspecified"}}, "filter_definition.parameters[0].type",
     "must be one of bool, datetime"),
    ({"types": {"eventType": "string", "a1": "int"}}, "filter_definition.parameters[1]",
     "letters (a-z, A-Z) only"),
    ({"types": {"eventType": "string", "unused": "int"}}, "filter_definition.parameters[1]",
     "does not use {{unused}}"),
    ({"types": {}}, "filter_definition.query",
     "line 1, column 29: {{eventType}} is not a declared parameter"),
    ({"query": "Events\n| where EventType == {{eventType}}\n| tak 3"}, "filter_definition.query",
     "line 3, column 3: unknown query operator 'tak'"),
    ({"query": "Events\n  | where EventTime > {{eventType}}"}, "filter_definition.query",
     "line 2, column 11: cannot compare a datetime with a string"),
])
def test_an_invalid_definition_is_refused_naming_the_field(api, fields, field, words):
    types = fields.pop("types", {"eventType": "string"})
    message = spb.FilterDefinition(
        name=fields.get("name", "d"), query=fields.get("query", "Events | where EventType == "
                                                               "{{eventType}}"),
        category=fields.get("category", ""), description=fields.get("description", ""),
        parameters=[spb.FilterParameter(name=n, type=spb.ParameterType.Value(
            f"PARAMETER_TYPE_{t.upper()}")) for n, t in types.items()])
    for method in ("CreateFilterDefinition", "ReplaceFilterDefinition"):
        with pytest.raises(TrackstoreError) as error:
            api.call(method, filter_definition=message)
        assert error.value.code == INVALID, error.value
        assert field in violations(error.value), violations(error.value)
        assert words in violations(error.value)[field], violations(error.value)
    with pytest.raises(TrackstoreError) as error:  # nothing was stored
        api.call("GetFilterDefinition", name=message.name or "d")
    assert error.value.code in (grpc.StatusCode.NOT_FOUND, INVALID)


def test_a_duplicate_parameter_is_refused(api):
    message = definition("d", "Events | take {{n}}", n="int")
    message.parameters.append(spb.FilterParameter(name="n", type=spb.PARAMETER_TYPE_LONG))
    with pytest.raises(TrackstoreError) as error:
        api.call("CreateFilterDefinition", filter_definition=message)
    assert "declares 'n' a second time" in violations(error.value)[
        "filter_definition.parameters[1].name"]


def preview(api, query: str, kind: str, parameter: spb.ParameterValue):
    inline = definition("p", query, p=kind)
    return api.call("PreviewFilterDefinition", inline_definition=inline,
                    parameters={"p": parameter})


@pytest.mark.parametrize("kind, parameter, literal", [
    ("bool", value("bool", True), "true"),
    ("datetime", value("datetime", dt.datetime(2020, 1, 2, 3, 4, 5)),
     "datetime(2020-01-02T03:04:05Z)"),
    ("guid", value("guid", "0b7e8a52-0f3c-4d5e-9a1b-2c3d4e5f6a7b"),
     "'0b7e8a52-0f3c-4d5e-9a1b-2c3d4e5f6a7b'"),
    ("guid", value("string", "0B7E8A52-0F3C-4D5E-9A1B-2C3D4E5F6A7B"),
     "'0B7E8A52-0F3C-4D5E-9A1B-2C3D4E5F6A7B'"),
    ("int", value("int", -2147483648), "-2147483648"),
    ("int", value("long", 2147483647), "2147483647"),
    ("long", value("long", 9223372036854775807), "9223372036854775807"),
    ("long", value("int", 7), "7"),
    ("double", value("double", 0.25), "0.25"),
    ("double", value("long", 3), "3.0"),
    ("string", value("string", "it's"), '"it\'s"'),
    ("timespan", value("timespan", dt.timedelta(days=1, hours=2)), "time(1.02:00:00)"),
])
def test_every_parameter_type_takes_its_values(api, kind, parameter, literal):
    api.track([{"DeviceId": "d", "EventType": "pageview"}])
    answer = preview(api, f"Events | take 1 | project same = {{{{p}}}} == {literal}", kind,
                     parameter)
    assert [item["same"] for item in answer.items] == [True]


def test_a_string_value_comes_back_as_it_was_given(api):
    api.track([{"DeviceId": "d", "EventType": "pageview"}])
    text = "it's \"quoted\" | {{p}}\n\\ \u00e9"
    answer = preview(api, "Events | take 1 | project v = {{p}}", "string", value("string", text))
    assert [item["v"] for item in answer.items] == [text]


@pytest.mark.parametrize("kind, parameter, words", [
    ("int", value("string", "abc"), "is an int, but its value is a string"),
    ("int", value("long", 2**31), "out of its range"),
    ("long", value("double", 1.0), "is a long, but its value is a double"),
    ("guid", value("guid", "not-a-guid"), "is not one"),
    ("guid", value("string", "0b7e8a52-0f3c-4d5e-9a1b"), "is not one"),
    ("double", value("double", float("inf")), "finite"),
    ("bool", value("string", "true"), "is a bool, but its value is a string"),
    ("timespan", value("string", "7d"), "is a timespan, but its value is a string"),
    ("timespan", spb.ParameterValue(timespan_value={"seconds": 5, "nanos": -1}),
     "not a valid duration"),
    ("timespan", spb.ParameterValue(timespan_value={"seconds": 10**12}), "not a valid duration"),
    ("datetime", spb.ParameterValue(datetime_value={"seconds": 300_000_000_000}),
     "not a valid timestamp"),
    ("datetime", value("string", "2020-01-01"), "is a datetime, but its value is a string"),
    ("string", value("int", 5), "is a string, but its value is an int"),
    ("string", spb.ParameterValue(), "has no value"),
])
def test_a_value_that_does_not_fit_its_type_is_refused_naming_the_parameter(api, kind, parameter,
                                                                            words):
    with pytest.raises(TrackstoreError) as error:
        preview(api, "Events | project v = {{p}}", kind, parameter)
    assert refused(error.value)[0] == INVALID
    assert words in violations(error.value)["parameters[p]"], violations(error.value)


def test_a_missing_or_extra_value_is_refused_naming_it(api):
    api.create_definition("two", "Events | where EventType == {{t}} | take {{n}}", t="string",
                          n="int")
    with pytest.raises(TrackstoreError) as error:
        api.call("PreviewFilterDefinition", name="two", parameters={"t": value("string", "x")})
    assert "has no value" in violations(error.value)["parameters[n]"]
    with pytest.raises(TrackstoreError) as error:
        api.call("PreviewFilterDefinition", name="two", parameters={
            "t": value("string", "x"), "n": value("int", 1), "m": value("int", 2)})
    assert "not a parameter of the definition" in violations(error.value)["parameters[m]"]
    with pytest.raises(TrackstoreError) as error:
        api.call("PreviewFilterDefinition", name="missing")
    assert error.value.code == grpc.StatusCode.NOT_FOUND
    with pytest.raises(TrackstoreError) as error:
        api.call("PreviewFilterDefinition")
    assert "name" in violations(error.value)


def test_preview_answers_as_preview_does_with_its_limits(api):
    api.track([{"DeviceId": f"d{i}", "EventType": "pageview" if i % 2 else "purchase"}
               for i in range(1001)])
    api.create_definition("typed", "Events | where EventType == {{t}} | project DeviceId",
                          t="string")
    by_name = api.call("PreviewFilterDefinition", name="typed",
                       parameters={"t": value("string", "purchase")})
    plain = api.client.preview(api.scope,
                               "Events | where EventType == 'purchase' | project DeviceId")
    assert [c.name for c in by_name.columns] == ["DeviceId"]
    assert by_name.count == plain["count"] == 501 and not by_name.truncated
    assert sorted(i["DeviceId"] for i in by_name.items) == sorted(
        i["DeviceId"] for i in plain["items"])
    everything = preview(api, "Events | take {{p}}", "long", value("long", 5000))
    assert everything.count == 1000 and everything.truncated
    with pytest.raises(TrackstoreError) as error:  # a value the query cannot take
        preview(api, "Events | take {{p}}", "long", value("long", -1))
    assert error.value.code == INVALID
    assert "'take' needs a constant number" in violations(error.value)["inline_definition.query"]


HOSTILE = [
    "x' or 1 == 1 or EventType == 'pageview",
    'x" | take 1000 //',
    "{{t}}",
    "pageview\n| where 1 == 1",
    "'; DROP TABLE lake.main.events; --",
    "Events | summarize count() by EventType",
]


def test_string_values_stay_string_literals(api):
    ids = api.track([{"DeviceId": f"hostile-{i}", "EventType": text}
                     for i, text in enumerate(HOSTILE)] +
                    [{"DeviceId": "plain", "EventType": "pageview"}] * 3)
    query = "Events | where EventType == {{t}} | project TrackId, EventType, DeviceId"
    api.create_definition("by-type", query, t="string")
    for i, text in enumerate(HOSTILE):
        answer = api.call("PreviewFilterDefinition", name="by-type",
                          parameters={"t": value("string", text)})
        assert [(r["TrackId"], r["EventType"]) for r in answer.items] == [(ids[i], text)]
    # the stored definition and the events are as they were
    assert api.call("GetFilterDefinition", name="by-type").filter_definition.query == query
    assert api.client.preview(api.scope, "Events | count")["items"] == [{"Count": 9}]
