"""Through the real server: a test for a value the scope never held answers from the known
values without a scan, and answers stay exact as new values arrive, are flushed, or were stored
before the server kept values at all (server/column_values.py, server/device_ids.py)."""
from __future__ import annotations

from helpers import count, event


def test_a_value_is_found_from_the_moment_it_is_acknowledged(shared_server):
    scope = "known-values"
    with shared_server.client() as client:
        client.track(scope, [event(i) for i in range(20)])  # pageview and purchase, in SE
        assert count(client, scope, "EventType == 'signup'") == 0
        assert count(client, scope, "EventType == 'pageview'") == 10
        assert count(client, scope, "EventType == 'signup' or CountryCode == 'SE'") == 20
        assert count(client, scope, "not(EventType == 'signup')") == 20
        assert client.list(scope, filter="EventType eq 'signup'")["items"] == []
        # Not flushed yet: the new value is known from memory.
        client.track(scope, [event(100, EventType="signup", CountryCode="NO")])
        assert count(client, scope, "EventType == 'signup'") == 1
        assert count(client, scope, "EventType == 'signup' and CountryCode == 'NO'") == 1
        listed = client.list(scope, filter="EventType eq 'signup'")["items"]
        assert [e["EventType"] for e in listed] == ["signup"]
        client.compact()  # flushed, and the files rewritten
        assert count(client, scope, "EventType in ('signup', 'nope')") == 1
        assert count(client, scope, "CountryCode == 'NO'") == 1
        # Another scope's values are not this one's.
        assert count(client, "known-values-other", "EventType == 'pageview'") == 0


def test_values_survive_a_restart_and_are_filled_in_for_an_older_store(start_server, tmp_path):
    data_dir = tmp_path / "data"
    server = start_server(data_dir=data_dir)
    with server.client() as client:
        client.track("shop", [event(i) for i in range(10)])
        client.track("shop", [event(10, EventType="refund")])
    server.stop()
    restarted = start_server(data_dir=data_dir)
    with restarted.client() as client:
        assert count(client, "shop", "EventType == 'refund'") == 1
        assert count(client, "shop", "EventType == 'nope'") == 0
    restarted.stop()
    # As a server before the table existed left the store: the events, no values, format 1.
    from trackstore_server.config import Settings
    from trackstore_server.store import STORE_FORMAT_TABLE, open_store

    conn = open_store(Settings(data_dir=str(data_dir)))
    conn.execute("DROP TABLE lake.main.column_values")
    conn.execute(f'DELETE FROM {STORE_FORMAT_TABLE} WHERE "Version" >= 2')
    conn.close()
    upgraded = start_server(data_dir=data_dir)
    with upgraded.client() as client:
        assert count(client, "shop", "EventType == 'refund'") == 1
        assert count(client, "shop", "EventType == 'pageview'") == 5
        assert count(client, "shop", "CountryCode == 'SE'") == 11
        assert count(client, "shop", "CountryCode == 'DE'") == 0


def test_a_device_is_found_from_its_first_event_and_after_a_restart(start_server, tmp_path):
    data_dir = tmp_path / "data"
    server = start_server(data_dir=data_dir)
    with server.client() as client:
        client.track("shop", [event(i) for i in range(14)])  # device-0 .. device-6
        assert count(client, "shop", "DeviceId == 'device-3'") == 2
        assert count(client, "shop", "DeviceId == 'tablet-1'") == 0
        assert count(client, "shop", "DeviceId in ('tablet-1', 'device-6')") == 2
        client.track("shop", [event(20, DeviceId="tablet-1")])  # not flushed yet
        assert count(client, "shop", "DeviceId == 'tablet-1'") == 1
        assert count(client, "other", "DeviceId == 'tablet-1'") == 0
    server.stop()
    restarted = start_server(data_dir=data_dir)
    with restarted.client() as client:
        assert count(client, "shop", "DeviceId == 'tablet-1'") == 1
        assert count(client, "shop", "DeviceId == 'tablet-2'") == 0
        client.compact()
        assert count(client, "shop", "DeviceId in ('tablet-1', 'device-0')") == 3
