"""Deterministic, realistic product-analytics events for the benchmark, generated column-wise.

    python bench/generate.py --events 1000000 --out /tmp/events.parquet

One seed gives the same rows every time. The rows are built as Arrow columns (numpy for the
random draws, pyarrow.compute for the strings), never event by event in Python, so a million
events take a few seconds. Two outputs come from the same rows:

- `write_parquet()`: a plain Parquet file with the columns and types of the table
  `lake.main.events` (written by DuckDB, as DuckLake writes its files), the reference that raw
  DuckDB queries read;
- `encode_requests()`: the rows as serialized `TrackStreamRequest` / `TrackRequest` messages
  (protobuf wire format built with Arrow, byte-identical to what the protobuf library writes),
  so the ingest benchmark measures the server, not client-side message building;
  `track_event_batches()` parses them back into `TrackEvent` messages for callers that want them.

What the data looks like (the variety matters: with few distinct Payloads, Parquet dictionaries
hide the cost of JSON extraction and the benchmark would flatter us):
- EventTime over 90 days, a daily rhythm (quiet nights, an evening peak), weekends busier,
  slow growth over the period; rows come in time order, as they are tracked;
- 50 event types with a Zipf-like spread (pageview most frequent);
- 1,000,000 devices with skewed activity; sessions of 30-minute windows per device;
- 10 countries with a few cities each, an IPv4 address per device;
- User: a third of the events with {"Email", "Name", "Id"}, a third with {"Id", "Locale"},
  a third without User;
- Payload: 5 to 10 properties by event family (commerce, content, interaction, other), with
  random prices, quantities, ids, search words, nested objects and optional keys.
"""
from __future__ import annotations

import argparse
import datetime as dt
import pathlib
import re
import sys
import time
from dataclasses import dataclass
from typing import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from trackstore.v1 import trackevents_pb2 as pb

# The table's columns, in order, with their Arrow types (server/event_batch.py ARROW_SCHEMA).
COLUMNS = (
    "TrackId", "DeviceId", "EventType", "Value", "Scope", "PageUri", "PageTitle",
    "RemoteAddress", "SessionId", "User", "Payload", "CountryCode", "City", "EventTime",
)
ARROW_SCHEMA = pa.schema(
    [(name, pa.timestamp("us") if name == "EventTime" else pa.string()) for name in COLUMNS]
)

DEFAULT_START = dt.datetime(2025, 10, 1)
DEFAULT_SCOPE = "bench"

# 50 event types, most frequent first; frequency of rank k is proportional to 1 / k**1.1.
EVENT_TYPES = (
    "pageview", "click", "product_view", "search", "add_to_cart", "scroll", "session_start",
    "video_play", "remove_from_cart", "checkout_start", "purchase", "login", "form_submit",
    "wishlist_add", "share", "newsletter_signup", "filter_apply", "sort_change", "review_submit",
    "coupon_apply", "video_complete", "logout", "signup", "download", "chat_open", "chat_message",
    "notification_open", "push_opt_in", "address_add", "payment_add", "payment_failed",
    "refund_request", "order_cancel", "store_locator", "compare_products", "size_guide_view",
    "gift_card_redeem", "loyalty_join", "loyalty_redeem", "referral_sent", "app_install",
    "app_open", "error_shown", "banner_click", "recommendation_click", "survey_answer",
    "subscription_start", "subscription_cancel", "account_delete", "experiment_exposure",
)
COMMERCE = {
    "product_view", "add_to_cart", "remove_from_cart", "checkout_start", "purchase",
    "wishlist_add", "coupon_apply", "compare_products", "gift_card_redeem", "order_cancel",
    "refund_request", "recommendation_click",
}
CONTENT = {"pageview", "search", "scroll", "filter_apply", "sort_change", "size_guide_view",
           "store_locator", "video_play", "video_complete"}
INTERACTION = {"click", "form_submit", "share", "banner_click", "chat_open", "chat_message",
               "review_submit", "survey_answer", "notification_open"}

COUNTRIES = (
    ("US", 0.30, ("New York", "Los Angeles", "Chicago", "Houston", "Seattle")),
    ("DE", 0.15, ("Berlin", "Hamburg", "Munich", "Cologne")),
    ("GB", 0.12, ("London", "Manchester", "Birmingham")),
    ("SE", 0.08, ("Stockholm", "Gothenburg", "Malmo")),
    ("FR", 0.08, ("Paris", "Lyon", "Marseille")),
    ("NL", 0.07, ("Amsterdam", "Rotterdam", "Utrecht")),
    ("IN", 0.07, ("Mumbai", "Delhi", "Bangalore")),
    ("BR", 0.05, ("Sao Paulo", "Rio de Janeiro")),
    ("JP", 0.05, ("Tokyo", "Osaka")),
    ("AU", 0.03, ("Sydney", "Melbourne")),
)

WORDS = (
    "wireless", "headphones", "running", "shoes", "leather", "jacket", "organic", "coffee",
    "beans", "smart", "watch", "kids", "toys", "garden", "chair", "desk", "lamp", "linen",
    "shirt", "dress", "summer", "winter", "boots", "backpack", "travel", "mug", "ceramic",
    "vase", "yoga", "mat", "protein", "bar", "camera", "lens", "tripod", "gaming", "mouse",
    "keyboard", "monitor", "cable", "charger", "phone", "case", "tablet", "stand", "kitchen",
    "knife", "pan", "pot", "blender", "toaster", "kettle", "pillow", "blanket", "towel",
    "soap", "shampoo", "perfume", "wallet", "belt", "scarf", "gloves", "hat", "socks", "jeans",
    "sofa", "rug", "curtain", "mirror", "clock", "bike", "helmet", "tent", "stove", "bottle",
    "sunglasses", "ring", "necklace", "bracelet", "earrings", "puzzle", "book", "notebook",
    "pen", "paint", "brush", "guitar", "drum", "speaker", "vinyl", "drone", "printer", "paper",
    "plant", "seeds", "soil", "candle", "tea", "chocolate", "wine", "glass", "red", "blue",
    "black", "white", "green", "large", "small", "cheap", "premium", "sale", "new", "vintage",
)
FIRST_NAMES = ("anna", "erik", "maria", "john", "li", "sofia", "ahmed", "emma", "lucas", "mia",
               "noah", "olivia", "liam", "ava", "hugo", "elsa", "omar", "yuki", "raj", "zoe")
LAST_NAMES = ("smith", "berg", "garcia", "muller", "chen", "rossi", "khan", "martin", "silva",
              "tanaka", "patel", "johansson", "dubois", "kowalski", "nguyen", "jensen")
DOMAINS = ("example.com", "mail.example.org", "shop-customer.net", "inbox.example.se")
CATEGORIES = ("electronics", "fashion", "home", "garden", "sports", "beauty", "toys", "books",
              "grocery", "outdoor", "office", "music")
CURRENCIES = ("USD", "EUR", "GBP", "SEK")
SECTIONS = ("p", "c", "search", "blog", "help", "account", "cart", "checkout")
ELEMENTS = ("button", "link", "image", "tab", "menu", "card", "banner", "icon")
REFERRERS = ("https://www.google.com/", "https://www.bing.com/", "https://t.co/",
             "https://www.facebook.com/", "https://news.example.net/", "")
LOCALES = ("en-US", "de-DE", "en-GB", "sv-SE", "fr-FR", "nl-NL", "hi-IN", "pt-BR", "ja-JP")
VARIANTS = ("A", "B", "C")
UTM_SOURCES = ("newsletter", "google", "facebook", "partner")
UTM_MEDIUMS = ("email", "cpc", "social")
_COUNTRY_WEIGHTS = np.array([weight for _, weight, _ in COUNTRIES])
# Each event type's payload family: 0 commerce, 1 content, 2 interaction, 3 other.
_FAMILY_OF_TYPE = np.array([
    0 if name in COMMERCE else 1 if name in CONTENT else 2 if name in INTERACTION else 3
    for name in EVENT_TYPES
])

HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
GOLDEN = np.uint64(0x9E3779B97F4A7C15)


@dataclass(frozen=True)
class Config:
    events: int = 10_000_000
    seed: int = 42
    days: int = 90
    devices: int = 1_000_000
    start: dt.datetime = DEFAULT_START
    chunk_rows: int = 100_000
    scope: str = DEFAULT_SCOPE

    @property
    def end(self) -> dt.datetime:
        return self.start + dt.timedelta(days=self.days)


# -- small vectorised helpers ---------------------------------------------------------------------

def _mix(x: np.ndarray, salt: int) -> np.ndarray:
    """A splitmix64-style hash of uint64 values: deterministic, well spread."""
    with np.errstate(over="ignore"):
        z = (x.astype(np.uint64) + np.uint64(salt) * GOLDEN) * GOLDEN
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def _strings_from_matrix(chars: np.ndarray) -> pa.StringArray:
    """An (n, width) uint8 matrix of ASCII -> n strings of that width, without copying per row."""
    n, width = chars.shape
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    data = np.ascontiguousarray(chars).reshape(-1)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data))


def _hex_chars(values: np.ndarray, digits: int = 16) -> np.ndarray:
    """(n,) uint64 -> (n, digits) uint8 matrix of lowercase hex, most significant first."""
    shifts = np.arange(digits - 1, -1, -1, dtype=np.uint64) * np.uint64(4)
    nibbles = (values[:, None] >> shifts[None, :]) & np.uint64(15)
    return HEX[nibbles.astype(np.intp)]


def hex_strings(values: np.ndarray, digits: int = 16) -> pa.StringArray:
    return _strings_from_matrix(_hex_chars(values, digits))


def uuid_strings(high: np.ndarray, low: np.ndarray, version: int = 4) -> pa.StringArray:
    """Two uint64 arrays -> canonical 8-4-4-4-12 UUID text (version and variant set)."""
    h = _hex_chars(high)
    l = _hex_chars(low)
    h[:, 12] = ord(str(version))
    l[:, 0] = HEX[8 + (l[:, 0] % 4)]  # variant 10xx: one of 8, 9, a, b
    dash = np.full((len(high), 1), ord("-"), dtype=np.uint8)
    return _strings_from_matrix(
        np.hstack([h[:, 0:8], dash, h[:, 8:12], dash, h[:, 12:16], dash, l[:, 0:4], dash, l[:, 4:16]])
    )


def _pick(choices, index: np.ndarray) -> pa.Array:
    return pa.array(choices, type=pa.string()).take(pa.array(index, type=pa.int64()))


def _num(values: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(values), pa.string())


def _join(*parts) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


def _zipf_index(rng: np.random.Generator, n: int, size: int, exponent: float) -> np.ndarray:
    weights = 1.0 / np.arange(1, n + 1) ** exponent
    cumulative = np.cumsum(weights / weights.sum())
    return np.minimum(np.searchsorted(cumulative, rng.random(size)), n - 1)


def _optional(mask: np.ndarray, present: pa.Array) -> pa.Array:
    return pc.if_else(pa.array(mask), present, "")


# -- the rows -------------------------------------------------------------------------------------

def event_times(cfg: Config) -> np.ndarray:
    """All N event times in microseconds since the epoch, sorted (events arrive in time order)."""
    rng = np.random.default_rng([cfg.seed, 0])
    day_index = np.arange(cfg.days)
    start_weekday = cfg.start.weekday()
    weekend = ((day_index + start_weekday) % 7) >= 5
    day_weight = (1.0 + 0.5 * day_index / cfg.days) * np.where(weekend, 1.25, 1.0)
    hour_weight = np.array([
        0.20, 0.12, 0.08, 0.06, 0.06, 0.10, 0.25, 0.50, 0.80, 0.95, 1.00, 1.00,
        1.05, 1.00, 0.95, 0.95, 1.00, 1.10, 1.30, 1.50, 1.55, 1.35, 0.90, 0.45,
    ])
    slot_weight = (day_weight[:, None] * hour_weight[None, :]).reshape(-1)
    cumulative = np.cumsum(slot_weight / slot_weight.sum())
    slots = np.minimum(np.searchsorted(cumulative, rng.random(cfg.events)), len(slot_weight) - 1)
    offset_us = rng.integers(0, 3_600_000_000, cfg.events)
    start_us = int(cfg.start.replace(tzinfo=dt.timezone.utc).timestamp()) * 1_000_000
    times = start_us + slots.astype(np.int64) * 3_600_000_000 + offset_us
    times.sort()
    return times


def chunks(cfg: Config, times: np.ndarray | None = None) -> Iterator[pa.Table]:
    """The N events as Arrow tables of `cfg.chunk_rows` rows, in time order."""
    if times is None:
        times = event_times(cfg)
    for index, begin in enumerate(range(0, cfg.events, cfg.chunk_rows)):
        yield make_chunk(cfg, index, times[begin:begin + cfg.chunk_rows])


def make_chunk(cfg: Config, index: int, times_us: np.ndarray) -> pa.Table:
    """The chunk `index` of the events: one row per time of `times_us`, its draws seeded by
    (seed, index), so every chunk can be made alone."""
    n = len(times_us)
    rng = np.random.default_rng([cfg.seed, 1, index])
    row_ids = np.arange(index * cfg.chunk_rows, index * cfg.chunk_rows + n, dtype=np.uint64)
    # The draws come in a fixed order (devices, event types, products, pages, payloads): the
    # same seed must give the same rows.
    device = np.floor(cfg.devices * rng.random(n) ** 2.0).astype(np.uint64)  # a few heavy users
    event_type = _zipf_index(rng, len(EVENT_TYPES), n, 1.1)
    family = _FAMILY_OF_TYPE[event_type]
    product = _zipf_index(rng, 20_000, n, 0.9) + 1000
    places, country = _places(device)
    pages = _pages(rng, n, event_type, family, product)
    payload = _payloads(rng, n, family, product, row_ids, times_us)
    arrays = {
        "TrackId": uuid_strings(_mix(row_ids, 21 + cfg.seed), _mix(row_ids, 22 + cfg.seed)),
        "DeviceId": uuid_strings(_mix(device, 11), _mix(device, 12)),
        "Scope": pa.array([cfg.scope] * n, pa.string()),
        # One session per device and 30-minute window.
        "SessionId": hex_strings(_mix(device * np.uint64(100_003)
                                      + (times_us // 1_800_000_000).astype(np.uint64), 15)),
        "User": _users(device, country),
        "Payload": payload,
        "EventTime": pa.array(times_us, pa.timestamp("us")),
        **places, **pages,
    }
    return pa.Table.from_arrays([arrays[name] for name in COLUMNS], schema=ARROW_SCHEMA)


def _places(device: np.ndarray) -> tuple[dict[str, pa.Array], np.ndarray]:
    """Country, city and IPv4 address of each event's device (fixed per device), and the
    countries' indexes into COUNTRIES."""
    device_hash = _mix(device, 13)
    country = np.searchsorted(np.cumsum(_COUNTRY_WEIGHTS / _COUNTRY_WEIGHTS.sum()),
                              (device_hash % np.uint64(10_000)).astype(np.float64) / 10_000.0)
    country = np.minimum(country, len(COUNTRIES) - 1)
    city_pick = ((device_hash >> np.uint64(20)) % np.uint64(1000)).astype(np.int64)
    city_count = np.array([len(c[2]) for c in COUNTRIES])
    city_base = np.cumsum([0] + [len(c[2]) for c in COUNTRIES])[:-1]
    city = city_base[country] + city_pick % city_count[country]
    ip_hash = _mix(device, 14)
    octets = [
        _num(((ip_hash >> np.uint64(shift)) & np.uint64(255)).astype(np.int64) % 223 + 1)
        for shift in (0, 8, 16, 24)
    ]
    return {
        "CountryCode": _pick([c[0] for c in COUNTRIES], country),
        "City": _pick([city for _, _, cities in COUNTRIES for city in cities], city),
        "RemoteAddress": pc.binary_join_element_wise(*octets, "."),
    }, country


def _pages(rng, n: int, event_type: np.ndarray, family: np.ndarray,
           product: np.ndarray) -> dict[str, pa.Array]:
    """Page URI and title (a section by family, two words, the product) and Value."""
    event_type_text = _pick(EVENT_TYPES, event_type)
    product_text = _num(product)
    section = np.where(family == 0, 0, rng.integers(0, len(SECTIONS), n))
    word_a = _zipf_index(rng, len(WORDS), n, 0.8)
    word_b = _zipf_index(rng, len(WORDS), n, 0.8)
    return {
        "EventType": event_type_text,
        "Value": _join(event_type_text, ":", product_text),
        "PageUri": _join("https://shop.example.com/", _pick(SECTIONS, section), "/",
                         _pick(WORDS, word_a), "-", _pick(WORDS, word_b), "-", product_text),
        "PageTitle": _join(pc.utf8_capitalize(_pick(WORDS, word_a)), " ", _pick(WORDS, word_b),
                           " ", product_text, " | Example Shop"),
    }


def _users(device: np.ndarray, country: np.ndarray) -> pa.Array:
    """User JSON by device: a third with Email, a third anonymous with a locale, a third none."""
    device_hash = _mix(device, 13)
    person = (device_hash >> np.uint64(32)) % np.uint64(300_000)
    user_kind = (device % np.uint64(3)).astype(np.int64)
    first = (person % np.uint64(len(FIRST_NAMES))).astype(np.int64)
    last = ((person // np.uint64(len(FIRST_NAMES))) % np.uint64(len(LAST_NAMES))).astype(np.int64)
    person_text = _num(person.astype(np.int64))
    email_user = _join('{"Email":"', _pick(FIRST_NAMES, first), ".", _pick(LAST_NAMES, last),
                       person_text, "@", _pick(DOMAINS, (person % np.uint64(4)).astype(np.int64)),
                       '","Name":"', pc.utf8_capitalize(_pick(FIRST_NAMES, first)), " ",
                       pc.utf8_capitalize(_pick(LAST_NAMES, last)), '","Id":"u', person_text, '"}')
    anonymous_user = _join('{"Id":"anon-', hex_strings(device_hash, 12), '","Locale":"',
                           _pick(LOCALES, country % len(LOCALES)), '"}')
    return pc.if_else(pa.array(user_kind == 0), email_user,
                      pc.if_else(pa.array(user_kind == 1), anonymous_user,
                                 pa.nulls(len(device), pa.string())))


def _payloads(rng, n, family, product, row_ids, times_us) -> pa.Array:
    """Payload JSON text: 5 to 10 properties whose keys depend on the event family."""
    parts = []
    order = []
    request_id = hex_strings(_mix(row_ids, 31))
    client_ms = times_us // 1000 + rng.integers(-5000, 500, n)
    for fam, build in enumerate(_PAYLOAD_OF_FAMILY):
        rows = np.nonzero(family == fam)[0]
        order.append(rows)
        if len(rows) == 0:
            parts.append(pa.array([], pa.string()))
            continue
        parts.append(build(rng, len(rows), product[rows], request_id.take(pa.array(rows)),
                           _num(client_ms[rows])))
    rows = np.concatenate(order)
    inverse = np.empty(n, dtype=np.int64)
    inverse[rows] = np.arange(n)
    return pa.concat_arrays([p.cast(pa.string()) for p in parts]).take(pa.array(inverse))


def _commerce_payloads(rng, m, products, rid, cms) -> pa.Array:
    """A nested product, a cart, money, an optional coupon and campaign."""
    price = np.round(rng.lognormal(3.3, 1.0, m), 2)
    quantity = rng.integers(1, 6, m)
    items = quantity + rng.integers(0, 8, m)
    total = np.round(price * quantity + rng.lognormal(3.0, 1.2, m) * (items - quantity), 2)
    coupon = rng.random(m) < 0.15
    campaign = rng.random(m) < 0.3
    return _join(
        '{"product":{"id":', _num(products),
        ',"sku":"SKU-', hex_strings(_mix(products.astype(np.uint64), 41), 8),
        '","category":"', _pick(CATEGORIES, products % len(CATEGORIES)),
        '","price":', _num(price), '},"quantity":', _num(quantity),
        ',"cart":{"items":', _num(items), ',"total":', _num(total),
        '},"currency":"', _pick(CURRENCIES, rng.integers(0, 4, m)),
        '","requestId":"', rid, '"',
        _optional(coupon, _join(',"coupon":"SAVE', _num(rng.integers(5, 50, m)), '-',
                                hex_strings(rng.integers(0, 2**40, m).astype(np.uint64), 6), '"')),
        _optional(campaign, _join(',"campaign":"', _pick(WORDS, rng.integers(0, len(WORDS), m)),
                                  "-", _num(rng.integers(2024, 2027, m)), '"')),
        ',"clientTime":', cms, "}",
    )


def _content_payloads(rng, m, products, rid, cms) -> pa.Array:
    """Search words, result counts, timings, an optional experiment and UTM object."""
    words = [_pick(WORDS, _zipf_index(rng, len(WORDS), m, 0.9)) for _ in range(3)]
    word_count = rng.integers(1, 4, m)
    query = pc.if_else(pa.array(word_count == 1), words[0],
                       pc.if_else(pa.array(word_count == 2),
                                  _join(words[0], " ", words[1]),
                                  _join(words[0], " ", words[1], " ", words[2])))
    experiment = rng.random(m) < 0.25
    utm = rng.random(m) < 0.2
    return _join(
        '{"query":"', query, '","results":', _num(rng.integers(0, 500, m)),
        ',"durationMs":', _num(rng.integers(20, 30_000, m)),
        ',"referrer":"', _pick(REFERRERS, rng.integers(0, len(REFERRERS), m)),
        '","scrollDepth":', _num(np.round(rng.random(m), 3)),
        ',"requestId":"', rid, '"',
        _optional(experiment, _join(',"experiment":{"id":"exp-', _num(rng.integers(1, 40, m)),
                                    '","variant":"', _pick(VARIANTS, rng.integers(0, 3, m)), '"}')),
        _optional(utm, _join(',"utm":{"source":"', _pick(UTM_SOURCES, rng.integers(0, 4, m)),
                             '","medium":"', _pick(UTM_MEDIUMS, rng.integers(0, 3, m)), '"}')),
        ',"clientTime":', cms, "}",
    )


def _interaction_payloads(rng, m, products, rid, cms) -> pa.Array:
    """An element with a nested position, a label, a target."""
    label = _join(pc.utf8_capitalize(_pick(WORDS, rng.integers(0, len(WORDS), m))), " ",
                  _pick(WORDS, rng.integers(0, len(WORDS), m)))
    return _join(
        '{"element":{"type":"', _pick(ELEMENTS, rng.integers(0, len(ELEMENTS), m)),
        '","id":"el-', hex_strings(rng.integers(0, 2**24, m).astype(np.uint64), 6),
        '","position":{"x":', _num(rng.integers(0, 1920, m)),
        ',"y":', _num(rng.integers(0, 4000, m)), '}},"label":"', label,
        '","target":"https://shop.example.com/', _pick(SECTIONS, rng.integers(0, len(SECTIONS), m)),
        '/', _num(products), '","requestId":"', rid,
        '","clientTime":', cms, "}",
    )


def _other_payloads(rng, m, products, rid, cms) -> pa.Array:
    """A score, an amount, a flag, a list of tags, an optional level."""
    flag = pc.if_else(pa.array(rng.random(m) < 0.5), "true", "false")
    level = rng.random(m) < 0.5
    return _join(
        '{"score":', _num(np.round(rng.normal(50, 15, m), 4)),
        ',"amount":', _num(rng.integers(0, 100_000, m)),
        ',"flag":', flag, ',"tags":["', _pick(WORDS, rng.integers(0, len(WORDS), m)),
        '","', _pick(WORDS, rng.integers(0, len(WORDS), m)), '"]',
        ',"ref":"', rid, '"',
        _optional(level, _join(',"level":', _num(rng.integers(1, 100, m)))),
        ',"clientTime":', cms, "}",
    )


# The payload builder of each event family (the family numbers of _FAMILY_OF_TYPE).
_PAYLOAD_OF_FAMILY = (_commerce_payloads, _content_payloads, _interaction_payloads,
                      _other_payloads)


# -- Parquet --------------------------------------------------------------------------------------

def write_parquet(cfg: Config, path: str | pathlib.Path, times: np.ndarray | None = None) -> int:
    """Writes the N events to one Parquet file. Returns the file size in bytes."""
    import duckdb

    reader = pa.RecordBatchReader.from_batches(
        ARROW_SCHEMA, (batch for table in chunks(cfg, times) for batch in table.to_batches())
    )
    conn = duckdb.connect()
    try:
        conn.register("generated", reader)
        copy_to_parquet(conn, "generated", path)
    finally:
        conn.close()
    return pathlib.Path(path).stat().st_size


def copy_to_parquet(conn, relation: str, path: str | pathlib.Path) -> None:
    """The generated rows of `relation` to one Parquet file written by DuckDB (the writer
    DuckLake uses), User and Payload typed JSON as in the table, compressed as the store's
    files are (zstd, level 1), so that the ratios compare the engines and not the codecs."""
    select = ", ".join(
        f'"{c}"::JSON AS "{c}"' if c in ("User", "Payload") else f'"{c}"' for c in COLUMNS
    )
    conn.execute(f"COPY (SELECT {select} FROM {relation}) TO '{path}' "
                 "(FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1)")


# -- protobuf wire format -------------------------------------------------------------------------
# Field numbers from the descriptor of trackstore.v1.TrackEvent (proto/trackstore/v1/
# trackevents.proto): a column's field is its name in snake case.

def _field_number(message, column: str) -> int:
    return message.DESCRIPTOR.fields_by_name[re.sub(r"(?<!^)(?=[A-Z])", "_", column).lower()].number


_STRING_FIELD_NUMBERS = tuple(
    (column, _field_number(pb.TrackEvent, column))
    for column in ("TrackId", "DeviceId", "EventType", "Value", "PageUri", "PageTitle",
                   "RemoteAddress", "SessionId"))
_USER_JSON = _field_number(pb.TrackEvent, "UserJson")
_PAYLOAD_JSON = _field_number(pb.TrackEvent, "PayloadJson")
_TAIL_FIELD_NUMBERS = tuple((column, _field_number(pb.TrackEvent, column))
                            for column in ("CountryCode", "City"))
_EVENT_TIME = _field_number(pb.TrackEvent, "EventTime")
# TrackRequest and TrackStreamRequest share the layout (the smoke test parses both).
_EVENTS_FIELD = _field_number(pb.TrackStreamRequest, "Events")
_SCOPE_FIELD = _field_number(pb.TrackStreamRequest, "Scope")


def _varint_bytes(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _tag(field: int, wire_type: int = 2) -> bytes:
    return _varint_bytes(field << 3 | wire_type)


def varints(values: np.ndarray) -> pa.BinaryArray:
    """Non-negative integers -> their protobuf varint encodings, as a binary array."""
    v = values.astype(np.uint64)
    n = len(v)
    widths = np.ones(n, dtype=np.int64)
    for k in range(1, 10):
        widths += v >= (np.uint64(1) << np.uint64(7 * k))
    max_width = int(widths.max()) if n else 1
    k = np.arange(max_width, dtype=np.uint64)
    groups = ((v[:, None] >> (k[None, :] * np.uint64(7))) & np.uint64(0x7F)).astype(np.uint8)
    more = np.arange(max_width)[None, :] < (widths[:, None] - 1)
    groups |= (more * 0x80).astype(np.uint8)
    data = groups[np.arange(max_width)[None, :] < widths[:, None]]
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(widths, out=offsets[1:])
    return pa.BinaryArray.from_buffers(pa.binary(), n, [None, pa.py_buffer(offsets), pa.py_buffer(data)])


def _length_delimited(field: int, values: pa.Array) -> pa.Array:
    """tag + varint(length) + bytes for each value; an empty binary where the value is null."""
    binary = values.cast(pa.binary())
    lengths = pc.fill_null(pc.binary_length(binary), 0).to_numpy(zero_copy_only=False)
    encoded = pc.binary_join_element_wise(
        pa.scalar(_tag(field)), varints(lengths), pc.fill_null(binary, b""), b""
    )
    if binary.null_count:
        encoded = pc.if_else(pc.is_valid(binary), encoded, pa.scalar(b""))
    return encoded


def _timestamps(times_us: np.ndarray) -> pa.Array:
    seconds = times_us // 1_000_000
    nanos = (times_us % 1_000_000) * 1000
    inner = pc.binary_join_element_wise(pa.scalar(b"\x08"), varints(seconds), b"")
    with_nanos = pc.binary_join_element_wise(inner, pa.scalar(b"\x10"), varints(nanos), b"")
    inner = pc.if_else(pa.array(nanos != 0), with_nanos, inner)
    lengths = pc.binary_length(inner).to_numpy()
    return pc.binary_join_element_wise(pa.scalar(_tag(_EVENT_TIME)), varints(lengths), inner, b"")


def encode_events(table: pa.Table, with_track_ids: bool = False) -> pa.BinaryArray:
    """Each row as a serialized TrackEvent with User/Payload as JSON text (user_json,
    payload_json), wrapped as one `events` entry of a TrackRequest/TrackStreamRequest."""
    fields = []
    for column, number in _STRING_FIELD_NUMBERS:
        if column == "TrackId" and not with_track_ids:
            continue
        fields.append(_length_delimited(number, table.column(column).combine_chunks()))
    fields.append(_length_delimited(_USER_JSON, table.column("User").combine_chunks()))
    fields.append(_length_delimited(_PAYLOAD_JSON, table.column("Payload").combine_chunks()))
    for column, number in _TAIL_FIELD_NUMBERS:
        fields.append(_length_delimited(number, table.column(column).combine_chunks()))
    times = table.column("EventTime").combine_chunks().cast(pa.int64()).to_numpy()
    fields.append(_timestamps(times))
    event = pc.binary_join_element_wise(*fields, b"")
    return _length_delimited(_EVENTS_FIELD, event)


def _scope_prefix(scope: str) -> bytes:
    encoded = scope.encode()
    return _tag(_SCOPE_FIELD) + _varint_bytes(len(encoded)) + encoded


def encode_requests(table: pa.Table, batch_size: int, scope: str,
                    with_track_ids: bool = False) -> list[bytes]:
    """The rows as serialized requests of `batch_size` events each (the last may be shorter).
    TrackRequest and TrackStreamRequest share the wire layout (scope = 1, events = 2)."""
    wrapped = encode_events(table, with_track_ids)
    offsets = np.frombuffer(wrapped.buffers()[1], dtype=np.int32)[
        wrapped.offset:wrapped.offset + len(wrapped) + 1]
    data = memoryview(wrapped.buffers()[2])
    prefix = _scope_prefix(scope)
    return [
        prefix + bytes(data[offsets[begin]:offsets[min(begin + batch_size, len(wrapped))]])
        for begin in range(0, len(wrapped), batch_size)
    ]


def struct_requests(table: pa.Table, batch_size: int, scope: str) -> list[bytes]:
    """The rows as serialized requests whose User and Payload are google.protobuf.Struct
    (user_struct, payload_struct): the convenient client form, built here in Python."""
    import orjson

    wrapped = encode_events(table.drop_columns(["User", "Payload"]).append_column(
        "User", pa.nulls(table.num_rows, pa.string())).append_column(
        "Payload", pa.nulls(table.num_rows, pa.string())))
    users = table.column("User").to_pylist()
    payloads = table.column("Payload").to_pylist()
    requests = []
    prefix = _scope_prefix(scope)
    for begin in range(0, table.num_rows, batch_size):
        request = pb.TrackStreamRequest.FromString(
            prefix + b"".join(v.as_py() for v in wrapped[begin:begin + batch_size]))
        for event, user, payload in zip(request.events, users[begin:begin + batch_size],
                                        payloads[begin:begin + batch_size]):
            if user is not None:
                event.user_struct.update(orjson.loads(user))
            if payload is not None:
                event.payload_struct.update(orjson.loads(payload))
        requests.append(request.SerializeToString())
    return requests


def track_event_batches(cfg: Config, batch_size: int = 1000,
                        with_track_ids: bool = False) -> Iterator[list]:
    """The N events as lists of `TrackEvent` messages (JSON-text User/Payload), in time order."""
    for table in chunks(cfg):
        for request in encode_requests(table, batch_size, cfg.scope, with_track_ids):
            yield list(pb.TrackStreamRequest.FromString(request).events)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=Config.events)
    parser.add_argument("--seed", type=int, default=Config.seed)
    parser.add_argument("--out", required=True, help="Parquet file to write")
    args = parser.parse_args(argv)
    cfg = Config(events=args.events, seed=args.seed)
    started = time.perf_counter()
    size = write_parquet(cfg, args.out)
    print(f"{cfg.events} events -> {args.out} ({size / 1e6:.1f} MB) in "
          f"{time.perf_counter() - started:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
