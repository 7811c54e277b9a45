"""The decision log, on SQLite and PostgreSQL: every answer recorded once with its
fields, read back with filters and cursors, replayed at its revision (also after a
write changed the answer), pruned by retention; revision and asKnownAt on every
question; evidence files that verify, and one tampering of each kind caught."""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import text

from registry.access import digest
from registry.checkpoint import Signer
from registry.cli import main
from registry.server import create_app
from registry.service import Filters, Recorder, Registry, verify_evidence
from registry.service.decisions import new_id
from registry.service.metrics import exposition
from registry.service.writes import Request, write
from registry.settings import Settings
from registry.store import Store
from registry.store.decisions import Decision, decision_hash
from tests.apitools import AS_OF, FASTNET_NARROWED, A, problem
from tests.conftest import ALLIANCE, SIGNER, bearer

Client = TestClient[Litestar]

MAPPED = (
    ALLIANCE
    + """\
  tickets:
    dimensions:
      category: {field: ticketType, values: {Internet Outage: outage, Slow Internet: slow-speed}}
      region: {relatedEntity: serviceArea, default: north}
"""
)
SLOW = {"category": "slow-speed", "region": "north"}
HANDOFF = {"name": "tickets", "type": "tmf621", "address": "https://fastnet.example/tmf"}
FASTNET_OWNS = {"partner": "fastnet", "contract": "fastnet-internet"}


@pytest.fixture
def mapped(seeded: Store) -> Store:
    """metro-home at revision 2, mapping tickets to its dimensions."""
    write(seeded, Request("metro-home", [("alliance.yaml", MAPPED)]), "test", "apply")
    return seeded


@pytest.fixture
def logging_client(mapped: Store, database_url: str) -> Iterator[Client]:
    """A client of a registry that records decisions (flushed when a test says). The
    tests write through the store, as another process would, then ask again: the
    registry reads the generation on every request (`freshness="read"`), so the next
    request sees the write (LISTEN/NOTIFY would make that milliseconds-eventual on
    PostgreSQL: tests/test_revisions.py and test_replicas.py test it)."""
    settings = Settings(database_url=database_url, decision_flush_interval=60, freshness="read")
    with TestClient(create_app(settings, mapped)) as client:
        yield client


def flush(client: Client) -> None:
    recorder = client.app.state["registry"].recorder
    assert recorder is not None
    recorder.flush()


def token_id(store: Store, secret: str) -> int:
    return store.principals()[digest(secret)].id


def listed(client: Client, token: str, query: str = "") -> list[dict[str, Any]]:
    r = client.get(f"{A}/decisions{query}", headers=bearer(token))
    assert r.status_code == 200, r.text
    found: list[dict[str, Any]] = r.json()["decisions"]
    return found


def test_every_answer_is_recorded_once_with_its_fields(
    logging_client: Client, tokens: dict[str, str], mapped: Store
) -> None:
    resolver = bearer(tokens["resolver"])
    one = logging_client.get(f"{A}/owner", params={**SLOW, "at": AS_OF}, headers=resolver)
    assert one.status_code == 200, one.text
    assert one.headers["x-decision-id"] == one.json()["decisionId"]
    batch = logging_client.post(
        f"{A}/owner:batch",
        headers=resolver,
        json={"at": AS_OF, "queries": [{"where": SLOW}, {"where": {"category": "refund"}}]},
    )
    assert batch.status_code == 200, batch.text
    ticket = {
        "id": "TT-42",
        "ticketType": "Slow Internet",
        "creationDate": f"{AS_OF}T09:30:00Z",
        "description": "customer data that must not be logged",
    }
    routed = logging_client.post(f"{A}/tickets:route", headers=resolver, json=ticket)
    assert routed.status_code == 200, routed.text
    assert routed.headers["x-decision-id"] == routed.json()["decisionId"]
    flush(logging_client)
    ids = [
        one.json()["decisionId"],
        *(a["decisionId"] for a in batch.json()["answers"]),
        routed.json()["decisionId"],
    ]
    found = listed(logging_client, tokens["auditor"])
    assert [d["decisionId"] for d in found] == ids[::-1]  # latest first, each once
    me = token_id(mapped, tokens["resolver"])
    owned = {
        "alliance": "metro-home",
        "revision": 2,
        "day": AS_OF,
        "query": SLOW,
        "status": "owned",
        "owner": FASTNET_OWNS,
        "face": "metro",
        "handoff": HANDOFF,
        "partners": ["fastnet", "metro"],
        "token": me,
        "role": "resolver",
    }
    varying = {"at", "hash", "decisionId", "seq"}
    shown = [{k: v for k, v in d.items() if k not in varying} for d in found[::-1]]
    assert shown == [
        {**owned, "kind": "owner"},
        {**owned, "kind": "batch"},
        {
            **owned,
            "kind": "batch",
            "query": {"category": "refund"},
            "owner": {"partner": "metro", "contract": "metro-rest"},
            "handoff": None,
            "partners": ["metro"],
        },
        {**owned, "kind": "ticket", "ticket": "TT-42"},
    ]
    assert [d["seq"] for d in found[::-1]] == [1, 2, 3, 4]
    with mapped.engine.connect() as connection:
        stored = connection.execute(text("SELECT * FROM decisions")).all()
    assert "customer data" not in repr(stored) and tokens["resolver"] not in repr(stored)
    r = logging_client.get(f"{A}/decisions/{ids[0]}", headers=bearer(tokens["manager"]))
    assert r.json() == found[-1]


def metric(text_: str, name: str) -> float:
    values = dict(line.rsplit(" ", 1) for line in text_.splitlines() if line[:1] != "#")
    return float(values[name])


def test_the_decisions_recorded_are_counted_for_prometheus(
    logging_client: Client, tokens: dict[str, str]
) -> None:
    """Counted by the flush (the counter is the process's, shared with earlier tests)."""
    resolver = bearer(tokens["resolver"])

    def recorded() -> float:
        scraped = logging_client.get("/metrics", headers=bearer(tokens["admin"]))
        return metric(scraped.text, "registry_decisions_recorded_total")

    flush(logging_client)
    before = recorded()
    for _ in range(3):
        r = logging_client.get(f"{A}/owner", params={**SLOW, "at": AS_OF}, headers=resolver)
        assert r.status_code == 200, r.text
    queries = [{"where": SLOW}, {"where": {"category": "refund"}}]
    r = logging_client.post(f"{A}/owner:batch", headers=resolver, json={"queries": queries})
    assert r.status_code == 200, r.text
    assert recorded() == before  # buffered, not written yet
    flush(logging_client)
    assert recorded() == before + 5
    r = logging_client.get(f"{A}/owner", params={**SLOW, "at": AS_OF}, headers=resolver)
    flush(logging_client)
    assert recorded() == before + 6


def test_a_decision_replays_at_its_revision_after_a_write(
    logging_client: Client, tokens: dict[str, str], mapped: Store, tmp_path: Path
) -> None:
    resolver, auditor = bearer(tokens["resolver"]), bearer(tokens["auditor"])
    before = logging_client.get(f"{A}/owner", params={**SLOW, "at": AS_OF}, headers=resolver)
    decision = before.json()["decisionId"]
    flush(logging_client)
    r = logging_client.post(f"{A}/decisions/{decision}:replay", headers=auditor)
    assert r.json() == {
        "decisionId": decision,
        "alliance": "metro-home",
        "revision": 2,
        "day": AS_OF,
        "query": SLOW,
        "result": "match",
        "differences": [],
    }
    # FastNet's contract narrowed to outages: slow-speed is a gap from revision 3 on.
    write(
        mapped, Request("metro-home", [("c.yaml", FASTNET_NARROWED)], force=True), "test", "apply"
    )
    after = logging_client.get(f"{A}/owner", params={**SLOW, "at": AS_OF}, headers=resolver)
    assert (after.json()["revision"], after.json()["status"]) == (3, "unowned")
    again = logging_client.post(f"{A}/decisions/{decision}:replay", headers=auditor)
    assert again.json()["result"] == "match"
    # As it was asked then: the earlier revision, by number or by instant.
    at_2 = logging_client.get(
        f"{A}/owner", params={**SLOW, "at": AS_OF, "revision": "2"}, headers=resolver
    )
    assert (at_2.json()["revision"], at_2.json()["owner"]) == (2, FASTNET_OWNS)
    flush(logging_client)
    assert [d["revision"] for d in listed(logging_client, tokens["auditor"])] == [2, 3, 2]
    # The command line replays against the database, no server or token needed.
    url = mapped.url
    assert main(["decisions", "replay", decision, "--database-url", url]) == 0


def test_a_decision_that_no_longer_replays_is_told(
    logging_client: Client,
    tokens: dict[str, str],
    mapped: Store,
    capsys: pytest.CaptureFixture[str],
) -> None:
    r = logging_client.get(
        f"{A}/owner", params={**SLOW, "at": AS_OF}, headers=bearer(tokens["admin"])
    )
    decision = r.json()["decisionId"]
    flush(logging_client)
    with mapped.engine.begin() as connection:
        connection.execute(text("UPDATE decisions SET status = 'gap', owner = NULL"))
    r = logging_client.post(f"{A}/decisions/{decision}:replay", headers=bearer(tokens["admin"]))
    assert r.json()["result"] == "differs"
    assert r.json()["differences"] == [
        {"field": "status", "recorded": "gap", "replayed": "owned"},
        {
            "field": "owner",
            "recorded": None,
            "replayed": msgspec.json.encode(FASTNET_OWNS).decode(),
        },
    ]
    capsys.readouterr()
    assert main(["decisions", "replay", decision, "--database-url", mapped.url]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"decision {decision} of 'metro-home' (revision 2, day {AS_OF}): differs"
    assert out[1] == "  status: recorded gap, replayed owned"


def test_filters_cursors_and_a_partners_view(
    logging_client: Client, tokens: dict[str, str]
) -> None:
    resolver = bearer(tokens["resolver"])
    queries = [
        {"category": "outage", "region": "north"},  # fastnet
        {"category": "refund", "region": "south"},  # metro
        {"category": "slow-speed", "region": "south"},  # fastnet
        {"category": "installation", "region": "north"},  # metro
    ]
    asked = []
    for query in queries:
        r = logging_client.get(f"{A}/owner", params={**query, "at": AS_OF}, headers=resolver)
        asked.append(r.json()["decisionId"])
    ticket = {"id": "TT-7", "ticketType": "Internet Outage", "creationDate": f"{AS_OF}T08:00:00Z"}
    routed = logging_client.post(f"{A}/tickets:route", headers=resolver, json=ticket)
    asked.append(routed.json()["decisionId"])
    flush(logging_client)
    ids = lambda found: [asked.index(d["decisionId"]) for d in found]  # noqa: E731
    auditor = tokens["auditor"]
    assert ids(listed(logging_client, auditor, "?partner=fastnet")) == [4, 2, 0]
    assert ids(listed(logging_client, auditor, "?under=category:connectivity")) == [4, 2, 0]
    assert ids(listed(logging_client, auditor, "?under=category:billing")) == [1]
    assert ids(listed(logging_client, auditor, "?ticket=TT-7")) == [4]
    assert ids(listed(logging_client, auditor, "?status=gap")) == []
    far = "?since=2999-01-01T00:00:00Z"
    assert ids(listed(logging_client, auditor, far)) == []
    # Two at a time, latest first, to the end.
    seen, cursor = [], ""
    while True:
        r = logging_client.get(f"{A}/decisions?limit=2{cursor}", headers=bearer(auditor))
        seen += ids(r.json()["decisions"])
        if r.json()["next"] is None:
            break
        cursor = f"&cursor={r.json()['next']}"
    assert seen == [4, 3, 2, 1, 0]
    # FastNet's token sees the decisions that name FastNet, no others.
    assert ids(listed(logging_client, tokens["partner"])) == [4, 2, 0]
    hidden = asked[1]
    r = logging_client.get(f"{A}/decisions/{hidden}", headers=bearer(tokens["partner"]))
    problem(r, 404, f"no decision {hidden} in alliance 'metro-home'")
    r = logging_client.get(f"{A}/decisions?partner=metro", headers=bearer(tokens["partner"]))
    problem(r, 403, "a partner token sees only the decisions that name its partner 'fastnet'")
    r = logging_client.get(f"{A}/decisions", headers=bearer(tokens["resolver"]))
    problem(r, 403, "a resolver token may not read the decision log")
    r = logging_client.get(f"{A}/decisions?under=colour:red", headers=bearer(auditor))
    assert r.status_code == 400
    assert r.json()["errors"][0]["message"] == (
        "'colour:red' is not DIMENSION:NODE of a dimension of the alliance (category, region)"
    )


def test_revision_and_as_known_at_on_every_question(
    logging_client: Client, tokens: dict[str, str], mapped: Store
) -> None:
    write(
        mapped, Request("metro-home", [("c.yaml", FASTNET_NARROWED)], force=True), "test", "apply"
    )
    admin = bearer(tokens["admin"])
    with mapped.engine.connect() as connection:
        written = dict(connection.execute(text("SELECT revision, at FROM changes")).all())
    # An instant between revision 2's write and revision 3's.
    known = dt.datetime.fromisoformat(written[3]) - dt.timedelta(milliseconds=1)
    assert known >= dt.datetime.fromisoformat(written[2])
    instant = known.isoformat().replace("+00:00", "Z")
    for asked in ({"revision": "2"}, {"asKnownAt": instant}):
        r = logging_client.get(f"{A}/owner", params={**SLOW, "at": AS_OF, **asked}, headers=admin)
        assert (r.json()["revision"], r.json()["status"]) == (2, "owned"), asked
        r = logging_client.post(
            f"{A}/owner:batch",
            params=asked,
            headers=admin,
            json={"at": AS_OF, "queries": [{"where": SLOW}]},
        )
        assert (r.json()["revision"], r.json()["answers"][0]["status"]) == (2, "owned")
        ticket = {"ticketType": "Slow Internet", "creationDate": f"{AS_OF}T09:00:00Z"}
        r = logging_client.post(f"{A}/tickets:route", params=asked, headers=admin, json=ticket)
        assert (r.json()["revision"], r.json()["status"]) == (2, "owned")
        r = logging_client.get(f"{A}/audit", params={"asOf": AS_OF, **asked}, headers=admin)
        assert (r.json()["revision"], r.json()["summary"]["error"]) == (2, 0)
        r = logging_client.get(f"{A}/documents", params=asked, headers=admin)
        assert r.json()["revision"] == 2
        r = logging_client.get(
            f"{A}/documents/Contract/fastnet-internet", params=asked, headers=admin
        )
        assert r.headers["x-revision"] == "1"
    # The current revision: the gap.
    r = logging_client.get(f"{A}/audit", params={"asOf": AS_OF}, headers=admin)
    assert (r.json()["revision"], r.json()["summary"]["error"]) == (3, 1)
    missing = "no revision 9 of alliance 'metro-home': its current revision is 3"
    for url in (
        f"{A}/owner?category=refund&revision=9",
        f"{A}/audit?revision=9",
        f"{A}/documents?revision=9",
    ):
        problem(logging_client.get(url, headers=admin), 404, missing)
    r = logging_client.post(f"{A}/owner:batch?revision=9", headers=admin, json={"queries": []})
    problem(r, 404, missing)
    early = "2000-01-01T00:00:00Z"
    r = logging_client.get(f"{A}/owner?category=refund&asKnownAt={early}", headers=admin)
    problem(
        r,
        404,
        "alliance 'metro-home' had no revision yet at 2000-01-01T00:00:00.000+00:00; its "
        "current revision is 3",
    )
    r = logging_client.get(f"{A}/owner?category=refund&revision=2&asKnownAt={early}", headers=admin)
    assert r.json()["errors"][0]["message"] == "give revision or asKnownAt, not both"
    r = logging_client.get(f"{A}/owner?category=refund&revision=two", headers=admin)
    assert r.json()["errors"][0]["message"] == "'two' is not a revision (1 to 2147483647)"


# -- evidence -------------------------------------------------------------------------


def evidence(client: Client, token: str, query: str) -> bytes:
    r = client.get(f"{A}/evidence{query}", headers=bearer(token))
    assert r.status_code == 200, r.text
    return r.content


EVERYTHING = "&decisions=2000-01-01T00:00:00Z/2999-01-01T00:00:00Z"


@pytest.fixture
def disputed(logging_client: Client, tokens: dict[str, str], mapped: Store) -> list[str]:
    """Three decisions at revision 2, then the narrowed contract (revision 3) and one
    decision at revision 3."""
    resolver = bearer(tokens["resolver"])
    asked = []
    for query in (SLOW, {"category": "refund"}, {"category": "outage"}):
        r = logging_client.get(f"{A}/owner", params={**query, "at": AS_OF}, headers=resolver)
        asked.append(r.json()["decisionId"])
    flush(logging_client)
    write(
        mapped, Request("metro-home", [("c.yaml", FASTNET_NARROWED)], force=True), "test", "apply"
    )
    r = logging_client.get(f"{A}/owner", params={**SLOW, "at": AS_OF}, headers=resolver)
    asked.append(r.json()["decisionId"])
    flush(logging_client)
    return asked


def test_evidence_verifies_offline(
    logging_client: Client,
    tokens: dict[str, str],
    disputed: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = evidence(logging_client, tokens["auditor"], f"?revision=2&asOf={AS_OF}{EVERYTHING}")
    verified = verify_evidence(data, SIGNER.verifier)
    assert (verified.problems, verified.revision, verified.decisions) == ([], 2, 4)
    assert (verified.documents, verified.changes) == (5, 3)
    path = tmp_path / "evidence.json"
    path.write_bytes(data)
    key = tmp_path / "key.pub"
    key.write_text(SIGNER.verifier_key + "\n")
    capsys.readouterr()
    assert main(["evidence", "verify", str(path), "--public-key", str(key)]) == 0
    assert capsys.readouterr().out == (
        f"evidence of 'metro-home' at revision 2: verified: the checkpoint signed by "
        f"{SIGNER.verifier.label}, 3 change-log entries, 5 documents as the log commits to "
        f"them, the audit as of {AS_OF} recomputed, 4 decision(s) replayed to match\n"
    )
    other = Signer(Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33))))
    assert main(["evidence", "verify", str(path), "--public-key", other.verifier_key]) == 1
    out = capsys.readouterr().out
    assert f"checkpoint: not signed by {other.verifier.label}" in out
    assert "decision log checkpoint: not signed by" in out


def verify_after(client: Client, token: str, store: Store, sql: str) -> list[str]:
    with store.engine.begin() as connection:
        connection.execute(text(sql))
    data = evidence(client, token, f"?revision=2&asOf={AS_OF}{EVERYTHING}")
    return verify_evidence(data, SIGNER.verifier).problems


def test_an_edited_decision_is_detected(
    logging_client: Client, tokens: dict[str, str], disputed: list[str], mapped: Store
) -> None:
    first = disputed[0]
    found = verify_after(
        logging_client,
        tokens["auditor"],
        mapped,
        f"UPDATE decisions SET owner = NULL, status = 'gap' WHERE id = '{first}'",
    )
    assert found[0] == (
        f"'metro-home' decision log decision {first} (number 1): its content does not match "
        "its hash: it was edited"
    )
    assert f"decision {first}: replays with status owned, recorded gap" in found


def test_a_deleted_decision_is_detected(
    logging_client: Client, tokens: dict[str, str], disputed: list[str], mapped: Store
) -> None:
    found = verify_after(
        logging_client,
        tokens["auditor"],
        mapped,
        f"DELETE FROM decisions WHERE id = '{disputed[1]}'",
    )
    assert found[0] == (
        f"'metro-home' decision log decision {disputed[2]} (number 3): decision number 2 is "
        "missing before it: deleted"
    )


def test_an_edited_document_version_is_detected(
    logging_client: Client, tokens: dict[str, str], disputed: list[str], mapped: Store
) -> None:
    found = verify_after(
        logging_client,
        tokens["auditor"],
        mapped,
        "UPDATE documents SET body = replace(body, 'FastNet Ltd', 'FastNet plc') "
        "WHERE kind = 'Partner' AND name = 'fastnet'",
    )
    assert found == [
        "documents at revision 2: Partner/fastnet is not the version the change log committed to",
        "documents at revision 3: Partner/fastnet is not the version the change log committed to",
    ] + [
        f"decision {d}: no verified documents of its revision {r}"
        for d, r in zip(disputed, [2, 2, 2, 3], strict=True)
    ]


def test_an_edited_log_is_detected(
    logging_client: Client, tokens: dict[str, str], disputed: list[str], mapped: Store
) -> None:
    found = verify_after(
        logging_client,
        tokens["auditor"],
        mapped,
        "UPDATE changes SET actor = 'someone else' WHERE revision = 3",
    )
    assert found == [
        "'metro-home' change log revision 3: its content does not match its hash",
        "'metro-home' change log: it is not the log the checkpoint signed: it was rewritten",
    ]


def test_an_edited_evidence_file_is_detected(
    logging_client: Client, tokens: dict[str, str], disputed: list[str]
) -> None:
    data = evidence(logging_client, tokens["auditor"], f"?revision=2&asOf={AS_OF}")
    parsed = msgspec.json.decode(data)
    parsed["audit"]["asOf"] = "1999-01-01"
    found = verify_evidence(msgspec.json.encode(parsed), SIGNER.verifier).problems
    assert found == [
        f"audit as of {AS_OF}: the report in the file is not the one the documents at "
        "revision 2 give"
    ]


# -- retention and the buffer ---------------------------------------------------------


def test_retention_prunes_old_decisions_and_says_so_in_the_change_log(
    logging_client: Client, tokens: dict[str, str], mapped: Store
) -> None:
    r = logging_client.get(
        f"{A}/owner", params={**SLOW, "at": AS_OF}, headers=bearer(tokens["admin"])
    )
    assert r.status_code == 200
    flush(logging_client)
    registry: Registry = logging_client.app.state["registry"]
    assert registry.prune_decisions(dt.timedelta(days=400)) == {}
    # Two months on with a retention of a day: the month is over, its decisions go.
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=62)
    assert registry.prune_decisions(dt.timedelta(days=1), later) == {"metro-home": 1}
    assert listed(logging_client, tokens["auditor"]) == []
    entry = logging_client.get(f"{A}/history?after=2", headers=bearer(tokens["admin"])).json()
    [noted] = entry["entries"]
    assert (noted["actor"], noted["documents"]) == ("decision retention", [])
    assert noted["action"].startswith("prune-decisions 1 before ")
    assert mapped.verify("metro-home") == {"metro-home": []}


class FailingStore:
    """A store whose decision log fails until told otherwise."""

    def __init__(self) -> None:
        self.up = threading.Event()
        self.written: list[Any] = []
        self.decisions = self

    def append(self, batch: list[Any], maybe_stored: int = 0) -> None:
        if not self.up.is_set():
            raise RuntimeError("the database is down")
        self.written += batch


class CommitThenFail:
    """A real store's decision log whose first append commits and then raises, as when
    the connection is lost while the commit lands."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.decisions = self
        self.failed = False

    def append(self, batch: list[Decision], maybe_stored: int = 0) -> None:
        self.store.decisions.append(batch, maybe_stored)
        if not self.failed:
            self.failed = True
            raise OSError("server closed the connection unexpectedly")


def a_decision(category: str) -> Decision:
    return Decision(
        id=new_id(), alliance=ALLIANCE, at="", kind="owner", revision=1, day=AS_OF,
        query=f'{{"category":"{category}"}}', status="owned", owner=None, face=None,
        handoff=None, partners=",", token=1, role="resolver", ticket=None,
    )  # fmt: skip


def test_a_flush_whose_commit_landed_after_all_is_not_written_twice(seeded: Store) -> None:
    recorder = Recorder(CommitThenFail(seeded), 60)  # type: ignore[arg-type]
    first = [a_decision(c) for c in ("outage", "refund", "billing")]
    recorder.record(first)
    assert recorder.flush() == 0  # told it failed, yet it landed
    later = [a_decision(c) for c in ("outage", "installation")]
    recorder.record(later)
    assert recorder.flush() == 5  # the first three found and skipped, not a duplicate key
    recorder.close()
    chain = list(reversed(seeded.decisions.page(ALLIANCE, Filters(), 100)))
    assert [d.id for d in chain] == [d.id for d in first + later]
    assert [d.seq for d in chain] == [1, 2, 3, 4, 5]
    previous = [chain[0].previous] + [d.hash for d in chain[:-1]]
    assert [d.previous for d in chain] == previous
    assert all(decision_hash(d) == d.hash for d in chain)


def test_decision_ids_are_ordered_uuid7s_of_their_millisecond() -> None:
    before = time.time_ns() // 1_000_000
    ids = [new_id() for _ in range(20_000)]  # several pools of random bits, many ids a ms
    after = time.time_ns() // 1_000_000
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    for text_ in (ids[0], ids[-1]):
        parsed = uuid.UUID(text_)
        assert (parsed.version, parsed.variant, str(parsed)) == (7, uuid.RFC_4122, text_)
        assert before <= parsed.int >> 80 <= after + 1  # +1: a full millisecond borrows
    assert len({i[19:] for i in ids}) == len(ids)  # the random tails differ too


def test_a_full_buffer_holds_answers_back_and_loses_nothing() -> None:
    store = FailingStore()
    recorder = Recorder(store, 0.01, limit=3)  # type: ignore[arg-type]
    recorder.record(["a", "b", "c"])  # type: ignore[list-item]
    assert recorder.full
    done = threading.Event()

    def more() -> None:
        recorder.record(["d"])  # type: ignore[list-item]
        done.set()

    threading.Thread(target=more, daemon=True).start()
    time.sleep(0.1)
    assert not done.is_set()  # waiting for room, not dropping
    store.up.set()
    assert done.wait(5)
    recorder.close()
    assert store.written == ["a", "b", "c", "d"]


def test_the_buffer_depth_grows_while_the_database_refuses() -> None:
    store = FailingStore()
    recorder = Recorder(store, 60)  # type: ignore[arg-type]

    def figures() -> tuple[float, float]:
        text_ = exposition().decode()
        return (
            metric(text_, "registry_decisions_recorded_total"),
            metric(text_, "registry_decisions_buffered"),
        )

    before, _ = figures()
    recorder.record(["a", "b"])  # type: ignore[list-item]
    assert recorder.flush() == 0
    assert figures() == (before, 2)
    recorder.record(["c"])  # type: ignore[list-item]
    assert recorder.flush() == 0
    assert figures() == (before, 3)  # kept, and counted again with the newcomer
    store.up.set()
    assert recorder.flush() == 3
    assert figures()[0] == before + 3
    recorder.close()
    assert figures() == (before + 3, 0)  # the last flush found nothing left
    assert store.written == ["a", "b", "c"]


# -- the worked example of docs/api.md ("Settling a dispute") ---------------------------

ROUTER_TICKET = {
    "id": "TT-1001",
    "ticketType": "Wi-Fi Router",
    "creationDate": "2026-12-01T09:00:00Z",
    "characteristic": [{"name": "region", "value": "north"}],
    "channel": {"name": "web"},
}
TP = "/v1/alliances/triple-play"


def test_settling_a_dispute(
    store: Store, database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    examples = Path(__file__).parent.parent / "examples" / "triple-play"
    Registry(store).seed([examples], "demo seed")
    secret = {
        role: store.create_token(role, "triple-play", None, f"demo {role}")[1]  # type: ignore[arg-type]
        for role in ("resolver", "manager", "auditor")
    }
    settings = Settings(database_url=database_url, decision_flush_interval=60)
    with TestClient(create_app(settings, store)) as client:
        # 1. The complaint is routed to FastNet.
        routed = client.post(
            f"{TP}/tickets:route", headers=bearer(secret["resolver"]), json=ROUTER_TICKET
        )
        assert (routed.json()["revision"], routed.json()["owner"]) == (
            1,
            {"partner": "fastnet", "contract": "fastnet-internet"},
        )
        flush(client)
        # 2. Wi-Fi routers move to Metro.
        contracts = (examples / "contracts.yaml").read_text()
        changed = contracts.replace(
            "      except: [{category: [wifi-router], channel: [store]}]",
            "      except: [{category: [wifi-router]}]",
        ).replace(
            "    - where: {category: [wifi-router], channel: [store]}",
            "    - where: {category: [wifi-router]}",
        )
        assert changed.count("wifi-router]}]") == 1
        # The alliance's promise that web router complaints are FastNet's moves with them:
        # without it, the write is refused (409, expectation-failed).
        promises = (examples / "expectations.yaml").read_text()
        kept = promises.replace(
            '"a router complaint made on the web is FastNet\'s"\n'
            "      where: {category: wifi-router, region: east, channel: web}\n"
            "      at: 2026-11-22\n"
            "      status: owned\n"
            "      owner: fastnet\n"
            "      consulted: [metro]",
            '"a router complaint made on the web is FastNet\'s"\n'
            "      where: {category: wifi-router, region: east, channel: web}\n"
            "      at: 2026-11-22\n"
            "      status: owned\n"
            "      owner: metro\n"
            "      consulted: [fastnet]",
        )
        assert kept != promises
        r = client.post(
            f"{TP}/apply",
            headers={**bearer(secret["manager"]), "Content-Type": "application/yaml"},
            content=f"{changed}\n---\n{kept}",
        )
        assert (r.status_code, r.json()["revision"]) == (200, 2), r.text
        # 3. The auditor finds the decision and replays it.
        auditor = bearer(secret["auditor"])
        [found] = client.get(f"{TP}/decisions?ticket=TT-1001", headers=auditor).json()["decisions"]
        assert (found["revision"], found["owner"]["partner"]) == (1, "fastnet")
        replay = client.post(f"{TP}/decisions/{found['decisionId']}:replay", headers=auditor)
        assert replay.json()["result"] == "match"
        now = client.get(
            f"{TP}/owner?category=wifi-router&region=north&channel=web&at=2026-12-01",
            headers=bearer(secret["resolver"]),
        )
        assert now.json()["owner"]["partner"] == "metro"
        # 4. The evidence file.
        r = client.get(
            f"{TP}/evidence?revision=1&asOf=2026-12-01"
            "&decisions=2000-01-01T00:00:00Z/2999-01-01T00:00:00Z",
            headers=auditor,
        )
        assert r.status_code == 200, r.text
    path = tmp_path / "evidence.json"
    path.write_bytes(r.content)
    key = tmp_path / "verifier.key"
    key.write_text(SIGNER.verifier_key + "\n")
    # 5. Verified offline with the public key alone.
    capsys.readouterr()
    assert main(["evidence", "verify", str(path), "--public-key", str(key)]) == 0
    assert capsys.readouterr().out.startswith("evidence of 'triple-play' at revision 1: verified")
    # FastNet's version: the decision rewritten to name Metro. It no longer verifies.
    edited = msgspec.json.decode(r.content)
    [decision] = edited["decisions"]["entries"]
    decision["owner"] = '{"partner":"metro","contract":"metro-care"}'
    path.write_bytes(msgspec.json.encode(edited))
    assert main(["evidence", "verify", str(path), "--public-key", str(key)]) == 1
    out = capsys.readouterr().out
    assert f"decision {decision['id']} (number 1): its content does not match its hash" in out


# -- the auditor's page -----------------------------------------------------------------


def test_the_page_at_a_revision_and_its_decisions(
    logging_client: Client, tokens: dict[str, str], mapped: Store
) -> None:
    resolver = bearer(tokens["resolver"])
    asked = logging_client.get(f"{A}/owner", params={**SLOW, "at": AS_OF}, headers=resolver)
    billing = logging_client.get(f"{A}/owner", params={"category": "refund"}, headers=resolver)
    flush(logging_client)
    write(
        mapped, Request("metro-home", [("c.yaml", FASTNET_NARROWED)], force=True), "test", "apply"
    )
    r = logging_client.post("/ui/login", data={"token": tokens["auditor"]}, follow_redirects=False)
    assert r.status_code == 303, r.text
    page = "/ui/alliances/metro-home"
    current = logging_client.get(f"{page}?asOf={AS_OF}")
    assert "revision 3" in current.text and "coverage-gap" in current.text
    with mapped.engine.connect() as connection:
        third = connection.execute(text("SELECT at FROM changes WHERE revision = 3")).scalar_one()
    before = (dt.datetime.fromisoformat(third) - dt.timedelta(milliseconds=1)).isoformat()
    for pinned in ("revision=2", f"asKnownAt={before.replace('+00:00', 'Z')}"):
        old = logging_client.get(f"{page}?asOf={AS_OF}&{pinned}")
        assert old.status_code == 200, old.text
        assert "<strong>as of revision 2</strong> (the current one is 3" in old.text
        assert "coverage-gap" not in old.text
        assert f'<input type="hidden" name="{pinned.split("=")[0]}"' in old.text
    missing = logging_client.get(f"{page}?revision=9")
    assert missing.status_code == 404
    assert (
        "no revision 9 of alliance &#39;metro-home&#39;: its current revision is 3" in missing.text
    )
    listing = logging_client.get(f"{page}/decisions")
    first, second = asked.json()["decisionId"], billing.json()["decisionId"]
    assert listing.text.index(second) < listing.text.index(first)  # latest first
    assert f'href="/ui/alliances/metro-home/decisions/{first}">replay</a>' in listing.text
    # The refund went to Metro alone; the slow-speed one names FastNet (and Metro, the face).
    fastnet = logging_client.get(f"{page}/decisions?partner=fastnet&status=owned")
    assert first in fastnet.text and second not in fastnet.text
    replay = logging_client.get(f"{page}/decisions/{first}")
    assert "Replayed at revision 2: <strong>match</strong>." in replay.text
