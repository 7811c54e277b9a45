"""Slow work runs off the event loop, on SQLite and PostgreSQL: while one alliance
compiles, audits a new day, answers a batch, routes a ticket or verifies its log,
the same process answers owner queries of another alliance at once. Each slow step
is held (by a hook that waits) until the quick query has been answered: had it run
on the loop, the quick query could not even have started."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio.to_thread
import httpx
import pytest

from registry.api import queries, tickets
from registry.server import create_app
from registry.service import live
from registry.service.registry import Registry
from registry.settings import Settings
from registry.store import Store
from tests.conftest import MINIMAL, bearer, seed, write_files

HOLD = 3.0  # seconds a held step waits at most: what the quick query must not wait for
OTHER = "/v1/alliances/other-home/owner?category=outage&region=north&at=2026-11-22"


class Hold:
    """Wraps a function so that its first call waits until `release` (or HOLD)."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self._taken = threading.Lock()

    def wrap(self, real: Callable[..., Any]) -> Callable[..., Any]:
        def held(*args: Any, **kwargs: Any) -> Any:
            if self._taken.acquire(blocking=False):
                self.entered.set()
                self.release.wait(HOLD)
            return real(*args, **kwargs)

        return held


SLOW: dict[str, tuple[str, str, dict[str, Any]]] = {
    "a cold compile": ("GET", "/v1/alliances/metro-home/owner?category=outage", {}),
    "an audit of a new day": ("GET", "/v1/alliances/metro-home/audit?asOf=2026-11-23", {}),
    "a batch": (
        "POST",
        "/v1/alliances/metro-home/owner:batch",
        {"json": {"queries": [{"where": {"category": "outage"}}]}},
    ),
    "a ticket": (
        "POST",
        "/v1/alliances/metro-home/tickets:route",
        {"json": {"ticketType": "Internet Outage"}},
    ),
    "a log verification": ("GET", "/v1/alliances/metro-home/history/verify", {}),
}


def hold_step(case: str, hold: Hold, monkeypatch: pytest.MonkeyPatch) -> None:
    if case == "a cold compile":
        monkeypatch.setattr(live.Live, "_build", hold.wrap(live.Live._build))
    elif case == "an audit of a new day":
        monkeypatch.setattr(live, "audit", hold.wrap(live.audit))
    elif case == "a batch":
        monkeypatch.setattr(queries, "_ask", hold.wrap(queries._ask))
    elif case == "a ticket":
        monkeypatch.setattr(tickets, "route", hold.wrap(tickets.route))
    else:
        monkeypatch.setattr(Registry, "verify", hold.wrap(Registry.verify))


@pytest.fixture
def two_alliances(seeded: Store, tmp_path: Path) -> Store:
    """metro-home and other-home (the minimal alliance again, renamed)."""
    files = {name: text.replace("metro-home", "other-home") for name, text in MINIMAL.items()}
    seed(seeded, [write_files(tmp_path / "other-home", files)])
    return seeded


async def race(
    client: httpx.AsyncClient, slow: tuple[str, str, dict[str, Any]], hold: Hold, quick: str
) -> tuple[float, httpx.Response, httpx.Response]:
    """Send the slow request, and once its held step has started, the quick one: how
    long from sending the slow one until the quick one was answered."""
    method, url, options = slow
    start = time.perf_counter()
    sent = asyncio.create_task(client.request(method, url, **options))
    while not hold.entered.is_set():  # on the loop: blocked too, if the step is
        await asyncio.sleep(0.002)
    answered = await client.get(quick)
    elapsed = time.perf_counter() - start
    hold.release.set()
    return elapsed, answered, await sent


@pytest.mark.parametrize("case", list(SLOW))
def test_owner_queries_of_another_alliance_do_not_wait(
    two_alliances: Store,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    case: str,
) -> None:
    _, admin = two_alliances.create_token("admin", None, None, "test admin")
    app = create_app(Settings(database_url=database_url, decisions="off"), two_alliances)
    hold = Hold()

    async def run() -> tuple[float, httpx.Response, httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://registry", headers=bearer(admin), timeout=30
        ) as client:
            assert (await client.get(OTHER)).status_code == 200  # other-home is compiled
            if case != "a cold compile":  # metro-home too: only the step itself is slow
                warm = "/v1/alliances/metro-home/owner?category=outage&region=north"
                assert (await client.get(warm)).status_code == 200
            hold_step(case, hold, monkeypatch)
            return await race(client, SLOW[case], hold, OTHER)

    elapsed, quick, slow = asyncio.run(run())
    assert quick.status_code == 200, quick.text
    assert quick.json()["owner"] == {"partner": "fastnet", "contract": "fastnet-internet"}
    # metro-home maps no tickets: routing one is refused, once it has been tried.
    assert slow.status_code == (422 if case == "a ticket" else 200), slow.text
    assert elapsed < HOLD / 2, f"the owner query waited {elapsed:.2f} s for {case}"


def test_a_cold_compile_holds_up_no_other_alliances_compile(
    two_alliances: Store, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each alliance compiles under a lock of its own."""
    _, admin = two_alliances.create_token("admin", None, None, "test admin")
    app = create_app(Settings(database_url=database_url, decisions="off"), two_alliances)
    hold = Hold()
    real = live.Live._build

    def build(self: live.Live, alliance: str, *args: Any, **kwargs: Any) -> Any:
        compile_ = held if alliance == "metro-home" else real
        return compile_(self, alliance, *args, **kwargs)

    held = hold.wrap(real)
    monkeypatch.setattr(live.Live, "_build", build)

    async def run() -> tuple[float, httpx.Response, httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://registry", headers=bearer(admin), timeout=30
        ) as client:
            return await race(client, SLOW["a cold compile"], hold, OTHER)  # both cold

    elapsed, quick, slow = asyncio.run(run())
    assert (quick.status_code, slow.status_code) == (200, 200)
    assert elapsed < HOLD / 2, f"other-home's compile waited {elapsed:.2f} s for metro-home's"


def test_an_owner_query_of_a_compiled_alliance_stays_on_the_loop(
    two_alliances: Store, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hot path takes some 25 us: a hop to a worker thread would cost more."""
    _, admin = two_alliances.create_token("admin", None, None, "test admin")
    app = create_app(Settings(database_url=database_url, decisions="off"), two_alliances)

    def no_hop(*_: Any, **__: Any) -> Any:
        raise AssertionError("an owner query of a compiled alliance went to a worker thread")

    async def run() -> list[int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://registry", headers=bearer(admin), timeout=30
        ) as client:
            first = await client.get(OTHER)  # compiles other-home, in a worker thread
            monkeypatch.setattr(anyio.to_thread, "run_sync", no_hop)
            return [first.status_code] + [(await client.get(OTHER)).status_code for _ in range(3)]

    assert asyncio.run(run()) == [200, 200, 200, 200]
