"""The store on SQLite and PostgreSQL: versions, reads at a revision, the change log
and its verification against tampering, tokens, and refused writes writing nothing."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Sequence

import pytest
from sqlalchemy import text

from registry.access import Principal, digest
from registry.api.problems import status_of
from registry.errors import (
    Forbidden,
    InvalidDocuments,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
)
from registry.errors import RegistryError as WriteError
from registry.service.writes import AddsErrors, Request, write
from registry.store import DatabaseError, Store, StoredDocument, Write
from registry.store.chain import DocumentChange
from registry.store.database import BUSY_TIMEOUT_MS, is_sqlite
from tests.apitools import FASTNET_NARROWED, FASTNET_PARTNER, tables

ALLIANCE = "metro-home"
SEEDED = [
    "Alliance/metro-home",
    "Contract/fastnet-internet",
    "Contract/metro-rest",
    "Partner/fastnet",
    "Partner/metro",
]
CABLENET = '{"kind": "Partner", "name": "cablenet"}'


def sha(body: str) -> str:
    return hashlib.sha256(body.encode()).hexdigest()


def commit(
    store: Store, writes: Sequence[Write], action: str = "put", alliance: str = ALLIANCE
) -> tuple[int, dict[str, str | None]]:
    """A raw commit below the write path: the store stores what it is given."""
    with store.writing(alliance) as draft:
        return draft.commit(writes, "tester (manager)", action)


def execute(store: Store, sql: str, **params: object) -> None:
    with store.engine.begin() as connection:
        connection.execute(text(sql), params)


@pytest.fixture
def four(seeded: Store) -> Store:
    """metro-home at revision 4: fastnet's Partner document updated (2), deleted (3),
    written back as it was at revision 1 together with a new cablenet (4)."""
    first = seeded.document(ALLIANCE, "Partner", "fastnet")
    assert first is not None
    commit(seeded, [Write("Partner", "fastnet", first.body.replace("FastNet Ltd", "FastNet plc"))])
    commit(seeded, [Write("Partner", "fastnet", None)], "delete")
    commit(
        seeded,
        [Write("Partner", "fastnet", first.body), Write("Partner", "cablenet", CABLENET)],
        "apply",
    )
    return seeded


def test_an_empty_store(store: Store) -> None:
    assert store.generation() == 0
    assert store.alliances() == {}
    assert store.snapshot(ALLIANCE) is None
    assert store.documents(ALLIANCE) == []
    assert store.documents(ALLIANCE, revision=1) == []
    assert store.document(ALLIANCE, "Partner", "fastnet") is None
    assert store.history(ALLIANCE) == []
    assert store.verify() == {}
    assert store.tokens() == []
    assert store.principals() == {}


def test_the_seeded_alliance(seeded: Store) -> None:
    assert seeded.alliances() == {ALLIANCE: 1}
    documents = seeded.documents(ALLIANCE)
    assert [d.ref for d in documents] == SEEDED
    for d in documents:
        assert (d.revision, d.etag) == (1, f'"{sha(d.body)[:32]}"')
    assert seeded.snapshot(ALLIANCE) == (1, documents)
    assert seeded.documents(ALLIANCE, revision=1) == documents
    [entry] = seeded.history(ALLIANCE)
    assert (entry.seq, entry.alliance, entry.revision, entry.actor, entry.action) == (
        1,
        ALLIANCE,
        1,
        "demo seed",
        "apply",
    )
    assert not entry.forced
    by_ref = {d.ref: d for d in documents}
    assert entry.documents == [
        DocumentChange(ref, None, sha(by_ref[ref].body))
        for ref in [
            "Alliance/metro-home",
            "Partner/fastnet",
            "Partner/metro",
            "Contract/fastnet-internet",
            "Contract/metro-rest",
        ]
    ]
    assert dt.datetime.fromisoformat(entry.at).tzinfo == dt.UTC
    assert seeded.verify() == {ALLIANCE: []}


def test_versions_and_reads_at_a_revision(seeded: Store) -> None:
    before = seeded.documents(ALLIANCE)
    first = seeded.document(ALLIANCE, "Partner", "fastnet")
    assert first is not None
    second_body = first.body.replace("FastNet Ltd", "FastNet plc")
    tag = f'"{sha(second_body)[:32]}"'
    assert commit(seeded, [Write("Partner", "fastnet", second_body)]) == (
        2,
        {"Partner/fastnet": tag},
    )
    assert commit(seeded, [Write("Partner", "fastnet", None)], "delete") == (
        3,
        {"Partner/fastnet": None},
    )
    assert commit(
        seeded,
        [Write("Partner", "fastnet", first.body), Write("Partner", "cablenet", CABLENET)],
        "apply",
    ) == (4, {"Partner/fastnet": first.etag, "Partner/cablenet": f'"{sha(CABLENET)[:32]}"'})

    assert seeded.alliances() == {ALLIANCE: 4}
    second = StoredDocument("Partner", "fastnet", 2, tag, second_body)
    fourth = StoredDocument("Partner", "fastnet", 4, first.etag, first.body)
    # One document through time; the same content has the same ETag again.
    assert seeded.document(ALLIANCE, "Partner", "fastnet", revision=1) == first
    assert seeded.document(ALLIANCE, "Partner", "fastnet", revision=2) == second
    assert seeded.document(ALLIANCE, "Partner", "fastnet", revision=3) is None
    assert seeded.document(ALLIANCE, "Partner", "fastnet", revision=4) == fourth
    assert seeded.document(ALLIANCE, "Partner", "fastnet", revision=99) == fourth
    assert seeded.document(ALLIANCE, "Partner", "fastnet") == fourth
    assert seeded.document(ALLIANCE, "Partner", "cablenet", revision=3) is None
    # The whole alliance through time.
    assert seeded.documents(ALLIANCE, revision=1) == before
    assert seeded.documents(ALLIANCE, revision=2) == [
        second if d.ref == "Partner/fastnet" else d for d in before
    ]
    assert seeded.documents(ALLIANCE, revision=3) == [
        d for d in before if d.ref != "Partner/fastnet"
    ]
    now = seeded.documents(ALLIANCE)
    assert [(d.ref, d.revision) for d in now] == [
        ("Alliance/metro-home", 1),
        ("Contract/fastnet-internet", 1),
        ("Contract/metro-rest", 1),
        ("Partner/cablenet", 4),
        ("Partner/fastnet", 4),
        ("Partner/metro", 1),
    ]
    assert seeded.documents(ALLIANCE, revision=4) == now
    assert seeded.snapshot(ALLIANCE) == (4, now)
    # The log: one entry per revision, each document with its digest before and after.
    entries = seeded.history(ALLIANCE)
    assert [(e.seq, e.revision, e.actor, e.action, e.forced) for e in entries] == [
        (1, 1, "demo seed", "apply", False),
        (2, 2, "tester (manager)", "put", False),
        (3, 3, "tester (manager)", "delete", False),
        (4, 4, "tester (manager)", "apply", False),
    ]
    assert [e.documents for e in entries[1:]] == [
        [DocumentChange("Partner/fastnet", sha(first.body), sha(second_body))],
        [DocumentChange("Partner/fastnet", sha(second_body), None)],
        [
            DocumentChange("Partner/fastnet", None, sha(first.body)),
            DocumentChange("Partner/cablenet", None, sha(CABLENET)),
        ],
    ]
    assert len({e.hash for e in entries}) == 4
    assert seeded.verify() == {ALLIANCE: []}


def test_history_pages(four: Store) -> None:
    def revisions(after: int = 0, limit: int = 100) -> list[int]:
        return [e.revision for e in four.history(ALLIANCE, after, limit)]

    assert revisions() == [1, 2, 3, 4]
    assert revisions(limit=2) == [1, 2]
    assert revisions(after=2, limit=2) == [3, 4]
    assert revisions(after=3, limit=2) == [4]
    assert revisions(after=4) == []
    assert four.history("other-home") == []


def test_alliances_are_kept_apart(four: Store) -> None:
    alliance = '{"kind": "Alliance", "name": "other-home"}'
    assert commit(four, [Write("Alliance", "other-home", alliance)], alliance="other-home") == (
        1,
        {"Alliance/other-home": f'"{sha(alliance)[:32]}"'},
    )
    assert four.alliances() == {ALLIANCE: 4, "other-home": 1}
    assert [(e.seq, e.revision) for e in four.history("other-home")] == [(5, 1)]
    assert [e.revision for e in four.history(ALLIANCE)] == [1, 2, 3, 4]
    assert [d.ref for d in four.documents("other-home")] == ["Alliance/other-home"]
    assert four.verify() == {ALLIANCE: [], "other-home": []}
    assert four.verify("other-home") == {"other-home": []}
    # An alliance whose Alliance document is deleted is no longer listed.
    commit(four, [Write("Alliance", "other-home", None)], "delete", alliance="other-home")
    assert four.alliances() == {ALLIANCE: 4}
    assert four.snapshot("other-home") == (2, [])


def test_leaving_the_write_block_without_commit_writes_nothing(seeded: Store) -> None:
    before = tables(seeded)
    with seeded.writing(ALLIANCE) as draft:
        assert (draft.revision, sorted(draft.documents)) == (1, sorted(SEEDED))
    assert tables(seeded) == before
    with pytest.raises(RuntimeError, match="changed my mind"), seeded.writing(ALLIANCE):
        raise RuntimeError("changed my mind")
    assert tables(seeded) == before


def test_the_generation_counts_committed_writes(seeded: Store) -> None:
    assert seeded.generation() == 1  # the seed
    token_id, _ = seeded.create_token("auditor", ALLIANCE, None, None)
    assert seeded.generation() == 2
    assert seeded.revoke_token(token_id)
    assert seeded.generation() == 3
    assert not seeded.revoke_token(token_id)  # refused: rolled back
    assert seeded.generation() == 3
    commit(seeded, [Write("Partner", "cablenet", CABLENET)])
    assert seeded.generation() == 4


def test_tokens(store: Store) -> None:
    manager_id, manager = store.create_token("manager", ALLIANCE, None, "alice")
    partner_id, partner = store.create_token("partner", ALLIANCE, "fastnet", None)
    admin_id, admin = store.create_token("admin", None, None, "root")
    assert (manager_id, partner_id, admin_id) == (1, 2, 3)
    for secret in (manager, partner, admin):
        assert secret.startswith("ar_") and len(secret) == 46
    assert len({manager, partner, admin}) == 3
    rows = store.tokens()
    assert [(r.id, r.hash, r.role, r.alliance, r.partner, r.name, r.revoked) for r in rows] == [
        (1, digest(manager), "manager", ALLIANCE, None, "alice", None),
        (2, digest(partner), "partner", ALLIANCE, "fastnet", None, None),
        (3, digest(admin), "admin", None, None, "root", None),
    ]
    # Only the digest is stored, never the secret.
    assert not any(secret in str(tables(store)) for secret in (manager, partner, admin))
    principals = {
        digest(manager): Principal(1, "manager", ALLIANCE, None, "alice"),
        digest(partner): Principal(2, "partner", ALLIANCE, "fastnet", None),
        digest(admin): Principal(3, "admin", None, None, "root"),
    }
    assert store.principals() == principals
    assert [p.actor for p in principals.values()] == [
        "alice (manager)",
        "token-2 (partner)",
        "root (admin)",
    ]
    assert store.revoke_token(1) is True
    assert store.revoke_token(1) is False  # already revoked
    assert store.revoke_token(99) is False  # no such token
    del principals[digest(manager)]
    assert store.principals() == principals
    revoked = store.tokens()[0].revoked
    assert revoked is not None and dt.datetime.fromisoformat(revoked).tzinfo == dt.UTC


def test_reopening_keeps_everything(seeded: Store, database_url: str) -> None:
    before = tables(seeded)
    again = Store(database_url)
    try:
        assert tables(again) == before
        assert again.alliances() == {ALLIANCE: 1}
    finally:
        again.close()


def test_sqlite_runs_in_wal_mode(store: Store, database_url: str) -> None:
    """Readers (every request's freshness read) never wait on a writer, and a crash
    mid-write leaves the last commit: SQLite keeps its write-ahead log."""
    if not is_sqlite(database_url):
        pytest.skip("a SQLite setting")
    with store.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() == BUSY_TIMEOUT_MS


def test_a_newer_schema_is_refused(store: Store, database_url: str) -> None:
    execute(store, "UPDATE registry_state SET schema_version = 99")
    with pytest.raises(DatabaseError) as refused:
        Store(database_url)
    assert str(refused.value) == (
        "the database has schema version 99, newer than this registry's 2; "
        "upgrade alliance-registry"
    )


# -- refused writes write nothing -----------------------------------------------------

DAY = dt.date(2026, 11, 22)

Refusal = tuple[type[WriteError], int, str, Request, Callable[[str, str], bool]]


def anyone(kind: str, name: str) -> bool:
    return True


REFUSALS: dict[str, Refusal] = {
    "422 invalid document": (
        InvalidDocuments,
        422,
        "1 error in the documents; nothing was written",
        Request(ALLIANCE, [("request.yaml", FASTNET_PARTNER.replace("FastNet Ltd", "[1]"))]),
        anyone,
    ),
    "422 a deletion breaks a reference": (
        InvalidDocuments,
        422,
        "1 error in the documents; nothing was written",
        Request(ALLIANCE, deletes=["Partner/fastnet"], as_of=DAY),
        anyone,
    ),
    "409 adds a coverage gap": (
        AddsErrors,
        409,
        "the change adds 1 error finding; nothing was written. Fix the documents, or send "
        "force=true as a manager to write anyway",
        Request(ALLIANCE, [("request.yaml", FASTNET_NARROWED)], as_of=DAY),
        anyone,
    ),
    "412 stale alliance ETag": (
        PreconditionFailed,
        412,
        'the alliance is at revision 1, not "r0"; read it again and retry',
        Request(ALLIANCE, [("request.yaml", FASTNET_NARROWED)], alliance_etag='"r0"', force=True),
        anyone,
    ),
    "412 stale document ETag": (
        PreconditionFailed,
        412,
        'Contract/fastnet-internet has changed since you read it (it is now "{etag}"); read '
        "it again and retry",
        Request(
            ALLIANCE,
            [("request.yaml", FASTNET_NARROWED)],
            preconditions={"Contract/fastnet-internet": '"stale"'},
            guarded={"Contract/fastnet-internet"},
            force=True,
        ),
        anyone,
    ),
    "428 no precondition": (
        PreconditionRequired,
        428,
        'Contract/fastnet-internet exists; send If-Match with its ETag "{etag}" so a change '
        "made since you read it is not overwritten",
        Request(
            ALLIANCE,
            [("request.yaml", FASTNET_NARROWED)],
            guarded={"Contract/fastnet-internet"},
            force=True,
        ),
        anyone,
    ),
    "404 deleting what is not there": (
        NotFound,
        404,
        "no document Partner/nobody in alliance 'metro-home'",
        Request(ALLIANCE, deletes=["Partner/nobody"]),
        anyone,
    ),
    "404 no such alliance": (
        NotFound,
        404,
        "no alliance 'other-home'; create it by sending its Alliance document",
        Request("other-home", deletes=["Partner/nobody"]),
        anyone,
    ),
    "403 not this token's document": (
        Forbidden,
        403,
        "this token may not write Contract/fastnet-internet",
        Request(ALLIANCE, [("request.yaml", FASTNET_NARROWED)], force=True),
        lambda kind, name: kind == "Partner",
    ),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_a_refused_write_writes_nothing(seeded: Store, case: str) -> None:
    refusal, status, detail, request, may_write = REFUSALS[case]
    contract = seeded.document(ALLIANCE, "Contract", "fastnet-internet")
    assert contract is not None
    before = tables(seeded)
    with pytest.raises(refusal) as refused:
        write(seeded, request, "tester (manager)", "apply", may_write)
    assert status_of(refused.value) == status  # the API's status for it
    assert str(refused.value) == detail.format(etag=contract.etag.strip('"'))
    assert tables(seeded) == before
    assert seeded.alliances() == {ALLIANCE: 1}
    assert [e.revision for e in seeded.history(ALLIANCE)] == [1]
    assert seeded.verify() == {ALLIANCE: []}


def test_a_dry_run_writes_nothing(seeded: Store) -> None:
    before = tables(seeded)
    asked = Request(ALLIANCE, [("request.yaml", FASTNET_NARROWED)], dry_run=True, force=True)
    outcome = write(seeded, asked, "tester (manager)", "apply")
    assert (outcome.revision, outcome.applied, outcome.forced) == (1, False, False)
    assert outcome.plan is not None and outcome.plan.adds_errors()
    assert tables(seeded) == before


def test_an_unchanged_document_writes_nothing(seeded: Store) -> None:
    """Sending what is stored already is not a duplicate: it is 'unchanged'."""
    before = tables(seeded)
    asked = Request(ALLIANCE, [("request.yaml", FASTNET_PARTNER)], as_of=DAY)
    outcome = write(seeded, asked, "tester (manager)", "apply")
    stored = seeded.document(ALLIANCE, "Partner", "fastnet")
    assert stored is not None
    assert (outcome.revision, outcome.applied) == (1, False)
    assert [(d.ref, d.action, d.etag) for d in outcome.documents] == [
        ("Partner/fastnet", "unchanged", stored.etag)
    ]
    assert tables(seeded) == before


def test_a_landed_write_is_one_revision_and_one_entry(seeded: Store) -> None:
    before = tables(seeded)
    asked = Request(ALLIANCE, [("request.yaml", FASTNET_NARROWED)], as_of=DAY, force=True)
    outcome = write(seeded, asked, "tester (manager)", "apply")
    assert (outcome.revision, outcome.applied, outcome.forced) == (2, True, True)
    after = tables(seeded)
    assert after["registry_state"] == [(1, 2, before["registry_state"][0][2] + 1)]
    assert [row[:2] for row in after["alliances"]] == [(ALLIANCE, 2)]
    assert len(after["documents"]) == len(before["documents"]) + 1
    assert after["changes"][:1] == before["changes"]
    [entry] = seeded.history(ALLIANCE, after=1)
    assert (entry.revision, entry.actor, entry.action, entry.forced) == (
        2,
        "tester (manager)",
        "apply",
        True,
    )
    assert seeded.verify() == {ALLIANCE: []}


# -- tampering: every edit behind the store's back shows in verify -----------------------


def test_an_edited_document_body(four: Store) -> None:
    execute(
        four,
        "UPDATE documents SET body = :body WHERE kind = 'Partner' AND name = 'fastnet' "
        "AND revision = 2",
        body='{"kind": "Partner"}',
    )
    assert four.verify() == {
        ALLIANCE: [
            "metro-home entry 2 (revision 2): Partner/fastnet was altered after it was written"
        ]
    }


def test_a_deleted_document_version(four: Store) -> None:
    execute(four, "DELETE FROM documents WHERE name = 'cablenet'")
    assert four.verify() == {
        ALLIANCE: [
            "metro-home entry 4 (revision 4): Partner/cablenet has no version at this revision"
        ]
    }


def test_an_undone_deletion(four: Store) -> None:
    execute(four, "UPDATE documents SET deleted = :no WHERE revision = 3", no=False)
    assert four.verify() == {
        ALLIANCE: ["metro-home entry 3 (revision 3): Partner/fastnet should be deleted here"]
    }


def test_an_edited_change_entry(four: Store) -> None:
    execute(four, "UPDATE changes SET actor = 'somebody else' WHERE revision = 3")
    assert four.verify() == {
        ALLIANCE: ["metro-home entry 3 (revision 3): its content does not match its hash"]
    }


def test_an_entry_with_an_unreadable_document_list(four: Store) -> None:
    execute(four, "UPDATE changes SET documents = 'nonsense' WHERE revision = 2")
    assert four.verify() == {
        ALLIANCE: [
            "metro-home entry 2 (revision 2): its content does not match its hash",
            "metro-home entry 2 (revision 2): its document list is unreadable",
            "metro-home: Partner/fastnet at revision 2 was written by no log entry",
        ]
    }


def test_a_deleted_last_entry(four: Store) -> None:
    execute(four, "DELETE FROM changes WHERE revision = 4")
    assert four.verify() == {
        ALLIANCE: [
            "metro-home: the log ends at revision 3, the alliance is at revision 4; entries "
            "are missing",
            "metro-home: Partner/cablenet at revision 4 was written by no log entry",
            "metro-home: Partner/fastnet at revision 4 was written by no log entry",
        ]
    }


def test_a_deleted_last_entry_with_the_alliance_rewound(four: Store) -> None:
    """Even with the alliance row set back to the entry before, the documents that
    the deleted entry wrote give it away."""
    [third] = four.history(ALLIANCE, after=2, limit=1)
    execute(four, "DELETE FROM changes WHERE revision = 4")
    execute(four, "UPDATE alliances SET revision = 3, head = :head", head=third.hash)
    assert four.verify() == {
        ALLIANCE: [
            "metro-home: Partner/cablenet at revision 4 was written by no log entry",
            "metro-home: Partner/fastnet at revision 4 was written by no log entry",
        ]
    }


def test_a_deleted_middle_entry(four: Store) -> None:
    execute(four, "DELETE FROM changes WHERE revision = 2")
    assert four.verify() == {
        ALLIANCE: [
            "metro-home entry 3 (revision 3): does not follow the entry before it",
            "metro-home entry 3 (revision 3): follows revision 1",
            "metro-home: Partner/fastnet at revision 2 was written by no log entry",
        ]
    }


def test_a_version_added_behind_the_logs_back(four: Store) -> None:
    execute(
        four,
        "UPDATE documents SET current = :no WHERE name = 'metro' AND kind = 'Partner'",
        no=False,
    )
    execute(
        four,
        "INSERT INTO documents (alliance, kind, name, revision, body, etag, deleted, current) "
        "VALUES ('metro-home', 'Partner', 'metro', 4, '{}', '\"x\"', :no, :yes)",
        no=False,
        yes=True,
    )
    assert four.document(ALLIANCE, "Partner", "metro") == StoredDocument(
        "Partner", "metro", 4, '"x"', "{}"
    )
    assert four.verify() == {
        ALLIANCE: ["metro-home: Partner/metro at revision 4 was written by no log entry"]
    }


def test_a_flipped_current_flag(four: Store) -> None:
    """Flagging an older version current would serve it: verify says so."""
    execute(
        four, "UPDATE documents SET current = :no WHERE name = 'fastnet' AND revision = 4", no=False
    )
    execute(
        four,
        "UPDATE documents SET current = :yes WHERE name = 'fastnet' AND revision = 2",
        yes=True,
    )
    assert four.verify() == {
        ALLIANCE: [
            "metro-home: Partner/fastnet at revision 2 is flagged current; its newest version "
            "is revision 4",
            "metro-home: Partner/fastnet at revision 4 is not flagged current; its newest "
            "version is revision 4",
        ]
    }
