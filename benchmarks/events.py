# ruff: noqa: E402 - the imports follow the import-path fix at the top
"""Event delivery by `registry serve` (one worker) to a receiver on 127.0.0.1 that
verifies every signature with `standardwebhooks`.

- latency: WRITES handovers of the minimal alliance (internet from fastnet to
  cablenet and back), one at a time, each giving an `ownership.moved` event; the
  latency of each is its arrival at the receiver minus the event's `timestamp`,
  which the write's transaction stamps just before it commits. Target p99 < 1 s.
  Beside it, in the same run: each write's own round trip (the PUT's answer).
- throughput: BACKLOG events (alliance.revision of BACKLOG writes made in process
  while no server runs) delivered from the server's start; target < 10 s. Baseline
  in the same run: the same BACKLOG signed bodies POSTed by one bare httpx client in
  this process to the same receiver, one after the other (the floor of HTTP here).

    .venv/bin/python benchmarks/events.py [--database sqlite|postgresql] [--writes 100]

PostgreSQL: REGISTRY_TEST_POSTGRES_URL names the server (a schema of its own is made
and dropped).
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent))

import argparse
import datetime as dt
import os
import statistics
import tempfile
import time
import uuid

import httpx
import psycopg
from standardwebhooks import Webhook

from registry.service import Registry
from registry.service.writes import Request
from registry.store import Store
from tests.apitools import CABLENET_CONTRACT, CABLENET_PARTNER, FASTNET_CONTRACT, METRO_PARTNER
from tests.conftest import MINIMAL, write_files
from tests.live import LiveServer
from tests.receiver import Receiver

YAML = {"Content-Type": "application/yaml"}
A = "/v1/alliances/metro-home"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def database(kind: str, work: Path) -> tuple[str, object]:
    if kind == "sqlite":
        return f"sqlite:///{work}/registry.db", None
    base = os.environ["REGISTRY_TEST_POSTGRES_URL"]
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    plain = base.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
    return f"{base}?options=-csearch_path%3D{schema}", (plain, schema)


def drop(handle: object) -> None:
    if handle is not None:
        plain, schema = handle  # type: ignore[misc]
        with psycopg.connect(plain, autocommit=True) as admin:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")


def seeded(url: str, work: Path) -> tuple[Store, str]:
    store = Store(url)
    Registry(store).seed([write_files(work / "metro-home", MINIMAL)], "bench")
    _, token = store.create_token("manager", "metro-home", None, "bench")
    return store, token


def latency(url: str, work: Path, writes: int) -> tuple[list[float], list[float]]:
    store, token = seeded(url, work)
    store.close()
    receiver = Receiver().start()
    settings = {"REGISTRY_WEBHOOK_ALLOW": "127.0.0.1", "REGISTRY_CALENDAR_INTERVAL": "3600"}
    server = LiveServer(url, work / "latency.log", settings=settings).start()
    try:
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=server.base, headers=headers, timeout=60) as client:
            r = client.post(
                f"{A}/subscriptions",
                json={"callback": receiver.url("moved"), "events": ["ownership.moved"]},
            )
            receiver.secrets["/hooks/moved"] = r.json()["secret"]
            round_trips = []
            to_cablenet = CABLENET_PARTNER + "---\n" + CABLENET_CONTRACT
            for i in range(writes):
                if i % 2 == 0:
                    query, body = "?delete=Contract/fastnet-internet", to_cablenet
                else:
                    query, body = "?delete=Contract/cablenet-internet", FASTNET_CONTRACT
                started = time.perf_counter()
                r = client.post(f"{A}/apply{query}", headers=YAML, content=body)
                round_trips.append((time.perf_counter() - started) * 1000)
                assert r.status_code == 200, r.text
                receiver.wait(i + 1, "moved", timeout=30)
        got = receiver.of("moved")
        assert all(g.verified for g in got)
        first: dict[str, float] = {}
        for g in got:
            stamped = dt.datetime.fromisoformat(g.body["timestamp"]).timestamp()
            first.setdefault(g.webhook_id, (g.at - stamped) * 1000)
        return list(first.values()), round_trips
    finally:
        server.stop()
        receiver.stop()


def throughput(url: str, work: Path, backlog: int) -> tuple[float, float]:
    store, _ = seeded(url, work)
    receiver = Receiver().start()
    secret = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    from registry.store.tables import SubscriptionRow  # noqa: PLC0415

    store.outbox.subscribe(
        SubscriptionRow(
            id="sub_bench",
            alliance="metro-home",
            callback=receiver.url("backlog"),
            events='["alliance.revision"]',
            secret=secret,
            created="",
            created_by="bench",
        )
    )
    receiver.secrets["/hooks/backlog"] = secret
    registry = Registry(store)
    for i in range(backlog):
        text = METRO_PARTNER.replace("Metro Home plc", f"Metro Home plc {i}")
        registry_write(registry, store, text)
    bodies = outbox_bodies(store)
    store.close()
    settings = {"REGISTRY_WEBHOOK_ALLOW": "127.0.0.1", "REGISTRY_CALENDAR_INTERVAL": "3600"}
    server = LiveServer(url, work / "throughput.log", settings=settings)
    started = time.time()
    server.start()
    ready = time.time()
    try:
        receiver.wait(backlog, "backlog", timeout=120)
        got = receiver.of("backlog")
        assert all(g.verified for g in got)
        last = max(g.at for g in got)
        served = last - min(ready, *(g.at for g in got))
        print(f"  (from the process's start, its own start-up included: {last - started:.2f} s)")
    finally:
        server.stop()
    # The baseline: the same signed bodies from one bare client, one after the other.
    hook = Webhook(secret)
    receiver.secrets["/hooks/bare"] = secret
    with httpx.Client(timeout=10) as client:
        began = time.perf_counter()
        for i, body in enumerate(bodies):
            stamp = dt.datetime.now(dt.UTC)
            message = f"msg_bare{i}"
            client.post(
                receiver.url("bare"),
                content=body,
                headers={
                    "content-type": "application/json",
                    "webhook-id": message,
                    "webhook-timestamp": str(int(stamp.timestamp())),
                    "webhook-signature": hook.sign(message, stamp, body),
                },
            )
        bare = time.perf_counter() - began
    receiver.stop()
    return served, bare


def registry_write(registry: Registry, store: Store, text: str) -> None:
    from registry.access import Principal  # noqa: PLC0415

    registry.write(
        Principal(0, "admin", name="bench"),
        Request("metro-home", [("partner.yaml", text)], preconditions={}, guarded=set()),
        "apply",
    )


def outbox_bodies(store: Store) -> list[str]:
    from sqlalchemy import text  # noqa: PLC0415

    with store.engine.connect() as connection:
        return [b for (b,) in connection.execute(text("SELECT body FROM events ORDER BY seq"))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument("--writes", type=int, default=100)
    parser.add_argument("--backlog", type=int, default=1000)
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}")
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        url, handle = database(args.database, work / "a")
        (work / "a").mkdir(exist_ok=True)
        try:
            latencies, trips = latency(url, work / "a", args.writes)
        finally:
            drop(handle)
        (work / "b").mkdir()
        url, handle = database(args.database, work / "b")
        try:
            served, bare = throughput(url, work / "b", args.backlog)
        finally:
            drop(handle)
    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    print(f"{args.database}: ownership.moved, {len(latencies)} writes")
    print(f"  commit -> receiver: p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {max(latencies):.1f} ms")
    print(
        f"  the write's own round trip: p50 {statistics.median(trips):.1f} ms, "
        f"p99 {percentile(trips, 99):.1f} ms"
    )
    print(f"  p99 / 1 s target: {p99 / 1000:.3f} ({'met' if p99 < 1000 else 'NOT met'})")
    print(f"{args.database}: {args.backlog} events delivered from the server's start")
    print(f"  {served:.2f} s ({args.backlog / served:.0f}/s); bare client {bare:.2f} s")
    print(
        f"  ratio to the bare client: {served / bare:.2f}x; / 10 s target: {served / 10:.2f} "
        f"({'met' if served < 10 else 'NOT met'})"
    )
    print(f"load average after: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}")


if __name__ == "__main__":
    main()
