"""Import through the real server: each platform's seed examples (tests/data/imports/, copied
as the seed documents print them, faults included) land with their values in the right columns;
a second import of the same file adds nothing; a malformed record is refused with its place,
or skipped and listed with skip_invalid; the CLI imports a file and stdin."""
from __future__ import annotations

import json
import pathlib

import grpc
import pytest

from trackstore_client import TrackstoreError
from export_support import Calls
from helpers import count, error_reason
from tests_support import run_cli

DATA = pathlib.Path(__file__).resolve().parents[1] / "data" / "imports"


def _stored(calls, scope: str) -> dict[str, dict]:
    """The scope's events by TrackId, as the export answers them."""
    items, _ = calls.page(scope=scope, page_size=1000)
    return {item["TrackId"]: item for item in items}


def _import_twice(calls, source: str, name: str, scope: str, **options) -> dict[str, dict]:
    data = (DATA / name).read_bytes()
    first = calls.import_(source, data, scope=scope, **options)
    again = calls.import_(source, data, scope=scope, **options)
    assert first.imported == len(set(first.track_ids)) > 0
    assert (again.imported, again.already_stored) == (0, first.imported)
    stored = _stored(calls, scope)
    assert len(stored) == first.imported, "the second import stored nothing"
    return stored


@pytest.fixture(scope="module")
def calls(tmp_path_factory):
    from trackstore_client.local import LocalServer

    with LocalServer(tmp_path_factory.mktemp("imports") / "data") as server:
        calls = Calls(server)
        yield calls
        calls.close()


def test_statsig_batch_with_its_missing_comma(calls):
    data = (DATA / "statsig-batch.json").read_bytes()
    with pytest.raises(TrackstoreError) as refused:
        calls.import_("statsig", data, scope="statsig")
    assert refused.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert error_reason(refused.value) == "IMPORT_RECORDS_INVALID"
    fault = data.decode().splitlines().index('    "user": {"userID": "user_1", "country": "US"},',
                                             24) + 1
    assert (f"1 of 3 records cannot be imported, so none was (skip_invalid imports the "
            f"others): record 2: line {fault}, column 5: not valid JSON") in refused.value.message
    assert _stored(calls, "statsig") == {}
    stored = _import_twice(calls, "statsig", "statsig-batch.json", "statsig", skip_invalid=True)
    answer = calls.import_("statsig", data, scope="statsig", skip_invalid=True)
    assert (answer.records, answer.skipped) == (3, 1)
    assert [(p.index, p.line, p.column) for p in answer.problems] == [(2, fault, 5)]
    page_view = stored["f4c414a0-8ab5-11ec-a8a3-0242ac120002"]
    assert page_view["EventType"] == "page_view"
    assert page_view["Value"] == "example_value"
    assert page_view["User"] == {"userID": "user_1", "country": "US"}
    assert page_view["EventTime"] == "2022-02-10T19:16:06.967000Z"  # 1644520566967 ms
    assert page_view["Payload"] == {"userID": "user_1", "metadata": {"page": "home_page"},
                                    "statsigMetadata": {}}
    gate = stored["f4c414a0-8ab5-11ec-a8a3-0242ac120003"]
    assert gate["Payload"]["unitID"] == "userID" and gate["Value"] == ""


@pytest.mark.parametrize("name", ["statsig-custom-event.json",
                                  "statsig-experiment-exposure.json"])
def test_statsig_examples_with_placeholders_are_refused_where_they_are(calls, name):
    data = (DATA / name).read_bytes()
    placeholder = next(number for number, line in enumerate(data.decode().splitlines(), 1)
                       if "..." in line)
    with pytest.raises(TrackstoreError) as refused:
        calls.import_("statsig", data, scope="placeholders")
    assert f"record 0: line {placeholder}, column" in refused.value.message
    skipped = calls.import_("statsig", data, scope="placeholders", skip_invalid=True)
    assert (skipped.records, skipped.imported, skipped.skipped) == (1, 0, 1)


def test_statsig_digits_as_a_time_once_the_placeholders_are_filled(calls):
    text = (DATA / "statsig-custom-event.json").read_text().replace("...", '"sdk": "js"')
    answer = calls.import_("statsig", text.encode(), scope="statsig-digits")
    stored = _stored(calls, "statsig-digits")[answer.track_ids[0]]
    assert answer.track_ids[0] == "abd2a983-ec0f-11ec-917a-fb8cdaeda578"
    assert stored["EventTime"] == "2022-06-14T18:27:33.265000Z"  # "1655231253265"
    assert stored["Payload"]["metadata"] == {"key_a": "value_a", "key_b": "123"}
    assert stored["Payload"]["statsigMetadata"] == {"sdk": "js"}


def test_absmartly_goal_event(calls):
    stored = _import_twice(calls, "absmartly", "absmartly-goal.json", "absmartly")
    (goal,) = stored.values()
    assert (goal["EventType"], goal["Value"], goal["DeviceId"]) == (
        "goal", "purchase", "LTSLmGJb-oGQVJhxElUwtQ")
    assert goal["EventTime"] == "2025-11-14T12:45:36.749000Z"  # event_at 1763124336749
    assert goal["Payload"]["properties"] == {"price": 1000, "currency": "euro",
                                             "order_number": "0000982532",
                                             "product_id": "ABC123", "category_id": "ZYZ123"}
    assert goal["Payload"]["goal_id"] == 106 and goal["Payload"]["unit_type"] == "absId"


def test_croct_export_page(calls):
    stored = _import_twice(calls, "croct", "croct-export-page.json", "croct")
    event = stored["924f6c8f-3b5b-47ea-b483-25a0506dc436"]
    assert event["EventType"] == "userSignedIn"
    assert event["SessionId"] == "343dd18a-1ab1-4298-8b19-f14880ba4e9c"
    assert event["User"] == {"userId": "91d286ab-654a-47a3-ae3f-a0c0d661e44d"}
    assert event["PageUri"] == "https://www.example.com"
    assert event["EventTime"] == "2015-08-31T03:00:00.000000Z"
    assert event["Payload"] == {"externalUserId": "user-123", "context": {
        "type": "web", "tabId": "0b032685-0a7e-4cdd-9ff1-9d3af33507a4"}}


def test_profile_store_event_and_preview_answer(calls):
    stored = _import_twice(calls, "profilestore", "profilestore-event.json", "profilestore")
    (home,) = stored.values()
    assert home["EventType"] == "home" and home["CountryCode"] == "Localhost"
    assert home["EventTime"] == "2017-09-15T07:16:34.795781Z"  # 7 digits kept to the µs
    assert home["Payload"]["contentTypeID"] == 170
    answer = calls.import_("profilestore", (DATA / "profilestore-preview.json").read_bytes(),
                           scope="default")
    assert answer.records == 2 and answer.imported == 2
    by_device = {item["DeviceId"]: item for item in _stored(calls, "default").values()}
    other = by_device["558356a7-86d2-4ca7-9c00-c01c46d82222"]
    assert other["User"] == {"Email": "[email\xa0protected]", "Name": "John Smith"}  # as printed
    assert other["Payload"] is None and other["EventTime"] == "2020-01-23T21:27:59.866123Z"
    with pytest.raises(TrackstoreError) as refused:  # its Scope is "default"
        calls.import_("profilestore", (DATA / "profilestore-preview.json").read_bytes(),
                      scope="elsewhere")
    assert "Scope 'default' is not the import's scope 'elsewhere'" in refused.value.message


def test_the_cli_imports_a_file_and_stdin(start_server):
    server = start_server()
    target = ["--target", server.target]
    done = run_cli("import", "--from", "statsig", str(DATA / "statsig-batch.json"),
                   "--skip-invalid", *target)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert (answer["records"], answer["imported"], answer["skipped"]) == (3, 2, 1)
    assert answer["problems"][0]["index"] == 2
    refused = run_cli("import", "--from", "statsig", "-", *target,
                      input=(DATA / "statsig-batch.json").read_text())
    assert refused.returncode == 1
    assert refused.stderr.startswith("INVALID_ARGUMENT: 1 of 3 records cannot be imported")
    piped = run_cli("import", "--from", "croct", "--scope", "c", "-", *target,
                    input=(DATA / "croct-export-page.json").read_text())
    assert json.loads(piped.stdout)["imported"] == 1
    with server.client() as client:
        assert count(client, "c") == 1 and count(client, "default") == 2
