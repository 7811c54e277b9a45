"""One freshness read serves every request that had arrived before it began
(registry/service/live.py): requests stamped with an arrival share a read that
began after it, and a read never serves a request that arrived after it began."""

from __future__ import annotations

import time
from pathlib import Path

from registry.service.live import Live
from registry.store import Store
from tests.conftest import seed


class CountingStore(Store):
    reads = 0

    def generation(self) -> int:
        self.reads += 1
        return super().generation()


def test_a_read_serves_the_requests_that_arrived_before_it(
    database_url: str, alliance_dir: Path
) -> None:
    store = CountingStore(database_url)
    seed(store, [alliance_dir])
    live = Live(store)
    store.reads = 0  # the seed's own
    together = time.monotonic()  # three requests that arrived at once
    for _ in range(3):
        live.refresh(arrived=together)
    assert store.reads == 1
    live.refresh(arrived=time.monotonic())  # arrived after that read began: reads
    assert store.reads == 2
    live.refresh()  # no arrival known (outside a request): reads
    live.refresh(force=True, arrived=together)
    assert store.reads == 4
    store.close()


def test_a_write_committed_before_arrival_is_seen(database_url: str, alliance_dir: Path) -> None:
    store = CountingStore(database_url)
    seed(store, [alliance_dir])
    live = Live(store)
    live.refresh(arrived=time.monotonic())
    before = live.generation
    store.create_token("auditor", None, None, "a write after the read")
    live.refresh(arrived=time.monotonic())  # arrived after the write's commit
    assert live.generation > before
    store.close()
