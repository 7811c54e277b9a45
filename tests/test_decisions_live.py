"""The decision log of a real `registry serve` under load: a SIGTERM loses nothing, a
SIGKILL loses no decision answered more than a flush interval before it (counted)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from registry.store import Store
from tests.apitools import AS_OF, A
from tests.conftest import bearer
from tests.live import LiveServer

INTERVAL = 0.5


def load(server: LiveServer, token: str, seconds: float) -> list[tuple[float, str]]:
    """Owner queries from 4 clients for `seconds`: (when answered, decisionId) each."""
    answered: list[tuple[float, str]] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds
    queries = ["outage", "slow-speed", "refund", "installation"]

    def client(category: str) -> None:
        with httpx.Client(base_url=server.base, headers=bearer(token), timeout=10) as http:
            while time.monotonic() < stop:
                try:
                    r = http.get(f"{A}/owner", params={"category": category, "at": AS_OF})
                except httpx.TransportError:
                    return  # the server was killed under us
                if r.status_code == 200:
                    with lock:
                        answered.append((time.monotonic(), r.headers["x-decision-id"]))

    threads = [threading.Thread(target=client, args=(q,)) for q in queries]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answered


def stored(store: Store) -> set[str]:
    with store.engine.connect() as connection:
        return set(connection.execute(text("SELECT id FROM decisions")).scalars())


@pytest.mark.slow
def test_sigterm_loses_nothing_and_sigkill_at_most_one_interval(
    seeded: Store, tokens: dict[str, str], database_url: str, tmp_path: Path
) -> None:
    settings = {"REGISTRY_DECISION_FLUSH_INTERVAL": str(INTERVAL)}
    with LiveServer(database_url, tmp_path / "serve.log", settings=settings) as server:
        answered = load(server, tokens["resolver"], 2.0)
        server.stop()
    assert len(answered) > 100
    assert {d for _, d in answered} <= stored(seeded)  # every one, after a SIGTERM
    kept = stored(seeded)

    server = LiveServer(database_url, tmp_path / "serve2.log", settings=settings).start()
    try:
        answered = []
        killer = threading.Timer(3.0, server.kill)
        killer.start()
        answered = load(server, tokens["resolver"], 6.0)
        killed = time.monotonic()
        killer.join()
    finally:
        server.kill()
    # The kill came at 3 s: the load stopped then (its clients saw the connection go).
    assert answered
    last = max(at for at, _ in answered)
    written = stored(seeded) - kept
    # One interval, and a quarter of a second for the flush's own transaction to commit.
    older = {d for at, d in answered if at < last - INTERVAL - 0.25}
    lost = older - written
    assert not lost, f"{len(lost)} of {len(older)} decisions older than the flush were lost"
    assert killed - last < 4.0
    print(f"answered {len(answered)}, written {len(written)}, older than the interval {len(older)}")
