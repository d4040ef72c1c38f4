"""server/leases.py (one holder at a time, expiry, release) and server/cursors.py (a cursor is
accepted only as signed, for its kind, by the store that signed it)."""
from __future__ import annotations

import time

import pytest

from trackstore_server import leases
from trackstore_server.config import Settings
from trackstore_server.cursors import CursorSigner
from trackstore_server.errors import BadRequest
from trackstore_server.store import open_store


def test_a_free_name_is_claimed_and_then_refused_to_another_holder(lake):
    cursor = lake.cursor()
    assert leases.claim(cursor, "segment:a", "one", 60)
    assert not leases.claim(cursor, "segment:a", "two", 60)
    assert leases.holder_of(cursor, "segment:a") == "one"
    assert leases.claim(cursor, "segment:a", "one", 60), "the holder renews its own lease"
    assert leases.claim(cursor, "segment:b", "two", 60), "names are independent"


def test_a_lease_that_ran_out_or_was_released_can_be_claimed(lake):
    cursor = lake.cursor()
    assert leases.claim(cursor, "job", "one", 0.2)
    time.sleep(0.3)
    assert leases.holder_of(cursor, "job") is None
    assert leases.claim(cursor, "job", "two", 60)
    leases.release(cursor, "job", "one")  # not its holder: nothing changes
    assert leases.holder_of(cursor, "job") == "two"
    leases.release(cursor, "job", "two")
    assert leases.claim(cursor, "job", "three", 60)


def test_a_signed_cursor_opens_only_for_its_kind(lake):
    signer = CursorSigner.load(lake.cursor())
    token = signer.sign("export", {"scope": "shop", "after": [1, "x"]})
    assert signer.open("export", token) == {"scope": "shop", "after": [1, "x"]}
    with pytest.raises(BadRequest) as error:
        signer.open("segment", token, field="page_token")
    assert error.value.violations[0].field == "page_token"
    assert error.value.reason == "CURSOR_INVALID"


@pytest.mark.parametrize("tamper", [
    lambda t: t[:-2] + ("A" if t[-2] != "A" else "B") + t[-1],  # the signature
    lambda t: ("e" if t[0] != "e" else "f") + t[1:],  # the state
    lambda t: t[:10],  # cut short
    lambda t: "not base64 at all!",
    lambda t: "",
])
def test_a_tampered_cursor_is_refused(lake, tamper):
    signer = CursorSigner.load(lake.cursor())
    token = signer.sign("export", {"scope": "shop"})
    with pytest.raises(BadRequest):
        signer.open("export", tamper(token))


def test_another_store_refuses_the_cursor(lake, tmp_path):
    token = CursorSigner.load(lake.cursor()).sign("export", {"scope": "shop"})
    other = open_store(Settings(data_dir=str(tmp_path / "other")))
    try:
        with pytest.raises(BadRequest):
            CursorSigner.load(other.cursor()).open("export", token)
    finally:
        other.close()
