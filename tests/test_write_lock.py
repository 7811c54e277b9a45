"""The write lock, on SQLite and PostgreSQL: a write is checked and planned before it
takes the lock, so whatever one request costs, token administration and the writes
of other alliances go on meanwhile; a write whose alliance moved while it was being
checked is checked again on the new state; a lock held too long ends in 503 with
Retry-After, writing nothing."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from registry.errors import PreconditionFailed, Unavailable
from registry.server import create_app
from registry.service import writes
from registry.service.writes import Outcome, Request, write
from registry.settings import Settings
from registry.store import Busy, Store, Write
from registry.store import database as database_module
from registry.yamlnodes import parse_yaml
from tests.apitools import (
    CABLENET_PARTNER,
    FASTNET_PARTNER,
    YAML,
    A,
    doc_error,
    problem,
    tables,
)
from tests.conftest import MINIMAL, SIGNER, bearer, seed, write_files
from tests.live import registry_command

Client = TestClient[Litestar]
ALLIANCE = "metro-home"
DAY = "2026-11-22"  # a day inside every contract of the minimal alliance
WAIT = 30.0  # seconds: for what must happen; what must not happen is given far less


class Background:
    """A call run in a thread of its own; `done(t)` says whether it ended within t."""

    def __init__(self, call: Callable[..., Any], *args: Any) -> None:
        self._value: Any = None
        self._error: BaseException | None = None

        def run() -> None:
            try:
                self._value = call(*args)
            except BaseException as error:
                self._error = error

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()

    def done(self, seconds: float) -> bool:
        self._thread.join(seconds)
        return not self._thread.is_alive()

    def result(self) -> Any:
        assert self.done(WAIT)
        if self._error is not None:
            raise self._error
        return self._value


class Held:
    """Holds the first write of the alliance inside its checks (in its plan) until
    `release` is set; every later plan runs as usual."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, alliance: str = ALLIANCE) -> None:
        self.checking = threading.Event()
        self.release = threading.Event()
        real = writes._plan
        taken = threading.Lock()

        def held(*args: Any) -> Any:
            if args[-1] == alliance and taken.acquire(blocking=False):
                self.checking.set()
                self.release.wait(WAIT)
            return real(*args)

        monkeypatch.setattr(writes, "_plan", held)


def request(text: str, **options: Any) -> Request:
    return Request(ALLIANCE, [("request.yaml", text)], as_of=dt.date.fromisoformat(DAY), **options)


def renamed(legal_name: str) -> str:
    return FASTNET_PARTNER.replace("FastNet Ltd", legal_name)


@pytest.fixture
def other_home(tmp_path: Path) -> Path:
    """The minimal alliance again, named other-home."""
    files = {name: text.replace("metro-home", "other-home") for name, text in MINIMAL.items()}
    return write_files(tmp_path / "other-home", files)


# -- one request's checks hold up nobody else -------------------------------------------


def partner_copies(n: int) -> tuple[str, list[dict[str, Any]]]:
    """`n` copies of fastnet's own Partner document (a dozen contacts each, some 850
    bytes) as a JSON array, one per line, and the errors a plan of them gets."""
    (parsed,) = parse_yaml(FASTNET_PARTNER)
    document = parsed.data
    document["spec"]["contacts"] += [
        {"name": f"duty-{i}", "email": f"duty{i}@fastnet.example"} for i in range(11)
    ]
    line = json.dumps(document)
    column = line.index('"name"', line.index('"metadata"')) + 1
    body = "[\n" + ",\n".join([line] * n) + "\n]\n"
    errors = [
        doc_error(
            f"$[{i}].metadata.name",
            "duplicate Partner 'fastnet' in alliance 'metro-home' (first in "
            "request.json:2:1); rename one of them",
            i + 2,
            column,
            "request.json",
        )
        for i in range(1, n)
    ]
    return body, errors


def test_a_plan_of_90_copies_of_a_partner_document_answers_at_once(
    client: Client, tokens: dict[str, str], seeded: Store
) -> None:
    """Locating the 89 duplicates takes one pass over the body, not one each."""
    body, errors = partner_copies(90)
    assert len(body) > 75_000
    before = tables(seeded)
    start = time.perf_counter()
    r = client.post(f"{A}/plan", headers=bearer(tokens["partner"]), content=body)
    elapsed = time.perf_counter() - start
    problem(r, 422, "89 errors in the documents; nothing was written", errors)
    assert elapsed < 1.0
    assert tables(seeded) == before


def test_a_write_being_checked_holds_up_no_token_and_no_other_alliance(
    seeded: Store, other_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    held = Held(monkeypatch)
    checked = Background(write, seeded, request(CABLENET_PARTNER), "tester (manager)", "apply")
    try:
        assert held.checking.wait(WAIT)
        created = Background(seeded.create_token, "auditor", ALLIANCE, None, "meanwhile")
        assert created.done(5.0), "creating a token waited for a write being checked"
        token_id, _ = created.result()
        revoked = Background(seeded.revoke_token, token_id)
        assert revoked.done(5.0), "revoking a token waited for a write being checked"
        assert revoked.result() is True
        other = Background(seed, seeded, [other_home])
        assert other.done(10.0), "another alliance's write waited for a write being checked"
        assert other.result() == {"other-home": 1}
        assert not checked.done(0.0)
    finally:
        held.release.set()
    outcome: Outcome = checked.result()
    assert (outcome.revision, outcome.applied) == (2, True)
    assert seeded.alliances() == {ALLIANCE: 2, "other-home": 1}
    assert seeded.verify() == {ALLIANCE: [], "other-home": []}


# -- a revision that moved while the write was checked ------------------------------------


def test_a_write_whose_alliance_moved_meanwhile_is_checked_again(
    seeded: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No update is lost: the held write lands on top of the one that overtook it."""
    held = Held(monkeypatch)
    checked = Background(write, seeded, request(CABLENET_PARTNER), "first (manager)", "apply")
    try:
        assert held.checking.wait(WAIT)
        fastnet = seeded.document(ALLIANCE, "Partner", "fastnet")
        assert fastnet is not None
        overtaking = Background(
            write,
            seeded,
            request(
                renamed("FastNet plc"),
                preconditions={"Partner/fastnet": fastnet.etag},
                guarded={"Partner/fastnet"},
            ),
            "second (manager)",
            "put",
        )
        assert overtaking.done(10.0), "a write waited for another one's checks"
        assert overtaking.result().revision == 2
    finally:
        held.release.set()
    outcome: Outcome = checked.result()
    assert (outcome.revision, outcome.applied) == (3, True)
    assert [(d.ref, d.action) for d in outcome.documents] == [("Partner/cablenet", "created")]
    assert [(e.revision, e.actor) for e in seeded.history(ALLIANCE)] == [
        (1, "demo seed"),
        (2, "second (manager)"),
        (3, "first (manager)"),
    ]
    stored = {d.ref: d.body for d in seeded.documents(ALLIANCE)}
    assert "FastNet plc" in stored["Partner/fastnet"] and "Partner/cablenet" in stored
    assert seeded.verify() == {ALLIANCE: []}


def test_a_precondition_that_went_stale_meanwhile_is_412(
    seeded: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    fastnet = seeded.document(ALLIANCE, "Partner", "fastnet")
    assert fastnet is not None
    guarded: dict[str, Any] = {
        "preconditions": {"Partner/fastnet": fastnet.etag},
        "guarded": {"Partner/fastnet"},
    }
    held = Held(monkeypatch)
    checked = Background(
        write, seeded, request(renamed("FastNet AG"), **guarded), "first (manager)", "put"
    )
    try:
        assert held.checking.wait(WAIT)
        overtaking = Background(
            write, seeded, request(renamed("FastNet plc"), **guarded), "second (manager)", "put"
        )
        assert overtaking.done(10.0), "a write waited for another one's checks"
    finally:
        held.release.set()
    now = seeded.document(ALLIANCE, "Partner", "fastnet")
    assert now is not None and "FastNet plc" in now.body
    with pytest.raises(PreconditionFailed) as refused:
        checked.result()
    assert refused.value.message == (
        f"Partner/fastnet has changed since you read it (it is now {now.etag}); read it "
        "again and retry"
    )
    assert refused.value.current == now.etag
    assert seeded.alliances() == {ALLIANCE: 2}


def test_an_alliance_moving_under_every_attempt_is_503_with_retry_after(
    client: Client, tokens: dict[str, str], seeded: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each time the write has been planned, another lands first (a raw commit from
    beside the server): after writes.ATTEMPTS plans it gives up, writing nothing."""
    real = writes._plan
    landed: list[int] = []

    def overtaken(*args: Any) -> Any:
        body = json.dumps({"kind": "Partner", "name": "x", "n": len(landed)})
        overtaking = Background(commit, seeded, [Write("Partner", "x", body)])
        assert overtaking.done(10.0), "a raw commit waited for a write being checked"
        landed.append(overtaking.result())
        return real(*args)

    monkeypatch.setattr(writes, "_plan", overtaken)
    r = client.post(
        f"{A}/apply?asOf={DAY}",
        headers={**bearer(tokens["manager"]), **YAML},
        content=CABLENET_PARTNER,
    )
    problem(
        r,
        503,
        f"alliance 'metro-home' changed {writes.ATTEMPTS} times while this write was being "
        "checked; nothing was written: send it again",
    )
    assert r.headers["retry-after"] == "1"
    assert landed == list(range(2, 2 + writes.ATTEMPTS))
    assert "Partner/cablenet" not in {d.ref for d in seeded.documents(ALLIANCE)}
    assert seeded.verify() == {ALLIANCE: []}


def commit(store: Store, written: list[Write]) -> int:
    with store.writing(ALLIANCE) as draft:
        return draft.commit(written, "beside (manager)", "put")[0]


# -- a lock held too long -----------------------------------------------------------------


@pytest.fixture
def short_waits(monkeypatch: pytest.MonkeyPatch) -> float:
    """Writes give up waiting for a lock after 0.3 s (for stores opened from now)."""
    monkeypatch.setattr(database_module, "BUSY_TIMEOUT_MS", 300)
    return 0.3


@pytest.fixture
def lock_held(seeded: Store, database_url: str) -> Iterator[Callable[[], None]]:
    """The alliances' write lock, held by a raw transaction beside the registry (at
    most 10 s, so code that would wait for it forever ends). Yields its release."""
    if database_url.startswith("sqlite"):
        holder: Any = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
    else:
        import psycopg  # noqa: PLC0415 - the PostgreSQL suite only

        holder = psycopg.connect(database_url.replace("postgresql+psycopg://", "postgresql://"))
        holder.execute("SELECT 1 FROM registry_state WHERE id = 1 FOR UPDATE")
    released = threading.Event()

    def release() -> None:
        if not released.is_set():
            released.set()
            if database_url.startswith("sqlite"):
                holder.execute("ROLLBACK")
            else:
                holder.rollback()

    timer = threading.Timer(10.0, release)
    timer.start()
    yield release
    timer.cancel()
    release()
    holder.close()


def test_a_lock_held_too_long_is_503_with_retry_after(
    seeded: Store,
    database_url: str,
    tokens: dict[str, str],
    short_waits: float,
    lock_held: Callable[[], None],
) -> None:
    before = tables(seeded)
    store = Store(database_url, SIGNER)  # its connections wait 0.3 s at most
    try:
        with TestClient(create_app(Settings(database_url=database_url), store)) as client:
            fastnet = seeded.document(ALLIANCE, "Partner", "fastnet")
            assert fastnet is not None
            started = time.perf_counter()
            r = client.put(
                f"{A}/documents/Partner/fastnet?asOf={DAY}",
                headers={**bearer(tokens["manager"]), **YAML, "If-Match": fastnet.etag},
                content=renamed("FastNet plc"),
            )
            waited = time.perf_counter() - started
            problem(
                r,
                503,
                "the database is busy: another write held its lock for over 0.3 s; nothing "
                "was written: try again shortly",
            )
            assert r.headers["retry-after"] == "2"
            assert waited < 5.0
            # Token administration: on PostgreSQL its own counter row, so it goes on;
            # on SQLite the file's one write lock, so it is refused the same way.
            if database_url.startswith("sqlite"):
                with pytest.raises(Busy) as busy:
                    store.create_token("auditor", ALLIANCE, None, "meanwhile")
                assert isinstance(busy.value, Unavailable) and busy.value.retry_after == 2
            else:
                token_id, _ = store.create_token("auditor", ALLIANCE, None, "meanwhile")
                assert store.revoke_token(token_id)
        lock_held()
        after = tables(seeded)
        for table in ("alliances", "documents", "changes"):
            assert after[table] == before[table]
    finally:
        store.close()


@pytest.mark.slow
def test_registry_token_create_while_the_alliances_lock_is_held(
    seeded: Store, database_url: str, lock_held: Callable[[], None]
) -> None:
    """PostgreSQL: tokens count on a row of their own, so the command goes through at
    once. SQLite: the file has one write lock; after BUSY_TIMEOUT_MS the command says
    the database is busy (exit 2), as it would any refusal."""
    started = time.perf_counter()
    made = registry_command(
        "token", "create", "--role", "admin", "--name", "meanwhile", database_url=database_url
    )
    waited = time.perf_counter() - started
    if database_url.startswith("sqlite"):
        assert (made.returncode, made.stdout, made.stderr) == (
            2,
            "",
            "registry: the database is busy: another write held its lock for over 5 s; "
            "nothing was written: try again shortly\n",
        )
        assert waited < 9.0  # the 5 s wait and the command's start
    else:
        assert made.returncode == 0, made.stderr
        assert made.stderr.startswith("token 1 (admin); it is shown only now:")
        assert waited < 9.0, "token create waited for the alliances' lock"
        revoked = registry_command("token", "revoke", "1", database_url=database_url)
        assert (revoked.returncode, revoked.stdout) == (0, "token 1 revoked\n")
