"""trackstore.Client against the real server: every method, scopes, errors, typed results."""
from __future__ import annotations

import datetime as dt
import hashlib
import subprocess
import sys
import uuid
import warnings

import pyarrow as pa
import pytest

import trackstore
import trackstore_client
from helpers import event


@pytest.fixture
def client(shared_server):
    with trackstore.Client(shared_server.target) as client:
        yield client


def test_track_preview_list_delete_batch_delete(client):
    ids = client.track([event(1), event(2), event(3)], scope="calls")
    assert len(ids) == 3
    assert client.preview("Events | count", scope="calls")[0] == {"Count": 3}
    page = client.list(orderby="EventTime asc", scope="calls")
    assert [row["TrackId"] for row in page] == [ids[0], ids[1], ids[2]]
    assert page.count == 3 and len(page) == 3
    assert client.delete(ids[0], scope="calls") == ids[0]
    assert client.batch_delete([ids[1], "no-such-id"], allow_missing=True,
                               scope="calls") == [ids[1]]
    assert [row["TrackId"] for row in client.list(scope="calls")] == [ids[2]]


def test_client_track_ids_are_uuid7_of_the_event_time(client):
    ids = client.track([event(5), {"EventType": "now"}], scope="ids")
    first = uuid.UUID(ids[0])
    assert first.version == 7
    millis = int.from_bytes(first.bytes[:6], "big")
    assert dt.datetime.fromtimestamp(millis / 1000, dt.timezone.utc) == dt.datetime(
        2020, 1, 6, 12, 0, 5, tzinfo=dt.timezone.utc)
    assert uuid.UUID(ids[1]).version == 7


def test_the_client_scope_and_a_call_scope(shared_server):
    with trackstore.Client(shared_server.target, scope="mine") as client:
        client.track([event(1)])
        client.track([event(2), event(3)], scope="theirs")
        assert client.preview("Events | count")[0]["Count"] == 1
        assert client.preview("Events | count", scope="theirs")[0]["Count"] == 2


def test_track_stream_batches_any_number_of_events(client):
    ids = client.track_stream((event(i) for i in range(2500)), scope="stream", batch_size=1000)
    assert len(set(ids)) == 2500
    assert client.preview("Events | count", scope="stream")[0]["Count"] == 2500


def test_track_stream_goes_on_in_a_new_stream_where_an_answer_would_not_fit(client,
                                                                            monkeypatch):
    """Each stream ends before its answer's TrackIds would pass the message limit (scaled down
    here: two messages of 500 client ids a stream), so the events go out in three streams."""
    per_message = 500 * (36 + 3)  # UUIDv7 ids and their framing
    monkeypatch.setattr(trackstore.calls, "STREAM_ACK_BYTES", 2 * per_message + 100)
    streams = []
    method = client._methods["TrackStream"]

    def counting(requests, **kwargs):
        streams.append(list(requests))
        return method(iter(streams[-1]), **kwargs)

    monkeypatch.setitem(client._methods, "TrackStream", counting)
    ids = client.track_stream((event(i) for i in range(2300)), scope="streams",
                              batch_size=500)
    assert [[len(r.events) for r in stream] for stream in streams] == [[500, 500], [500, 500],
                                                                      [300]]
    assert len(set(ids)) == 2300
    assert client.preview("Events | count", scope="streams")[0]["Count"] == 2300


def test_track_stream_raises_the_bad_event_not_a_grpc_error(client):
    def events():
        yield event(1)
        yield {"NoSuchField": 1}

    with pytest.raises(ValueError, match="unknown event fields: NoSuchField"):
        client.track_stream(events(), scope="stream-bad")


def test_iter_list_pages_within_the_window(client):
    client.track_stream((event(i) for i in range(2500)), scope="pages")
    seen = [row["TrackId"] for row in client.iter_list(
        orderby="EventTime asc", page_size=1000, scope="pages")]
    assert len(seen) == len(set(seen)) == 2500
    assert len(list(client.iter_list(skip=2400, top=50, page_size=20, scope="pages"))) == 50


def test_iter_list_warns_when_the_window_leaves_events(client):
    client.track_stream((event(i) for i in range(10_050)), scope="window", batch_size=5000)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rows = sum(1 for _ in client.iter_list(page_size=5000, scope="window"))
    assert rows == 9_999
    assert [w.category for w in caught] == [trackstore.ListWindowWarning]


def test_compact_and_stats(client):
    ids = client.track([event(1), event(2)], scope="admin")
    client.delete(ids[0], scope="admin")
    assert client.stats().pending_deletions >= 1
    compacted = client.compact()
    assert compacted.applied_deletions >= 1 and compacted["seconds"] >= 0
    stats = client.stats()
    assert stats.pending_deletions == 0 and stats["events"] >= 1


def test_preview_to_arrow_is_typed_by_the_kql_column_types(client):
    client.track([event(3, Payload={"n": 7, "tags": ["a", "b"]})], scope="types")
    result = client.preview(
        "Events | project EventType, Payload, EventTime, n = tolong(Payload.n), "
        "i = toint(Payload.n), r = todouble(Payload.n), b = EventType == 'purchase', "
        "span = EventTime - datetime(2020-01-01)", scope="types")
    assert [(c.name, c.type) for c in result.columns] == [
        ("EventType", "string"), ("Payload", "dynamic"), ("EventTime", "datetime"),
        ("n", "long"), ("i", "int"), ("r", "real"), ("b", "bool"), ("span", "timespan")]
    row = result[0]
    assert row["n"] == 7 and isinstance(row["n"], int) and isinstance(row["r"], float)
    assert row["Payload"] == {"n": 7, "tags": ["a", "b"]}
    table = result.to_arrow()
    assert table.schema.types == [
        pa.string(), pa.json_(), pa.timestamp("us", tz="UTC"), pa.int64(), pa.int32(),
        pa.float64(), pa.bool_(), pa.duration("us")]
    values = table.to_pylist()[0]
    assert values["EventTime"] == dt.datetime(2020, 1, 4, 12, 0, 3, tzinfo=dt.timezone.utc)
    assert values["span"] == dt.timedelta(days=3, hours=12, seconds=3)
    assert values["Payload"] == '{"n":7,"tags":["a","b"]}'


def test_an_empty_answer_is_typed_too(client):
    result = client.preview("Events | where EventType == 'none' | project EventTime, c = 1",
                            scope="types-empty")
    table = result.to_arrow()
    assert table.num_rows == 0
    assert table.schema.types == [pa.timestamp("us", tz="UTC"), pa.int64()]


def test_list_to_arrow_has_the_event_schema(client):
    client.track([event(4)], scope="list-types")
    table = client.list(scope="list-types").to_arrow()
    assert table.column_names == list(trackstore.results.EVENT_FIELD_ORDER)
    assert table.schema.field("EventTime").type == pa.timestamp("us", tz="UTC")
    assert table.schema.field("Payload").type == pa.json_()
    assert table.schema.field("DeviceId").type == pa.string()


def test_to_pandas_when_pandas_is_installed(client):
    pytest.importorskip("pandas")
    client.track([event(1), event(2)], scope="pandas")
    frame = client.preview("Events | summarize n = count() by EventType", scope="pandas") \
        .to_pandas()
    assert sorted(frame["n"].tolist()) == [1, 1]


def test_errors_are_classes_with_their_details(client):
    with pytest.raises(trackstore.InvalidArgument) as invalid:
        client.preview("Events | where", scope="errors")
    assert invalid.value.reason == "QUERY_INVALID"
    assert invalid.value.field_violations[0].field == "query"
    assert "line 1, column" in invalid.value.message
    with pytest.raises(trackstore.NotFound) as missing:
        client.delete("no-such-id", scope="errors")
    assert isinstance(missing.value, trackstore_client.TrackstoreError)
    assert missing.value.code.name == "NOT_FOUND"


def test_every_call_has_a_deadline(client):
    with pytest.raises(trackstore.DeadlineExceeded):
        client.preview("Events | count", scope="deadline", timeout=0.000_001)


def test_unreachable_server_is_unavailable_after_retries():
    with trackstore.Client("127.0.0.1:1", timeout=2) as client:
        with pytest.raises(trackstore.Unavailable):
            client.stats()


def test_api_key_and_permission_errors(start_server, tmp_path):
    keys = tmp_path / "keys.toml"
    keys.write_text(f'[keys.web]\nkey_sha256 = "{hashlib.sha256(b"k").hexdigest()}"\n'
                    'scopes = ["shop"]\n')
    server = start_server("--api-keys-file", str(keys))
    with trackstore.Client(server.target, api_key="k", scope="shop") as client:
        assert len(client.track([event(1)])) == 1
        with pytest.raises(trackstore.PermissionDenied):
            client.preview("Events | count", scope="other")
    with trackstore.Client(server.target, api_key="wrong") as client:
        with pytest.raises(trackstore.Unauthenticated):
            client.preview("Events | count", scope="shop")


def test_the_library_imports_without_the_server():
    code = ("import sys, trackstore, trackstore.aio; trackstore.Client; trackstore.Tracker; "
            "bad = [m for m in sys.modules if m.startswith(('trackstore_server', 'duckdb'))]; "
            "print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
