"""The test events, stored in DuckDB with the storage types the server uses."""
from __future__ import annotations

import json
from datetime import datetime

import duckdb

NOW = datetime(2024, 1, 1, 12, 0, 0)

COLUMNS = ["TrackId", "DeviceId", "EventType", "Value", "Scope", "PageUri", "PageTitle",
           "RemoteAddress", "SessionId", "User", "Payload", "CountryCode", "City", "EventTime"]

# (TrackId, EventType, City, CountryCode, User, Payload, EventTime, SessionId, PageUri, PageTitle, Value)
EVENTS = [
    ("t01", "pageview", "Berlin", "DE", {"Email": "ann@example.com", "Name": "Ann"},
     {"price": 150, "name": "Shoes", "content-id": "c1", "tags": ["a", "b"],
      "a": {"b": [10, 20]}, "when": "2019-06-01T10:00:00Z"},
     datetime(2019, 6, 1, 10, 0), "s1", "https://shop.example.com/shoes?id=42",
     "Red Shoes - Shop", "5"),
    ("t02", "pageview", "Oslo", "NO", {"Email": ""}, {"price": 99.5, "name": "Hat"},
     datetime(2020, 1, 1, 0, 0), "s1", "https://shop.example.com/hats", "Hats", "12"),
    ("t03", "click", None, None, {}, {"price": "200", "name": "hat"},
     datetime(2021, 3, 15, 12, 30), "s2", "https://example.com/blog/North-America", "Blog", None),
    ("t04", "pageview", "berlin", "DE", {"Email": "bob@example.com", "Name": "Bob"},
     {"flag": True, "price": None},
     datetime(2018, 12, 31, 23, 59, 59), "s2", "http://shop.example.com/", "Home", "x"),
    ("t05", "purchase", "Paris", "FR", None, None,
     datetime(2022, 7, 4, 8, 0), "s3", "https://shop.example.com/checkout", "Checkout", "7.5"),
    ("t06", "pageview", "", "", {"Email": "CAROL@example.com", "Name": "Carol"},
     {"price": 100, "flag": False, "tags": ["b"]},
     datetime(2023, 2, 1, 0, 0), "s3", "https://shop.example.com/shoes", "Shoes", "3"),
    ("t07", "purchase", "Berlin", "DE", {"Email": "ann@example.com", "Name": "Ann"},
     {"price": 250.25, "name": "Boots"},
     datetime(2023, 12, 31, 18, 45), "s1", "https://shop.example.com/checkout", "Checkout", "250"),
    ("t08", "click", "Oslo", "NO", {"Email": "dan@example.com"}, {"price": 5},
     datetime(2023, 12, 31, 23, 0), "s4", "https://shop.example.com/hats?sort=price", "Hats",
     "-1"),
]


def make_connection() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    cols = ", ".join(
        f'"{c}" ' + ("JSON" if c in ("User", "Payload") else
                     "TIMESTAMP" if c == "EventTime" else "VARCHAR")
        for c in COLUMNS)
    con.execute(f'CREATE TABLE events ({cols})')
    for (tid, etype, city, cc, user, payload, when, session, uri, title, value) in EVENTS:
        row = {
            "TrackId": tid, "DeviceId": "d-" + tid, "EventType": etype, "Value": value,
            "Scope": "shop", "PageUri": uri, "PageTitle": title, "RemoteAddress": "10.0.0.1",
            "SessionId": session, "User": None if user is None else json.dumps(user),
            "Payload": None if payload is None else json.dumps(payload), "CountryCode": cc,
            "City": city, "EventTime": when,
        }
        con.execute(f"INSERT INTO events VALUES ({', '.join('?' * len(COLUMNS))})",
                    [row[c] for c in COLUMNS])
    # one event of another scope, visible only when the server's source fragment is not used
    con.execute("INSERT INTO events (\"TrackId\", \"EventType\", \"Scope\", \"EventTime\") "
                "VALUES ('z99', 'pageview', 'other', TIMESTAMP '2023-01-01')")
    return con




def promoted_connection(order_column: bool = False) -> duckdb.DuckDBPyConnection:
    """The test events with Payload.price promoted as `p_price` (querylang.schema.PromotedKey),
    and with `order_column` a coarse order key `p_price_order` (prices 99.5 and 100 share one,
    so ties of the key are exercised)."""
    con = make_connection()
    con.execute("ALTER TABLE events ADD COLUMN p_price DOUBLE")
    con.execute("""UPDATE events SET p_price = TRY_CAST(json_extract_string("Payload", '$.price')
                   AS DOUBLE)""")
    if order_column:
        con.execute("ALTER TABLE events ADD COLUMN p_price_order BIGINT")
        con.execute("UPDATE events SET p_price_order = CAST(floor(p_price / 100) AS BIGINT)")
    return con


def promoted_schema(order_column: bool = False):
    from querylang.schema import EVENTS_SCHEMA, PromotedKey, Schema
    key = PromotedKey("Payload", ("price",), "p_price", "real",
                      "p_price_order" if order_column else "")
    return Schema(EVENTS_SCHEMA.table, EVENTS_SCHEMA.columns, (key,))
