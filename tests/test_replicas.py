"""Replicas on one PostgreSQL, with real `registry serve` processes: every process
answers a write made through any other (LISTEN/NOTIFY), PostgreSQL stopped for 5 s
and started again (a throwaway cluster of the test's own), and the embedded resolver
against a live server. All slow: each starts processes."""

from __future__ import annotations

import datetime as dt
import itertools
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest

from registry.client import Resolver
from registry.load import load
from registry.serve import examples_dir
from registry.store import Store
from tests.conftest import SIGNER, bearer, seed
from tests.live import Cluster, LiveServer

pytestmark = pytest.mark.slow

OWNER = "/v1/alliances/metro-home/owner?category=outage&region=north&at=2026-11-22"
PARTNER = "/v1/alliances/metro-home/documents/Partner/metro"
# Fresh connections: each may land on either worker of a process.
READS_PER_PROCESS = 12
PROPAGATION_BOUND_S = 5.0


def _servers(database_url: str, folder: Path, count: int, workers: int) -> list[LiveServer]:
    """`count` servers started side by side (each waits for its /health)."""
    servers = [
        LiveServer(database_url, folder / f"server-{i}.log", workers=workers) for i in range(count)
    ]
    failures: list[BaseException] = []

    def start(server: LiveServer) -> None:
        try:
            server.start()
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=start, args=(s,)) for s in servers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        for server in servers:
            server.stop()
        raise failures[0]
    return servers


@pytest.fixture
def stopping() -> Iterator[list[LiveServer]]:
    """Servers a test started, stopped however it ends."""
    started: list[LiveServer] = []
    yield started
    for server in started:
        server.stop()


def _revision(server: LiveServer, token: str) -> int:
    answer = httpx.get(server.url(OWNER), headers=bearer(token), timeout=30)
    assert answer.status_code == 200, answer.text
    revision: int = answer.json()["revision"]
    return revision


def _until(check: Callable[[], bool], seconds: float, what: str) -> float:
    """Seconds until `check` holds, polled; fails after `seconds`."""
    began = time.monotonic()
    while not check():
        if time.monotonic() - began > seconds:
            raise AssertionError(f"{what}: not within {seconds} s")
        time.sleep(0.01)
    return time.monotonic() - began


def _rename(server: LiveServer, token: str, legal_name: str) -> int:
    """PUT Partner/metro with a new legal name through `server`: the write's revision."""
    auth = bearer(token)
    read = httpx.get(server.url(PARTNER), headers=auth, timeout=30)
    document = read.json()
    document["spec"]["legalName"] = legal_name
    written = httpx.put(
        server.url(PARTNER),
        headers={**auth, "If-Match": read.headers["etag"]},
        json=document,
        timeout=60,
    )
    assert written.status_code == 200, written.text
    revision: int = written.json()["revision"]
    return revision


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_every_process_answers_a_write_made_through_any_other(
    seeded: Store,
    tokens: dict[str, str],
    database_url: str,
    tmp_path: Path,
    stopping: list[LiveServer],
) -> None:
    stopping += _servers(database_url, tmp_path, count=3, workers=2)
    resolver = tokens["resolver"]
    for server in stopping:
        assert _revision(server, resolver) == 1
    for round_, writer in enumerate(stopping):
        revision = _rename(writer, tokens["admin"], f"Metro Home plc, round {round_}")
        assert revision == round_ + 2
        for server in stopping:
            _until(
                lambda server=server, revision=revision: _revision(server, resolver) == revision,
                PROPAGATION_BOUND_S,
                f"{server.base} answering revision {revision}",
            )
            # Then every worker of it answers it, asked on fresh connections.
            assert {_revision(server, resolver) for _ in range(READS_PER_PROCESS)} == {revision}
            # Read-your-writes: minRevision answers at once where it is there.
            pinned = httpx.get(
                server.url(f"{OWNER}&minRevision={revision}"), headers=bearer(resolver)
            )
            assert (pinned.status_code, pinned.json()["revision"]) == (200, revision)
            name = httpx.get(server.url(PARTNER), headers=bearer(tokens["admin"])).json()
            assert name["spec"]["legalName"] == f"Metro Home plc, round {round_}"


def _ready(server: LiveServer) -> tuple[int, dict[str, Any]]:
    try:
        answer = httpx.get(server.url("/health/ready"), timeout=10)
    except httpx.TransportError as error:
        raise AssertionError(f"{server.base} did not answer /health/ready: {error}") from None
    body: dict[str, Any] = answer.json()
    return answer.status_code, body


def _all_ready(server: LiveServer, times: int = READS_PER_PROCESS) -> bool:
    return all(_ready(server)[0] == 200 for _ in range(times))


def _none_ready(server: LiveServer, times: int = READS_PER_PROCESS) -> bool:
    return all(_ready(server)[0] == 503 for _ in range(times))


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    own = Cluster()
    missing = own.available()
    if missing is not None:
        if os.environ.get("CI"):
            pytest.fail(f"CI runs the PostgreSQL restart test: {missing}")
        pytest.skip(missing)
    try:
        yield own.create()
    finally:
        own.remove()


def test_postgres_stopped_and_started_again(
    cluster: Cluster, alliance_dir: Path, tmp_path: Path, stopping: list[LiveServer]
) -> None:
    with Store(cluster.url, SIGNER) as store:
        seed(store, [alliance_dir])
        resolver = store.create_token("resolver", "metro-home", None, "test resolver")[1]
        admin = store.create_token("admin", None, None, "test admin")[1]
    stopping += _servers(cluster.url, tmp_path, count=2, workers=2)
    for server in stopping:
        assert _all_ready(server)
        assert _ready(server)[1] == {
            "status": "ready",
            "database": "ok",
            "migrations": "current",
            "listener": "connected",
            "outbox": "ok",
            "outboxLag": None,
        }
        assert _revision(server, resolver) == 1

    cluster.stop()
    stopped = time.monotonic()
    for server in stopping:
        _until(lambda server=server: _none_ready(server), 10, f"{server.base} not ready")
        assert _ready(server)[1] == {
            "status": "not ready",
            "database": "unreachable",
            "migrations": "unknown",
            "listener": "not connected",
            "outbox": "unknown",
            "outboxLag": None,
        }
        assert httpx.get(server.url("/health/live")).status_code == 200
        refused = httpx.get(server.url(OWNER), headers=bearer(resolver), timeout=30)
        assert refused.status_code == 503, refused.text
        assert refused.headers["retry-after"] == "2"
        assert refused.json()["detail"].startswith("the database is unreachable: ")
    time.sleep(max(0.0, 5.0 - (time.monotonic() - stopped)))

    cluster.start()
    # A write before the processes are listening again: they must read it when they
    # reconnect, not wait for a notification that was never theirs to hear.
    with Store(cluster.url, SIGNER) as store:
        body = store.document("metro-home", "Partner", "metro")
        assert body is not None
        changed = body.body.replace("Metro Home plc", "Metro Home Group plc")
        with store.writing("metro-home") as draft:
            from registry.store import Write  # noqa: PLC0415 - only this test writes so

            draft.commit([Write("Partner", "metro", changed)], "test", "put")
    for server in stopping:
        _until(lambda server=server: _all_ready(server), 30, f"{server.base} ready again")
        # No stale answer once ready: every worker answers the write made meanwhile.
        assert {_revision(server, resolver) for _ in range(READS_PER_PROCESS)} == {2}
    # And they hear writes again.
    assert _rename(stopping[0], admin, "Metro Home plc, after the restart") == 3
    _until(lambda: _revision(stopping[1], resolver) == 3, PROPAGATION_BOUND_S, "revision 3")
    assert {_revision(stopping[1], resolver) for _ in range(READS_PER_PROCESS)} == {3}
    for server in stopping:  # no request failed with a 500 meanwhile
        assert "unhandled error on" not in server.output(), server.output()[-3000:]


def _cells(alliance: str) -> list[dict[str, str]]:
    bundle = load([examples_dir() / alliance]).bundles[alliance]
    dimensions = bundle.space.dimensions
    return [
        {d.name: leaf for d, leaf in zip(dimensions, leaves, strict=True)}
        for leaves in itertools.product(*(d.leaves for d in dimensions))
    ]


def _server_answers(
    server: LiveServer, token: str, cells: list[dict[str, str]], at: dt.date
) -> list[Any]:
    answer = httpx.post(
        server.url("/v1/alliances/triple-play/owner:batch"),
        headers=bearer(token),
        json={"at": at.isoformat(), "queries": [{"where": c} for c in cells]},
        timeout=60,
    )
    assert answer.status_code == 200, answer.text
    return [_undecided(a) for a in answer.json()["answers"]]


def _resolver_answers(resolver: Resolver, cells: list[dict[str, str]], at: dt.date) -> list[Any]:
    return [_undecided(msgspec.to_builtins(resolver.owner(c, at))) for c in cells]


def _undecided(answer: dict[str, Any]) -> dict[str, Any]:
    """The answer without its decisionId: the server records each answer it gives in
    the decision log; the resolver answers in the client's process, unrecorded."""
    return {k: v for k, v in answer.items() if k != "decisionId"}


def test_the_resolver_answers_as_the_server_and_follows_its_writes(
    store: Store, database_url: str, tmp_path: Path, stopping: list[LiveServer]
) -> None:
    seed(store, [examples_dir() / "triple-play"])
    token = store.create_token("resolver", "triple-play", None, "embedded")[1]
    admin = store.create_token("admin", None, None, "test admin")[1]
    stopping += _servers(database_url, tmp_path, count=1, workers=1)
    server = stopping[0]
    cells = _cells("triple-play")
    assert len(cells) == 400
    days = [dt.date(2026, 12, 2), dt.date(2027, 12, 1)]
    with Resolver(server.base, "triple-play", token) as resolver:
        assert resolver.refresh()
        assert resolver.revision == 1
        for day in days:
            assert _resolver_answers(resolver, cells, day) == _server_answers(
                server, token, cells, day
            )
        one = httpx.get(
            server.url("/v1/alliances/triple-play/owner"),
            params={**cells[0], "at": days[0].isoformat()},
            headers=bearer(token),
        ).json()
        assert _undecided(msgspec.to_builtins(resolver.owner(cells[0], days[0]))) == _undecided(one)
        assert not resolver.refresh()  # a 304: nothing downloaded
        assert resolver.fetches == 1

        # A write, and the event that says so: the resolver catches up at once.
        snapshot = httpx.get(
            server.url("/v1/alliances/triple-play/snapshot"), headers=bearer(admin)
        )
        contract = next(d for d in snapshot.json()["documents"] if d["kind"] == "Contract")
        ref = f"Contract/{contract['name']}"
        applied = httpx.post(
            server.url(f"/v1/alliances/triple-play/apply?delete={ref}&force=true"),
            headers=bearer(admin),
            timeout=60,
        )
        assert applied.status_code == 200, applied.text
        revision = applied.json()["revision"]
        assert revision == 2
        assert resolver.heard(
            {"type": "alliance.revision", "alliance": "triple-play", "revision": 2}
        )
        assert resolver.revision == 2
        assert not resolver.heard(
            {"type": "alliance.revision", "alliance": "triple-play", "revision": 2}
        )
        assert _resolver_answers(resolver, cells, days[0]) == _server_answers(
            server, token, cells, days[0]
        )

        # Polling: the next write arrives by itself.
        resolver.start(every=0.05)
        restored = httpx.post(
            server.url("/v1/alliances/triple-play/apply?force=true"),
            headers=bearer(admin),
            json=[contract["document"]],
            timeout=60,
        )
        assert restored.status_code == 200, restored.text
        _until(lambda: resolver.revision == 3, PROPAGATION_BOUND_S, "the resolver polling")
        resolver.stop()
        assert resolver.fetches == 3
        assert _resolver_answers(resolver, cells, days[0]) == _server_answers(
            server, token, cells, days[0]
        )
