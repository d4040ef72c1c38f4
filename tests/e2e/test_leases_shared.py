"""Two servers sharing a PostgreSQL catalog never both hold a lease (server/leases.py): DuckLake
refuses the second of two claims that deleted the same row."""
from __future__ import annotations

import threading
import time

from trackstore_server import leases
from trackstore_server.config import Settings
from trackstore_server.store import open_store


def test_of_two_stores_claiming_together_at_most_one_wins(postgres, tmp_path):
    stores = [open_store(Settings(data_dir=str(tmp_path / name), catalog=postgres,
                                  data_path=str(tmp_path / "lake"))) for name in ("a", "b")]
    rounds_won = 0
    try:
        for round_ in range(12):
            name = f"job-{round_}"
            if round_ % 2:  # a name whose last lease ran out, else a new one
                assert leases.claim(stores[0].cursor(), name, "old", 0.01)
                time.sleep(0.05)
            barrier = threading.Barrier(2)
            won: dict[str, bool] = {}

            def claim(store, holder):
                cursor = store.cursor()
                barrier.wait()
                won[holder] = leases.claim(cursor, name, holder, 60)

            threads = [threading.Thread(target=claim, args=(store, f"server-{i}-{round_}"))
                       for i, store in enumerate(stores)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert sum(won.values()) <= 1, (round_, won)
            rounds_won += sum(won.values())
            assert leases.holder_of(stores[0].cursor(), name) in (None, *[h for h, w in won.items() if w])
    finally:
        for store in stores:
            store.close()
    # A claim loses only to another one: most rounds have a winner.
    assert rounds_won >= 9, rounds_won
