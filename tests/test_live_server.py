"""The registry as it runs: a real `registry serve` process over a real database.

- A server killed with SIGKILL in the middle of an apply (after the request is
  sent, while the write holds the write lock, right after it commits) leaves the
  registry at the last committed revision, never between: the documents are those
  of that revision exactly, the change log verifies, and a restarted server
  serves it.
- Two workers never answer from a stale index: after a write through one of them,
  every read, on new connections that reach both, has the new revision and owner.
- Twenty concurrent writers with If-Match: each update lands or gets 412 (or 409),
  the log has one entry per landed write and verifies, and no update is lost.
"""

from __future__ import annotations

import functools
import http.client
import json
import select
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest

from registry.service.writes import Request, write
from registry.store import Store
from registry.synth import generate
from tests.conftest import bearer
from tests.live import LiveServer, Probe, cpu_ticks, registry_command

WAIT_SECONDS = 60.0
SYNTH = "synth-medium"  # about 200 documents: an apply holds the write lock ~0.5 s
CELL = "category=outage&region=north&at=2026-11-22"


@pytest.fixture
def server_log(tmp_path: Path) -> Path:
    """Where the servers of a test write their output."""
    return tmp_path / "server.log"


def _synth(version: str) -> bytes:
    """The medium synthetic alliance, every document labelled with `version`: two
    versions differ in every document and in no finding."""
    documents, _ = generate("medium", 11)
    for document in documents:
        document["metadata"]["labels"] = {"version": version}
    return msgspec.json.encode(documents)


def _bodies(store: Store, alliance: str) -> dict[str, str]:
    return {d.ref: d.body for d in store.documents(alliance)}


def _until(done: Callable[[], bool], connection: http.client.HTTPConnection, what: str) -> None:
    """Poll `done`; between polls wait (briefly) for the server's answer instead,
    and fail if the answer comes first: the moment looked for has passed."""
    deadline = time.monotonic() + WAIT_SECONDS
    while not done():
        assert connection.sock is not None
        readable, _, _ = select.select([connection.sock], [], [], 0.002)
        if readable:
            pytest.fail(f"the server answered the apply before {what}")
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} within {WAIT_SECONDS:.0f} s")


def _answer(connection: http.client.HTTPConnection) -> int | None:
    """The status the killed server sent, or None when it died first."""
    try:
        return connection.getresponse().status
    except (http.client.HTTPException, OSError):
        return None
    finally:
        connection.close()


@pytest.mark.slow
def test_a_server_killed_mid_apply_reopens_at_the_last_committed_revision(
    database_url: str, server_log: Path
) -> None:
    versions = {"a": _synth("a"), "b": _synth("b")}
    store = Store(database_url)
    try:
        write(store, Request(SYNTH, [("a.json", versions["a"].decode())], force=True), "t", "apply")
        admin = store.create_token("admin", None, None, "test admin")[1]
    finally:
        store.close()
    headers = {**bearer(admin), "Content-Type": "application/json"}
    apply = f"/v1/alliances/{SYNTH}/apply"
    server = LiveServer(database_url, server_log)
    probe = Probe(database_url)

    moments: dict[str, Callable[[int], bool]] = {
        "the request was sent": lambda before: True,
        "the write took the write lock": lambda before: probe.writer_active(),
        "the write committed": lambda before: probe.revision(SYNTH) > before,
    }
    landed: dict[str, int] = {}
    try:
        stored = _store_both(server.start(), headers, versions)
        for moment, reached in moments.items():
            if server.process is None:
                server.start()  # restarted after the previous kill
            before = probe.revision(SYNTH)
            _check_served(server, admin, before)
            sending = "b" if before % 2 else "a"
            connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
            # Returns once the whole body is on the wire; the answer is read later.
            connection.request("POST", apply, body=versions[sending], headers=headers)
            _until(functools.partial(reached, before), connection, moment)
            server.kill()
            status = _answer(connection)

            revision = _check_reopened(database_url, before, status, stored, moment)
            landed[moment] = revision - before
    except BaseException:
        print(server.output()[-4000:])
        raise
    finally:
        server.kill()
        probe.close()
    print("revisions landed per kill moment:", landed)
    assert landed["the write committed"] == 1, landed
    verified = registry_command("log", "verify", database_url=database_url)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert verified.stdout == f"{SYNTH}: intact\ntoken log: intact\n"

    # The registry takes writes again where it stopped.
    store = Store(database_url)
    revision = store.alliances()[SYNTH]
    store.close()
    with server, httpx.Client(base_url=server.base, headers=headers, timeout=60) as client:
        _check_served(server, admin, revision)
        response = client.post(apply, content=versions["b" if revision % 2 else "a"])
        assert response.status_code == 200, response.text
        assert response.json()["revision"] == revision + 1
        check = client.get(f"/v1/alliances/{SYNTH}/history/verify").json()
        assert check == {"alliance": SYNTH, "ok": True, "problems": []}


def _store_both(
    server: LiveServer, headers: dict[str, str], versions: dict[str, bytes]
) -> dict[str, dict[str, str]]:
    """Both versions through the API once, to learn their stored form: after that
    the registry holds version a at odd revisions and b at even ones."""
    stored: dict[str, dict[str, str]] = {}
    with httpx.Client(base_url=server.base, headers=headers, timeout=60) as client:
        for revision, version in ((2, "b"), (3, "a")):
            response = client.post(f"/v1/alliances/{SYNTH}/apply", content=versions[version])
            assert response.status_code == 200, response.text
            assert response.json()["revision"] == revision
            store = Store(server.database_url)
            stored[version] = _bodies(store, SYNTH)
            store.close()
    count = len(msgspec.json.decode(versions["a"]))
    assert len(stored["a"]) == len(stored["b"]) == count
    assert not set(stored["a"].items()) & set(stored["b"].items())
    return stored


def _check_reopened(
    database_url: str,
    before: int,
    status: int | None,
    stored: dict[str, dict[str, str]],
    moment: str,
) -> int:
    """The database after the kill: at `before` or one write after it, never in
    between; documents, log (what `registry log verify` checks) and file intact.
    Returns the revision."""
    store = Store(database_url)
    try:
        revision = store.alliances()[SYNTH]
        assert revision in (before, before + 1), moment
        assert status in (None, 200), moment
        if status == 200:  # an answered write was committed
            assert revision == before + 1, moment
        current = "a" if revision % 2 else "b"
        assert _bodies(store, SYNTH) == stored[current], moment
        entries = store.history(SYNTH, 0, 1000)
        assert [e.revision for e in entries] == list(range(1, revision + 1)), moment
        assert store.verify(SYNTH) == {SYNTH: []}, moment
    finally:
        store.close()
    _check_database_file(database_url)
    return revision


def _check_served(server: LiveServer, admin: str, revision: int) -> None:
    """The running server serves the alliance at `revision`, documents and all."""
    with httpx.Client(base_url=server.base, headers=bearer(admin), timeout=60) as client:
        alliances = client.get("/v1/alliances").json()
        assert [(a["name"], a["revision"]) for a in alliances] == [(SYNTH, revision)]
        documents = client.get(f"/v1/alliances/{SYNTH}/documents").json()
        assert documents["revision"] == revision and len(documents["documents"]) > 100


def _check_database_file(database_url: str) -> None:
    if database_url.startswith("sqlite"):
        import sqlite3  # noqa: PLC0415

        with sqlite3.connect(database_url.removeprefix("sqlite:///")) as connection:
            assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def _read_burst(server: LiveServer, token: str, n: int) -> list[dict[str, Any]]:
    """`n` owner queries, each on a new connection, spread over the workers."""
    answers = []
    for _ in range(n):
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        try:
            connection.request(
                "GET", f"/v1/alliances/metro-home/owner?{CELL}", headers=bearer(token)
            )
            response = connection.getresponse()
            body = response.read()
        finally:
            connection.close()
        assert response.status == 200, body
        answers.append(json.loads(body))
    return answers


def _busy_workers(server: LiveServer, burst: Callable[[], Any]) -> int:
    """How many of the server's worker processes spent CPU time during `burst`."""
    pids = server.worker_pids()
    before = {pid: cpu_ticks(pid) for pid in pids}
    burst()
    return sum(cpu_ticks(pid) > ticks for pid, ticks in before.items())


@pytest.mark.slow
def test_two_workers_never_answer_from_a_stale_index(
    seeded: Store, tokens: dict[str, str], database_url: str, server_log: Path
) -> None:
    with LiveServer(database_url, server_log, workers=2) as server:
        assert len(server.worker_pids()) == 2
        reads: list[list[dict[str, Any]]] = []
        # Both workers answer, and so both compile revision 1 before the write.
        busy = _busy_workers(
            server, lambda: reads.append(_read_burst(server, tokens["resolver"], 150))
        )
        assert busy == 2, server.output()
        assert {(a["revision"], a["owner"]["partner"]) for a in reads[0]} == {(1, "fastnet")}

        admin = bearer(tokens["admin"])
        rest = httpx.get(
            server.url("/v1/alliances/metro-home/documents/Contract/metro-rest"), headers=admin
        ).json()
        rest["spec"]["accountable"] = [{"where": {}}]  # metro takes over fastnet's cells
        response = httpx.post(
            server.url("/v1/alliances/metro-home/apply?delete=Contract/fastnet-internet"),
            headers=admin,
            json=[rest],
            timeout=30,
        )
        assert response.status_code == 200, response.text
        assert response.json()["revision"] == 2

        reads.clear()
        busy = _busy_workers(
            server, lambda: reads.append(_read_burst(server, tokens["resolver"], 150))
        )
        assert busy == 2, server.output()
        answers = {(a["revision"], a["owner"]["partner"], a["owner"]["contract"]) for a in reads[0]}
        assert answers == {(2, "metro", "metro-rest")}


WRITERS = 20
ATTEMPTS = 3


@pytest.mark.slow
def test_concurrent_writers_lose_no_update(
    seeded: Store, tokens: dict[str, str], database_url: str, server_log: Path
) -> None:
    path = "/v1/alliances/metro-home/documents/Partner/metro"
    results: list[dict[str, Any]] = []
    errors: list[BaseException] = []
    start = threading.Barrier(WRITERS)

    def writer(i: int) -> None:
        try:
            with httpx.Client(
                base_url=server.base, headers=bearer(tokens["admin"]), timeout=60
            ) as client:
                start.wait(timeout=WAIT_SECONDS)
                for attempt in range(ATTEMPTS):
                    read = client.get(path)
                    document = json.loads(read.content)
                    name = f"Metro Home plc, writer {i} attempt {attempt}"
                    document["spec"]["legalName"] = name
                    response = client.put(
                        path, json=document, headers={"If-Match": read.headers["ETag"]}
                    )
                    results.append(
                        {
                            "name": name,
                            "read": read.headers["ETag"],
                            "status": response.status_code,
                            "body": response.json(),
                            "etag": response.headers.get("ETag"),
                        }
                    )
                    if response.status_code in (200, 201):
                        return
        except BaseException as error:
            errors.append(error)

    with LiveServer(database_url, server_log, workers=2) as server:
        seeded_etag = httpx.get(server.url(path), headers=bearer(tokens["admin"])).headers["ETag"]
        threads = [threading.Thread(target=writer, args=(i,)) for i in range(WRITERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=WAIT_SECONDS)
        assert not errors, errors
        assert not any(thread.is_alive() for thread in threads)

        statuses = sorted({r["status"] for r in results})
        assert set(statuses) <= {200, 201, 409, 412}, [r for r in results if r["status"] >= 500]
        landed = sorted(
            (r for r in results if r["status"] in (200, 201)), key=lambda r: r["body"]["revision"]
        )
        assert landed
        # Serialised: revisions 2, 3, ... and each landed write was based on the one
        # before it (its If-Match is the ETag the previous one produced).
        assert [r["body"]["revision"] for r in landed] == list(range(2, 2 + len(landed)))
        assert [r["read"] for r in landed] == [seeded_etag] + [r["etag"] for r in landed[:-1]]
        for refused in (r for r in results if r["status"] == 412):
            assert refused["body"]["status"] == 412 and refused["body"]["etag"]

        final = httpx.get(server.url(path), headers=bearer(tokens["admin"]))
        assert json.loads(final.content)["spec"]["legalName"] == landed[-1]["name"]
        assert final.headers["ETag"] == landed[-1]["etag"]
        history = httpx.get(
            server.url("/v1/alliances/metro-home/history?limit=1000"),
            headers=bearer(tokens["auditor"]),
        ).json()
        assert history["revision"] == 1 + len(landed)
        entries = history["entries"]
        assert [e["revision"] for e in entries] == list(range(1, 2 + len(landed)))
        assert all(e["action"] == "put" for e in entries[1:])
        assert [e["documents"][0]["ref"] for e in entries[1:]] == ["Partner/metro"] * len(landed)

    assert seeded.alliances() == {"metro-home": 1 + len(landed)}
    assert seeded.verify("metro-home") == {"metro-home": []}
    verified = registry_command("log", "verify", database_url=database_url)
    assert verified.returncode == 0, verified.stdout + verified.stderr
