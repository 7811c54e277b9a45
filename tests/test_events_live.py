"""Events delivered by real `registry serve` processes to a real receiver on
127.0.0.1 that verifies every signature (tests/receiver.py): the receiver down and
up again, the lease holder SIGKILLed mid-delivery, and the calendar's boundaries
announced once across 3 processes on one PostgreSQL.

The retry schedule is scaled down by 20 with the settings, so "down for a minute"
is honest and quick: at the defaults (first retry after 5 s, doubling) a minute's
downtime costs 4 to 5 retries; at a first retry of 0.25 s and a longest wait of 3 s
(`REGISTRY_WEBHOOK_RETRY_BASE`, `REGISTRY_WEBHOOK_RETRY_MAX`) 3 s of downtime costs
the same retries.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from registry.store import Store
from tests.apitools import (
    AS_OF,
    CABLENET_CONTRACT,
    CABLENET_PARTNER,
    FASTNET_NARROWED,
    METRO_PARTNER,
)
from tests.conftest import bearer
from tests.live import LiveServer
from tests.receiver import Receiver

pytestmark = pytest.mark.slow

YAML = {"Content-Type": "application/yaml"}
A = "/v1/alliances/metro-home"
SCALED = {
    "REGISTRY_WEBHOOK_ALLOW": "127.0.0.1",
    "REGISTRY_WEBHOOK_RETRY_BASE": "0.25",
    "REGISTRY_WEBHOOK_RETRY_MAX": "3",
    "REGISTRY_WEBHOOK_LEASE": "2",
    "REGISTRY_CALENDAR_INTERVAL": "3600",
}


@pytest.fixture
def postgres(database_url: str) -> str:
    if database_url.startswith("sqlite"):
        pytest.skip("several processes on one PostgreSQL")
    return database_url


@contextlib.contextmanager
def servers(url: str, tmp_path: Path, n: int, **settings: str) -> Iterator[list[LiveServer]]:
    started: list[LiveServer] = []
    try:
        for i in range(n):
            log = tmp_path / f"serve-{i}.log"
            started.append(LiveServer(url, log, settings={**SCALED, **settings}).start())
        yield started
    finally:
        for server in started:
            server.stop()


def subscribe(
    server: LiveServer, token: str, receiver: Receiver, name: str, events: list[str]
) -> dict[str, Any]:
    r = httpx.post(
        server.url(f"{A}/subscriptions"),
        headers=bearer(token),
        json={"callback": receiver.url(name), "events": events},
    )
    assert r.status_code == 201, r.text
    made: dict[str, Any] = r.json()
    receiver.secrets[f"/hooks/{name}"] = made["secret"]
    return made


def rename_metro(server: LiveServer, token: str, n: int) -> int:
    """A write through `server` (Partner/metro's legal name): its revision."""
    url = server.url(f"{A}/documents/Partner/metro")
    etag = httpx.get(url, headers=bearer(token)).headers["etag"]
    r = httpx.put(
        url,
        headers={**bearer(token), **YAML, "If-Match": etag},
        content=METRO_PARTNER.replace("Metro Home plc", f"Metro Home plc {n}"),
    )
    assert r.status_code == 200, r.text
    revision: int = r.json()["revision"]
    return revision


def in_order(got: list[Any]) -> list[int]:
    """The revisions of the first arrival of each webhook-id, in arrival order."""
    seen: dict[str, int] = {}
    for r in got:
        seen.setdefault(r.webhook_id, r.body["revision"])
    return list(seen.values())


def test_receiver_down_then_up_every_event_arrives_in_order(
    seeded: Store, tokens: dict[str, str], database_url: str, tmp_path: Path
) -> None:
    receiver = Receiver().start()
    try:
        with servers(database_url, tmp_path, 2) as (one, two):
            subscribe(one, tokens["manager"], receiver, "a", ["alliance.revision"])
            b = subscribe(
                two, tokens["manager"], receiver, "b", ["alliance.revision", "ownership.moved"]
            )
            receiver.stop()  # down
            down = time.monotonic()
            revisions = [rename_metro((one, two)[i % 2], tokens["manager"], i) for i in range(6)]
            time.sleep(max(0.0, 3.0 - (time.monotonic() - down)))
            receiver.start()  # up, on the same port
            got_a = receiver.wait(6, "a", timeout=60)
            got_b = receiver.wait(6, "b", timeout=60)
            assert all(r.verified for r in got_a + got_b), [r.error for r in got_a + got_b]
            assert in_order(got_a) == in_order(got_b) == revisions
            r = httpx.get(
                one.url(f"{A}/subscriptions/{b['id']}/deliveries"),
                headers=bearer(tokens["manager"]),
            )
            oldest = r.json()[-1]
            assert oldest["status"] == "delivered"
            *failed, delivered = oldest["attempts"]
            assert len(failed) >= 2, oldest
            assert all(
                a["status"] is None and a["error"].startswith("could not deliver") for a in failed
            )
            assert (delivered["status"], delivered["error"]) == (204, None)
    finally:
        receiver.stop()


def lease_holder(store: Store, subscription: str) -> str | None:
    with store.engine.connect() as connection:
        holder = connection.execute(
            text("SELECT lease_holder FROM subscriptions WHERE id = :id AND lease_until > :now"),
            {"id": subscription, "now": time.time()},
        ).scalar()
    return str(holder) if holder else None


def test_sigkill_of_the_lease_holder_loses_no_event(
    seeded: Store, tokens: dict[str, str], postgres: str, tmp_path: Path
) -> None:
    receiver = Receiver(delay=0.3).start()
    try:
        with servers(postgres, tmp_path, 3) as started:
            made = subscribe(started[0], tokens["manager"], receiver, "k", ["alliance.revision"])
            receiver.stop()  # down while the 20 are written, so all 20 are still to go
            revisions = [rename_metro(started[i % 3], tokens["manager"], i) for i in range(20)]
            receiver.start()  # up, answering slowly (0.3 s each): the retry comes within 3 s
            receiver.wait(3, "k", timeout=30)
            holder = lease_holder(seeded, made["id"])
            assert holder is not None
            pid = int(holder.split(":")[1])
            [victim] = [s for s in started if pid in s.worker_pids()]
            victim.kill()  # mid-delivery: the receiver is answering slowly
            started.remove(victim)
            got = receiver.wait(20, "k", timeout=60)
            assert all(r.verified for r in got)
            assert sorted(in_order(got)) == revisions  # none lost
            assert in_order(got) == revisions  # in order, too
            by_id: dict[str, dict[str, Any]] = {}
            for r in got:  # a duplicate is the same delivery: same webhook-id, same body
                assert by_id.setdefault(r.webhook_id, r.body) == r.body
            assert len(by_id) == 20
            taker = lease_holder(seeded, made["id"]) or ""
            assert str(pid) not in taker.split(":")[1:2]
    finally:
        receiver.stop()


WAIVER = """\
apiVersion: alliance-registry/v1
kind: Waiver
metadata: {name: slow-speed-gap, alliance: metro-home}
spec:
  rule: coverage-gap
  where: {category: [slow-speed]}
  reason: the slow-speed desk is being set up
  approvedBy: board
  expires: 2026-12-01
"""

# cablenet takes internet over from fastnet on 2027-03-01, 90 days after 2026-12-01.
FASTNET_UNTIL_MARCH = FASTNET_NARROWED.replace(
    "effective: {from: 2026-01-01, until: 2028-01-01}",
    "effective: {from: 2026-01-01, until: 2027-03-01}",
)
CABLENET_FROM_MARCH = CABLENET_CONTRACT.replace(
    "effective: {from: 2026-01-01}", "effective: {from: 2027-03-01}"
).replace("where: {category: [internet]}", "where: {category: [outage]}")


def test_the_calendar_across_three_processes(
    seeded: Store, tokens: dict[str, str], postgres: str, tmp_path: Path
) -> None:
    receiver = Receiver().start()
    calendar = {"REGISTRY_CALENDAR_TODAY": "2026-12-01", "REGISTRY_CALENDAR_INTERVAL": "0.3"}
    try:
        with servers(postgres, tmp_path, 3, **calendar) as started:
            r = httpx.post(
                started[2].url(f"{A}/apply?asOf={AS_OF}"),
                headers={**bearer(tokens["manager"]), **YAML},
                content="---\n".join(
                    [CABLENET_PARTNER, CABLENET_FROM_MARCH, FASTNET_UNTIL_MARCH, WAIVER]
                ),
            )
            assert r.status_code == 200, r.text
            # Subscribed after the write: the calendar's first sweep of the alliance (it
            # sweeps only alliances with subscriptions) sees the waiver, and looks one
            # day back. (The write was planned on AS_OF, not on the calendar's today.)
            subscribe(
                started[1],
                tokens["manager"],
                receiver,
                "c",
                ["ownership.scheduled", "coverage.finding"],
            )
            got = receiver.wait(2, "c", timeout=30)
            # The holder of the calendar's lease dies; another takes it over and sweeps
            # again: nothing is announced twice.
            with seeded.engine.connect() as connection:
                holder = connection.execute(
                    text("SELECT holder FROM leases WHERE name = 'calendar'")
                ).scalar()
            pid = int(str(holder).split(":")[1])
            [victim] = [s for s in started if pid in s.worker_pids()]
            victim.kill()
            time.sleep(3.0)  # the lease (3 sweeps, 1 s at least) runs out; others sweep
            with seeded.engine.connect() as connection:
                taker = connection.execute(
                    text("SELECT holder FROM leases WHERE name = 'calendar'")
                ).scalar()
            assert str(taker) != str(holder)
            got = receiver.of("c")
            assert all(r.verified for r in got)
            kinds = sorted(r.body["type"] for r in got)
            assert kinds == ["coverage.finding", "ownership.scheduled"]
            [scheduled] = [r.body for r in got if r.body["type"] == "ownership.scheduled"]
            assert scheduled["data"]["on"] == "2027-03-01"
            assert scheduled["data"]["moves"] == [
                {
                    "region": {"category": ["outage"]},
                    "cells": 2,
                    "example": {"category": "outage", "region": "north"},
                    "before": ["fastnet"],
                    "after": ["cablenet"],
                }
            ]
            [finding] = [r.body for r in got if r.body["type"] == "coverage.finding"]
            assert (finding["data"]["cause"], finding["data"]["on"]) == ("calendar", "2026-12-01")
            assert [(f["rule"], f["region"]) for f in finding["data"]["opened"]] == [
                ("coverage-gap", {"category": ["slow-speed"]})
            ]
    finally:
        receiver.stop()


def test_a_server_stopping_hands_its_deliveries_over_at_once(
    seeded: Store, tokens: dict[str, str], postgres: str, tmp_path: Path
) -> None:
    """SIGTERM: the dispatcher stops after the delivery in flight and releases its
    lease, so another process goes on at once, not when the lease (30 s) runs out."""
    receiver = Receiver(delay=0.5).start()
    try:
        with servers(postgres, tmp_path, 2, REGISTRY_WEBHOOK_LEASE="30") as started:
            made = subscribe(started[0], tokens["manager"], receiver, "t", ["alliance.revision"])
            receiver.stop()  # down while the 6 are written, so all 6 are still to go
            revisions = [rename_metro(started[i % 2], tokens["manager"], i) for i in range(6)]
            receiver.start()
            receiver.wait(2, "t", timeout=30)
            holder = lease_holder(seeded, made["id"])
            assert holder is not None
            pid = int(holder.split(":")[1])
            [stopping] = [s for s in started if pid in s.worker_pids()]
            began = time.monotonic()
            stopping.stop()
            started.remove(stopping)
            got = receiver.wait(6, "t", timeout=60)
            assert time.monotonic() - began < 15
            assert in_order(got) == revisions
            assert all(r.verified for r in got)
            with seeded.engine.connect() as connection:
                holders = connection.execute(
                    text("SELECT holder FROM delivery_attempts ORDER BY id")
                ).all()
            # The stopping server's attempts, then the other's.
            assert holder in {h for (h,) in holders} and holders[-1][0] != holder
    finally:
        receiver.stop()
