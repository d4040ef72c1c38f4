"""Events that look like a shop's traffic over the last hour: page views most, then searches,
carts, purchases, sign-ups and experiment exposures, in waves. Deterministic for a seed."""
from __future__ import annotations

import datetime as dt
import math
import random
import uuid

TYPES = (  # EventType, share of traffic
    ("pageview", 0.52), ("search", 0.14), ("add_to_cart", 0.11), ("experiment_exposure", 0.12),
    ("purchase", 0.06), ("signup", 0.05),
)
PAGES = ("/", "/shoes", "/shoes/trail-runner-2", "/jackets", "/jackets/rain-shell", "/cart",
         "/checkout", "/search", "/account")
COUNTRIES = (("SE", "Stockholm"), ("NO", "Oslo"), ("DE", "Berlin"), ("GB", "London"),
             ("US", "Seattle"), ("FR", "Paris"))


def _payload(kind: str, rng: random.Random) -> dict | None:
    if kind in ("add_to_cart", "purchase"):
        return {"sku": f"SKU-{rng.randint(1000, 1099)}", "price": round(rng.uniform(19, 249), 2),
                "currency": "EUR", "quantity": rng.choice((1, 1, 1, 2, 3))}
    if kind == "search":
        return {"query": rng.choice(("trail shoes", "rain jacket", "socks", "gift card")),
                "results": rng.randint(0, 40)}
    if kind == "experiment_exposure":
        return {"experiment": rng.choice(("checkout_button_color", "free_shipping_banner")),
                "variant": rng.randint(0, 1)}
    return None


def _event(kind: str, at: dt.datetime, rng: random.Random, devices: list[str]) -> dict:
    country, city = rng.choice(COUNTRIES)
    page = {"search": "/search", "purchase": "/checkout"}.get(kind) or rng.choice(PAGES)
    event = {
        "TrackId": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "DeviceId": rng.choice(devices), "EventType": kind,
        "Value": {"pageview": "Viewed a page", "search": "Searched the shop",
                  "add_to_cart": "Added an item to the cart", "purchase": "Placed an order",
                  "signup": "Created an account",
                  "experiment_exposure": "Saw an experiment variant"}[kind],
        "PageUri": f"https://shop.example.com{page}", "PageTitle": page.strip("/") or "home",
        "RemoteAddress": f"203.0.113.{rng.randint(1, 254)}",
        "SessionId": f"s-{rng.randint(1, 400)}",
        "CountryCode": country, "City": city,
        "EventTime": at.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z",
    }
    payload = _payload(kind, rng)
    if payload:
        event["Payload"] = payload
    if kind in ("signup", "purchase"):
        event["User"] = {"Email": f"customer{rng.randint(1, 500)}@example.com"}
    return event


def sample_events(now: dt.datetime, minutes: int = 60, per_minute: int = 40,
                  seed: int = 25) -> list[dict]:
    """About `per_minute` events a minute over the `minutes` before `now` (UTC), newest last."""
    rng = random.Random(seed)
    devices = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(120)]
    kinds, weights = zip(*TYPES)
    events = []
    for minute in range(minutes, 0, -1):
        wave = 1 + 0.45 * math.sin(minute / 9.0) + 0.2 * math.sin(minute / 2.3)
        for _ in range(max(1, int(per_minute * wave * rng.uniform(0.8, 1.2)))):
            at = now - dt.timedelta(minutes=minute) + dt.timedelta(seconds=rng.uniform(0, 60))
            events.append(_event(rng.choices(kinds, weights)[0], at, rng, devices))
    return sorted(events, key=lambda e: e["EventTime"])
