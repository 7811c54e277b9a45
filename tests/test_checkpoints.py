"""Signed checkpoints, on SQLite and PostgreSQL: the key command, the settings that
read the key, the route that serves the current checkpoint, and `registry log verify
--checkpoint FILE --public-key KEY` against the four attacks the plain hash chain
lets through when the attacker can write the database: (a) a body edited with every
digest and hash recomputed, (b) a forged entry appended with a correct hash, (c) every
row of an alliance deleted, (d) `update tokens set role='admin'`."""

from __future__ import annotations

import base64
import stat
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import text
from sqlmodel import Session, col, select

from registry.access import digest
from registry.checkpoint import KEY_NAME, CheckpointError, Signer, Verifier
from registry.server import create_app
from registry.service import Registry
from registry.service.writes import Request, write
from registry.settings import Settings, SettingsError
from registry.store import CannotSign, Store
from registry.store.chain import (
    GENESIS,
    DocumentChange,
    body_digest,
    decode_changes,
    encode_record,
    entry_hash,
    etag,
    token_entry_hash,
    token_record,
)
from registry.store.tables import (
    AllianceRow,
    ChangeRow,
    CheckpointRow,
    DocumentRow,
    RegistryState,
    TokenChangeRow,
    TokenRow,
)
from tests.apitools import FASTNET_PARTNER, A, problem
from tests.conftest import SIGNER, bearer, seed
from tests.live import _environment, registry_command

ALLIANCE = "metro-home"
KEY = SIGNER.verifier_key
NO_CHECKPOINT = "no checkpoint of 'metro-home': "
UNSIGNED = (
    "no checkpoint signed by this key: forged, or written by a server without its signing key"
)

Client = TestClient[Litestar]


def execute(store: Store, sql: str, **params: object) -> None:
    with store.engine.begin() as connection:
        connection.execute(text(sql), params)


def renamed(legal_name: str) -> str:
    return FASTNET_PARTNER.replace("FastNet Ltd", legal_name)


@pytest.fixture
def three(seeded: Store) -> Store:
    """metro-home at revision 3: fastnet's Partner document renamed twice."""
    for name in ("FastNet plc", "FastNet AG"):
        write(seeded, Request(ALLIANCE, [("fastnet.yaml", renamed(name))]), "tester", "apply")
    return seeded


def saved(store: Store, folder: Path, alliance: str | None = ALLIANCE) -> Path:
    """The chain's current checkpoint, saved outside the database as an auditor would."""
    path = folder / f"{alliance or 'tokens'}.checkpoint"
    path.write_text(Registry(store).checkpoint(alliance), encoding="utf-8")
    return path


def prove(database_url: str, *files: Path, key: str = KEY) -> subprocess.CompletedProcess[str]:
    checkpoints = [arg for path in files for arg in ("--checkpoint", str(path))]
    return registry_command(
        "log", "verify", *checkpoints, "--public-key", key, database_url=database_url
    )


def said(done: subprocess.CompletedProcess[str]) -> tuple[int, str, str]:
    return done.returncode, done.stdout, done.stderr


# -- the key ------------------------------------------------------------------------------


@pytest.mark.slow  # runs the command line in its own process
def test_key_generate_writes_a_private_key_and_prints_its_public_key(tmp_path: Path) -> None:
    out = tmp_path / "signing.pem"

    def generate() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "registry", "key", "generate", "--out", str(out)],
            capture_output=True, text=True, env=_environment(), timeout=60, check=False,
        )  # fmt: skip

    made = generate()
    assert made.returncode == 0, made.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    signer = Signer.from_pem(out.read_bytes())
    assert made.stdout == signer.verifier_key + "\n"
    assert made.stdout.startswith(f"{KEY_NAME}+{signer.key_id.hex()}+")
    assert made.stderr == (
        f"signing key written to {out} (mode 0600); serve with REGISTRY_SIGNING_KEY_FILE={out}. "
        "Its public key, to verify checkpoints with:\n"
    )
    key = out.read_bytes()
    again = generate()
    assert said(again) == (
        2, "", f"registry: {out} exists; a signing key is never overwritten "
        "(choose another --out)\n",
    )  # fmt: skip
    assert out.read_bytes() == key


def test_the_verifier_key_is_a_signed_note_key() -> None:
    """Key ids as golang.org/x/mod/sumdb/note computes them: its documented example key."""
    verifier = Verifier.parse("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")
    assert verifier.label == "PeterNeumann+c74f20a3"
    with pytest.raises(CheckpointError) as refused:
        Verifier.parse("PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")
    assert refused.value.message == "the public key's id does not match its key: it was altered"


def test_the_key_settings(tmp_path: Path) -> None:
    pem = tmp_path / "key.pem"
    pem.write_bytes(SIGNER.pem())
    assert Settings().signer() is None
    from_file = Settings.from_env({"REGISTRY_SIGNING_KEY_FILE": str(pem)}).signer()
    assert from_file is not None and from_file.verifier_key == KEY
    for value in (SIGNER.pem().decode(), base64.b64encode(SIGNER.pem()).decode()):
        from_text = Settings.from_env({"REGISTRY_SIGNING_KEY": value}).signer()
        assert from_text is not None and from_text.verifier_key == KEY
    refusals = {
        "set REGISTRY_SIGNING_KEY_FILE or REGISTRY_SIGNING_KEY, not both": {
            "REGISTRY_SIGNING_KEY_FILE": str(pem),
            "REGISTRY_SIGNING_KEY": SIGNER.pem().decode(),
        },
        f"REGISTRY_SIGNING_KEY_FILE: cannot read {tmp_path}/none.pem: No such file or directory": {
            "REGISTRY_SIGNING_KEY_FILE": str(tmp_path / "none.pem")
        },
        "REGISTRY_SIGNING_KEY: not a PEM private key without a password; `registry key "
        "generate --out FILE` makes a signing key": {"REGISTRY_SIGNING_KEY": "nonsense"},
    }
    for message, env in refusals.items():
        with pytest.raises(SettingsError) as refused:
            Settings.from_env(env).signer()
        assert refused.value.message == message


@pytest.mark.slow  # starts registry serve
def test_serve_refuses_a_key_it_cannot_use(tmp_path: Path) -> None:
    served = subprocess.run(
        [sys.executable, "-m", "registry", "serve", "--database-url", f"sqlite:///{tmp_path}/r.db"],
        capture_output=True, text=True, timeout=60, check=False,
        env={**_environment(), "REGISTRY_SIGNING_KEY": "nonsense"},
    )  # fmt: skip
    assert said(served) == (
        2,
        "",
        "registry: REGISTRY_SIGNING_KEY: not a PEM private key without a password; "
        "`registry key generate --out FILE` makes a signing key\n",
    )
    assert not (tmp_path / "r.db").exists()


# -- the checkpoint and the route -----------------------------------------------------------


def test_every_write_signs_a_checkpoint_of_the_head(three: Store) -> None:
    entries = three.history(ALLIANCE)
    with Session(three.engine) as session:
        rows = session.exec(select(CheckpointRow).order_by(col(CheckpointRow.size))).all()
    assert [(r.chain, r.size, r.head) for r in rows] == [
        (f"alliances/{ALLIANCE}", e.revision, e.hash) for e in entries
    ]
    origin = f"{KEY_NAME}/{three.registry_id}/alliances/{ALLIANCE}"
    root = base64.b64encode(bytes.fromhex(entries[-1].hash)).decode()
    note = rows[-1].note
    body, signature = note.split("\n\n")
    assert body == f"{origin}\n3\n{root}\ntime {entries[-1].at}"
    assert signature.startswith(f"\u2014 {KEY_NAME} ") and signature.endswith("=\n")
    opened = SIGNER.verifier.open(note)
    assert (opened.origin, opened.size, opened.head, opened.time) == (
        origin, 3, entries[-1].hash, entries[-1].at
    )  # fmt: skip
    assert len(three.registry_id) == 16


def test_the_route_serves_the_current_checkpoint(
    client: Client, tokens: dict[str, str], seeded: Store
) -> None:
    r = client.get(f"{A}/history/checkpoint", headers=bearer(tokens["auditor"]))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "text/plain; charset=utf-8"
    assert SIGNER.verifier.open(r.text).head == seeded.history(ALLIANCE)[-1].hash
    headers = {**bearer(tokens["manager"]), "Content-Type": "application/yaml"}
    client.post(f"{A}/apply", headers=headers, content=renamed("FastNet plc"))
    r = client.get(f"{A}/history/checkpoint", headers=bearer(tokens["auditor"]))
    assert (SIGNER.verifier.open(r.text).size, r.text) == (2, Registry(seeded).checkpoint(ALLIANCE))


def test_without_a_key_there_is_no_checkpoint(database_url: str, alliance_dir: Path) -> None:
    with Store(database_url) as keyless:
        seed(keyless, [alliance_dir])
        auditor = keyless.create_token("auditor", ALLIANCE, None, None)[1]
        app = create_app(Settings(database_url=database_url), keyless)
        with TestClient(app) as client:
            r = client.get(f"{A}/history/checkpoint", headers=bearer(auditor))
        problem(
            r,
            404,
            NO_CHECKPOINT + "this server signs none: it has no signing key "
            "(REGISTRY_SIGNING_KEY_FILE or REGISTRY_SIGNING_KEY)",
        )
    # Given a key later, the server signs from its next write on.
    with Store(database_url, SIGNER) as keyed:
        with pytest.raises(Exception) as none:
            Registry(keyed).checkpoint(ALLIANCE)
        assert str(none.value) == (
            NO_CHECKPOINT + "revision 1 was written while the server had no signing key, "
            "and has none"
        )
        write(keyed, Request(ALLIANCE, [("f.yaml", renamed("FastNet plc"))]), "t", "apply")
        assert SIGNER.verifier.open(Registry(keyed).checkpoint(ALLIANCE)).size == 2


def test_a_signed_chain_takes_no_unsigned_entry(three: Store, database_url: str) -> None:
    """Without the key, the store refuses to write to a signed chain: an entry without
    its checkpoint could not be told from a forged one."""
    with Store(database_url) as keyless:
        with pytest.raises(CannotSign) as refused:
            write(keyless, Request(ALLIANCE, [("f.yaml", renamed("FastNet SA"))]), "t", "apply")
        assert refused.value.message == (
            "the change log of 'metro-home' is signed (its last checkpoint is of revision 3) "
            "and this registry has no signing key: set REGISTRY_SIGNING_KEY_FILE or "
            "REGISTRY_SIGNING_KEY; nothing was written"
        )
        three.create_token("auditor", ALLIANCE, None, None)
        with pytest.raises(CannotSign):
            keyless.create_token("auditor", ALLIANCE, None, None)
    assert three.alliances() == {ALLIANCE: 3}
    assert len(three.tokens()) == 1


# -- registry log verify --checkpoint: intact, and the refusals ---------------------------------


@pytest.mark.slow  # runs the command line in its own process
def test_an_intact_history_is_proven(three: Store, database_url: str, tmp_path: Path) -> None:
    early = saved(three, tmp_path)
    (tmp_path / "key").write_text(KEY + "\n")
    three.create_token("auditor", ALLIANCE, None, "ines")
    tokens = saved(three, tmp_path, None)
    write(three, Request(ALLIANCE, [("f.yaml", renamed("FastNet SA"))]), "t", "apply")
    assert said(prove(database_url, early, tokens, key=str(tmp_path / "key"))) == (
        0,
        "metro-home: intact to revision 3 as checkpointed; revision 4 signed since\n"
        "token log: intact to revision 1 as checkpointed\n",
        "",
    )
    assert said(prove(database_url, saved(three, tmp_path))) == (
        0, "metro-home: intact to revision 4 as checkpointed\n", ""
    )  # fmt: skip
    printed = registry_command(
        "log", "checkpoint", "--alliance", ALLIANCE, database_url=database_url
    )
    assert said(printed) == (0, Registry(three).checkpoint(ALLIANCE), "")


@pytest.mark.slow  # runs the command line in its own process
def test_a_checkpoint_signed_by_another_key_is_refused(
    three: Store, database_url: str, tmp_path: Path
) -> None:
    path = saved(three, tmp_path)
    another = Signer.generate()
    assert said(prove(database_url, path, key=another.verifier_key)) == (
        2,
        "",
        f"registry: {path}: not signed by {another.verifier.label}; it is signed by "
        f"{SIGNER.verifier.label}\n",
    )
    # A checkpoint its own key signed, passed off as the registry's: refused the same way.
    forged = another.sign(SIGNER.verifier.open(path.read_text()).origin, 3, "00" * 32, "now")
    path.write_text(forged)
    assert said(prove(database_url, path))[2] == (
        f"registry: {path}: not signed by {SIGNER.verifier.label}; it is signed by "
        f"{another.verifier.label}\n"
    )


@pytest.mark.slow  # runs the command line in its own process
def test_an_altered_checkpoint_file_is_refused(
    three: Store, database_url: str, tmp_path: Path
) -> None:
    path = saved(three, tmp_path)
    path.write_text(path.read_text().replace("\n3\n", "\n2\n"))
    assert said(prove(database_url, path)) == (
        2,
        "",
        f"registry: {path}: the signature of {SIGNER.verifier.label} does not verify: the "
        "checkpoint was altered after it was signed\n",
    )
    path.write_text("metro-home is fine\n")
    assert said(prove(database_url, path))[2] == (
        f"registry: {path}: not a checkpoint: no signature lines after a blank line\n"
    )
    alone = registry_command("log", "verify", "--checkpoint", str(path), database_url=database_url)
    assert said(alone) == (2, "", "registry: --checkpoint and --public-key go together\n")
    assert said(prove(database_url, path, key="not-a-key")) == (
        2, "", "registry: the public key is not a verifier key such as `registry key generate` "
        "prints (alliance-registry+<key id>+<base64 key>)\n",
    )  # fmt: skip


@pytest.mark.slow  # runs the command line in its own process
def test_a_checkpoint_of_another_registry(
    three: Store, database_url: str, tmp_path: Path, alliance_dir: Path
) -> None:
    with Store(f"sqlite:///{tmp_path}/other.db", SIGNER) as other:
        seed(other, [alliance_dir])
        path = saved(other, tmp_path)
        other_id = other.registry_id
    assert said(prove(database_url, path)) == (
        1,
        "metro-home: 1 problem(s)\n"
        f"  metro-home: the checkpoint is of registry {other_id}; this database is registry "
        f"{three.registry_id}\n",
        "",
    )


# -- the four attacks -------------------------------------------------------------------------


def rewrite_body(store: Store, ref: str, revision: int, body: str) -> None:
    """(a) as someone who knows the code: the body, its ETag, its digest in the log,
    every entry hash after it and the alliance head, all recomputed."""
    kind, _, name = ref.partition("/")
    with Session(store.engine) as session:
        row = session.exec(
            select(DocumentRow).where(
                DocumentRow.alliance == ALLIANCE,
                DocumentRow.kind == kind,
                DocumentRow.name == name,
                DocumentRow.revision == revision,
            )
        ).one()
        assert row.body is not None
        was, now = body_digest(row.body), body_digest(body)
        row.body, row.etag = body, etag(now)
        session.add(row)
        previous = GENESIS
        entries = session.exec(
            select(ChangeRow)
            .where(ChangeRow.alliance == ALLIANCE)
            .order_by(col(ChangeRow.revision))
        ).all()
        for entry in entries:
            swap = {was: now}
            changes = [
                DocumentChange(
                    c.ref,
                    swap.get(c.before or "", c.before) if c.ref == ref else c.before,
                    swap.get(c.after or "", c.after) if c.ref == ref else c.after,
                )
                for c in decode_changes(entry)
            ]
            entry.documents = msgspec.json.encode(changes).decode()
            entry.previous, entry.hash = previous, ""
            entry.hash = previous = entry_hash(entry)
            session.add(entry)
        alliance = session.get(AllianceRow, ALLIANCE)
        assert alliance is not None
        alliance.head = previous
        session.add(alliance)
        session.commit()


@pytest.mark.slow  # runs the command line in its own process
def test_a_an_edited_body_with_every_hash_recomputed(
    three: Store, database_url: str, tmp_path: Path
) -> None:
    path = saved(three, tmp_path)
    metro = three.document(ALLIANCE, "Partner", "metro", revision=1)
    assert metro is not None
    rewrite_body(three, "Partner/metro", 1, metro.body.replace("Metro Home plc", "Metro Evil plc"))
    # The hash chain alone finds nothing: it was recomputed.
    assert three.verify() == {ALLIANCE: []}
    assert said(registry_command("log", "verify", database_url=database_url))[:2] == (
        0, "metro-home: intact\ntoken log: intact\n"
    )  # fmt: skip
    assert said(prove(database_url, path)) == (
        1,
        "metro-home: 2 problem(s)\n"
        "  metro-home: the log up to revision 3 is not the one the checkpoint signed: it was "
        "rewritten\n"
        "  metro-home: the log was rewritten at revision 1: the server signed another entry\n",
        "",
    )
    # Nor does the server sign anything on top of it.
    with pytest.raises(CannotSign) as refused:
        write(three, Request(ALLIANCE, [("f.yaml", renamed("FastNet SA"))]), "t", "apply")
    assert refused.value.message == (
        "the change log of 'metro-home' does not end at a checkpoint this server signed (the "
        "last is of revision 3; the log is at revision 3): it was changed in the database; "
        "nothing was written (run `registry log verify`)"
    )


def forge_entry(store: Store, body: str) -> None:
    """(b) a new version of fastnet's Partner document with its log entry, hashed on
    the head, and the alliance moved on to it: the chain is as the store writes it."""
    with Session(store.engine) as session:
        alliance = session.get(AllianceRow, ALLIANCE)
        current = session.exec(
            select(DocumentRow).where(
                DocumentRow.alliance == ALLIANCE,
                DocumentRow.name == "fastnet",
                col(DocumentRow.current),
            )
        ).one()
        assert alliance is not None and current.body is not None
        revision, after = alliance.revision + 1, body_digest(body)
        current.current = False
        session.add(current)
        session.add(
            DocumentRow(
                alliance=ALLIANCE, kind="Partner", name="fastnet", revision=revision, body=body,
                etag=etag(after), api_version=current.api_version,
            )
        )  # fmt: skip
        change = DocumentChange("Partner/fastnet", body_digest(current.body), after)
        entry = ChangeRow(
            alliance=ALLIANCE, revision=revision, at="2026-11-22T10:00:00.000+00:00",
            actor="tester (manager)", action="put", previous=alliance.head, hash="",
            documents=msgspec.json.encode([change]).decode(),
        )  # fmt: skip
        entry.hash = entry_hash(entry)
        session.add(entry)
        alliance.revision, alliance.head = revision, entry.hash
        session.add(alliance)
        session.commit()


@pytest.mark.slow  # runs the command line in its own process
def test_b_a_forged_entry_with_a_correct_hash(
    three: Store, database_url: str, tmp_path: Path
) -> None:
    path = saved(three, tmp_path)
    current = three.document(ALLIANCE, "Partner", "fastnet")
    assert current is not None
    forge_entry(three, current.body.replace("FastNet AG", "FastNet Forged"))
    assert three.verify() == {ALLIANCE: []}
    assert three.alliances() == {ALLIANCE: 4}
    expected = (1, f"metro-home: 1 problem(s)\n  metro-home revision 4: {UNSIGNED}\n", "")
    assert said(prove(database_url, path)) == expected
    # A checkpoint row for it, signed by a key that is not the server's, changes nothing.
    origin = SIGNER.verifier.open(path.read_text()).origin
    head = three.history(ALLIANCE, after=3)[0].hash
    note = Signer.generate().sign(origin, 4, head, "now")
    with Session(three.engine) as session:
        session.add(
            CheckpointRow(chain=f"alliances/{ALLIANCE}", size=4, head=head, at="now", note=note)
        )
        session.commit()
    assert said(prove(database_url, path)) == expected
    # And the server writes nothing on top: it would sign the forged entry with it.
    with pytest.raises(CannotSign) as refused:
        write(three, Request(ALLIANCE, [("f.yaml", renamed("FastNet SA"))]), "t", "apply")
    assert "(the last is of revision 4; the log is at revision 4)" in refused.value.message


@pytest.mark.slow  # runs the command line in its own process
def test_c_every_row_of_an_alliance_deleted(
    three: Store, database_url: str, tmp_path: Path
) -> None:
    path = saved(three, tmp_path)
    for table, column in (
        ("documents", "alliance"),
        ("changes", "alliance"),
        ("alliances", "name"),
    ):
        execute(three, f"DELETE FROM {table} WHERE {column} = :name", name=ALLIANCE)
    execute(three, "DELETE FROM checkpoints WHERE chain = :chain", chain=f"alliances/{ALLIANCE}")
    # Without the checkpoint, there is nothing left to find wrong.
    assert three.verify() == {}
    assert said(registry_command("log", "verify", database_url=database_url)) == (
        0, "token log: intact\n", ""
    )  # fmt: skip
    assert said(prove(database_url, path)) == (
        1,
        "metro-home: 1 problem(s)\n"
        "  metro-home: the checkpoint signed revision 3 of it; the database has no such "
        "alliance: its history was deleted\n",
        "",
    )


@pytest.mark.slow  # runs the command line in its own process
def test_d_a_token_made_admin_in_the_database(
    tokens: dict[str, str], seeded: Store, database_url: str, tmp_path: Path
) -> None:
    path = saved(seeded, tmp_path, None)
    auditor = digest(tokens["auditor"])
    assert seeded.principals()[auditor].role == "auditor"
    execute(seeded, "UPDATE tokens SET role = 'admin'")
    # The token row no longer matches its entry in the token log: it is not loaded.
    assert auditor not in seeded.principals()
    assert seeded.principals()[digest(tokens["admin"])].role == "admin"
    changed = "".join(
        f"  token {n}: its row says role admin, the token log (revision {n}) says {role}\n"
        for n, role in ((2, "manager"), (3, "auditor"), (4, "resolver"), (5, "partner"))
    )
    assert said(registry_command("log", "verify", database_url=database_url)) == (
        1, f"metro-home: intact\ntoken log: 4 problem(s)\n{changed}", ""
    )  # fmt: skip
    assert said(prove(database_url, path)) == (1, f"token log: 4 problem(s)\n{changed}", "")


@pytest.mark.slow  # runs the command line in its own process
def test_d_a_token_made_admin_with_a_forged_log_entry(
    tokens: dict[str, str], seeded: Store, database_url: str, tmp_path: Path
) -> None:
    """The same, by someone who also appends a token-log entry that says so, hashed on
    the head: rows and log agree, so only the checkpoint shows it."""
    path = saved(seeded, tmp_path, None)
    execute(seeded, "UPDATE tokens SET role = 'admin', alliance = NULL WHERE id = 3")
    with Session(seeded.engine) as session:
        # The token log's head: on the tokens' counter row, once tokens were written.
        state, row = session.get(RegistryState, 2), session.get(TokenRow, 3)
        assert state is not None and row is not None
        entry = TokenChangeRow(
            revision=state.tokens_revision + 1, at="2026-11-22T10:00:00.000+00:00",
            actor="command line", action="create", token=3,
            record=encode_record(token_record(row)), previous=state.tokens_head, hash="",
        )  # fmt: skip
        entry.hash = token_entry_hash(entry)
        state.tokens_revision, state.tokens_head = entry.revision, entry.hash
        session.add_all([entry, state])
        session.commit()
    assert seeded.verify_tokens() == []
    assert said(prove(database_url, path)) == (
        1, f"token log: 1 problem(s)\n  token log revision 6: {UNSIGNED}\n", ""
    )  # fmt: skip


def test_the_token_log_records_creation_and_revocation(seeded: Store) -> None:
    made, _ = seeded.create_token("auditor", ALLIANCE, None, "ines")
    assert seeded.revoke_token(made)
    with Session(seeded.engine) as session:
        entries = session.exec(select(TokenChangeRow).order_by(col(TokenChangeRow.seq))).all()
    assert [(e.revision, e.action, e.token) for e in entries] == [
        (1, "create", 1),
        (2, "revoke", 1),
    ]
    [row] = seeded.tokens()
    record = msgspec.json.decode(entries[-1].record)
    assert record == msgspec.to_builtins(token_record(row))
    assert row.hash not in entries[-1].record  # the log holds a digest of it, not it
    assert seeded.verify_tokens() == []
    assert SIGNER.verifier.open(Registry(seeded).checkpoint(None)).size == 2
