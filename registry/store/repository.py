"""Reads and writes of the registry database.

A write happens inside `Store.writing(alliance)`: the transaction first bumps the
alliances' generation (taking the write lock on both databases), then reads the
alliance's revision as it stands. The caller has checked and planned its change
beforehand, on `snapshot`, and commits only if that revision has not moved since:
the lock is held for the commit, not for the checks. Leaving the block without
`Draft.commit` rolls everything back.

Two counters tell every process what changed: row 1 of `registry_state` counts
alliance writes, row 2 (made by the first token written) token writes. They are
separate rows, so on PostgreSQL token administration never waits for an alliance
write's row lock (on SQLite both share the file's one write lock, held only while
a write commits). `generation()` reads their sum in one query.

Given a signing key, the store signs a checkpoint of the chain in the transaction of
every entry it appends (an alliance's change log, or the token log): an entry never
commits without its checkpoint, so one without is not the server's.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol, cast

import msgspec
from sqlalchemy import Engine, text, tuple_, update
from sqlalchemy import select as sql_select
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col, select

from registry.access import Principal, Role, digest, new_secret
from registry.checkpoint import Checkpoint, CheckpointError, Signer, Verifier, origin, split_origin
from registry.errors import Unavailable
from registry.events import NewEvent
from registry.model import API_VERSION
from registry.store import outbox
from registry.store.chain import (
    GENESIS,
    TOKEN_LOG,
    TOKENS,
    DocumentChange,
    alliance_chain,
    body_digest,
    decode_changes,
    encode_record,
    entry_hash,
    etag,
    heads,
    prove,
    token_entry_hash,
    token_heads,
    token_problems,
    token_record,
    verify,
    verify_tokens,
)
from registry.store.database import (
    RETRY_AFTER_SECONDS,
    Busy,
    DatabaseError,
    bound_lock_waits,
    connect,
    head,
    is_lock_wait,
    is_sqlite,
    normalise_url,
    prepare,
    revision_of,
)
from registry.store.decisions import DecisionLog
from registry.store.notify import Listener, channel_of, first_line, notify
from registry.store.outbox import Route
from registry.store.tables import (
    AllianceRow,
    ChangeRow,
    CheckpointRow,
    DocumentRow,
    RegistryState,
    TokenChangeRow,
    TokenRow,
)

log = logging.getLogger("registry.store")

# The rows of `registry_state` whose generation counts writes: alliance writes, token
# writes. Row 1 is also the one the releases before migrations read and bump.
ALLIANCE_COUNTER = 1
TOKEN_COUNTER = 2


@dataclass(frozen=True)
class StoredDocument:
    kind: str
    name: str
    revision: int
    etag: str
    body: str
    # The model version it was written with (documents.api_version).
    api_version: str = API_VERSION

    @property
    def ref(self) -> str:
        return f"{self.kind}/{self.name}"

    @property
    def intact(self) -> bool:
        """Whether this is a document the write path checked, as it stored it: the body
        hashes to its ETag, and this model version wrote it. Such a document need not be
        checked again on its own (its alliance was checked whole when it was written)."""
        return self.api_version == API_VERSION and self.etag == etag(body_digest(self.body))


@dataclass(frozen=True)
class Entry:
    """One change-log entry: one landed write."""

    seq: int
    alliance: str
    revision: int
    at: str
    actor: str
    action: str
    forced: bool
    documents: list[DocumentChange]
    hash: str


@dataclass(frozen=True)
class Write:
    """One document to write: `body` None deletes it."""

    kind: str
    name: str
    body: str | None


@dataclass(frozen=True)
class Proof:
    """A chain held to a signed checkpoint: `problems` empty when it is the one signed
    up to the checkpoint's `size`, and every revision after it up to `revision` is
    signed too."""

    label: str
    size: int
    revision: int
    problems: list[str]


class CannotSign(Unavailable):
    """An entry the store will not append: the chain is signed and the store has no
    key, or the chain no longer ends at its last checkpoint (changed in the database),
    so signing on top would vouch for what the server did not write."""


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


class Store:
    def __init__(self, url: str, signer: Signer | None = None) -> None:
        self.url = normalise_url(url)
        self.signer = signer
        self.engine: Engine = connect(self.url)
        try:
            prepare(self.engine)
            with Session(self.engine) as session:
                state = session.get(RegistryState, 1)
                self.registry_id = state.registry_id if state is not None else ""
            # PostgreSQL: the channel every write notifies (registry/store/notify.py).
            self.channel: str | None = None
            if not is_sqlite(self.url):
                with self.engine.connect() as connection:
                    self.channel = channel_of(connection)
        except BaseException:  # a newer schema, an unreachable server: close what opened
            self.engine.dispose()
            raise
        self.outbox = outbox.Outbox(self.engine)
        self.decisions = DecisionLog(self.engine, self.registry_id, signer)
        self._probe: Any = None  # the pooled connection the cursor below lives on
        self._probe_cursor: Any = None
        self._probe_lock = threading.Lock()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with self._probe_lock:
            if self._probe is not None:
                self._probe.close()
                self._probe = self._probe_cursor = None
        self.engine.dispose()

    # -- the cheap check every API request makes -------------------------------

    def generation(self) -> int:
        """The registry generation, which grows with every committed write of any kind
        (the alliances' and the tokens' counters added up), read through one driver
        cursor kept for this: a request pays some 5 to 10 us on SQLite, not an ORM
        session (about 150 us)."""
        with self._probe_lock:
            try:
                if self._probe is None:
                    self._probe = self.engine.raw_connection()
                    if not is_sqlite(self.url):
                        self._probe.driver_connection.autocommit = True
                    self._probe_cursor = self._probe.driver_connection.cursor()
                self._probe_cursor.execute("SELECT sum(generation) FROM registry_state")
                row = self._probe_cursor.fetchone()
            except Exception as exc:
                if self._probe is not None:  # a dropped connection: a new one next time
                    self._probe.invalidate()
                self._probe = self._probe_cursor = None
                raise DatabaseError(
                    f"the database is unreachable: {first_line(exc)}",
                    retry_after=RETRY_AFTER_SECONDS,
                ) from exc
        return int(row[0]) if row and row[0] is not None else 0

    def listen(self, on_change: Callable[[], None]) -> Listener | None:
        """Start this process's listening connection (PostgreSQL; None on SQLite,
        where reading the generation costs microseconds): `on_change` runs in its
        thread after each notification heard and after each (re)connection."""
        if self.channel is None:
            return None
        return Listener(self.engine, self.channel, on_change).start()

    def migrations_current(self) -> bool:
        """Whether the database is at this registry's newest schema revision."""
        with self.engine.connect() as connection:
            return revision_of(connection) == head()

    # -- reads -----------------------------------------------------------------

    def alliances(self) -> dict[str, int]:
        """Every alliance that has documents, with its revision."""
        with Session(self.engine) as session:
            live = select(DocumentRow.alliance).where(
                col(DocumentRow.current),
                col(DocumentRow.kind) == "Alliance",
                ~col(DocumentRow.deleted),
            )
            rows = session.exec(
                select(AllianceRow.name, AllianceRow.revision).where(
                    col(AllianceRow.name).in_(live)
                )
            ).all()
        return {name: revision for name, revision in rows}

    def snapshot(self, alliance: str) -> tuple[int, list[StoredDocument]] | None:
        """The alliance's revision and current documents, read in one transaction."""
        with Session(self.engine) as session:
            row = session.get(AllianceRow, alliance)
            if row is None:
                return None
            return row.revision, _current(session, alliance)

    def documents(self, alliance: str, revision: int | None = None) -> list[StoredDocument]:
        """The documents as they stood at `revision` (default: now)."""
        with Session(self.engine) as session:
            if revision is None:
                return _current(session, alliance)
            rows = session.exec(
                select(DocumentRow)
                .where(DocumentRow.alliance == alliance, DocumentRow.revision <= revision)
                .order_by(col(DocumentRow.revision))
            ).all()
        latest = {(r.kind, r.name): r for r in rows}
        return sorted(
            (_stored(r) for r in latest.values() if not r.deleted), key=lambda d: (d.kind, d.name)
        )

    def document(
        self, alliance: str, kind: str, name: str, revision: int | None = None
    ) -> StoredDocument | None:
        with Session(self.engine) as session:
            query = select(DocumentRow).where(
                DocumentRow.alliance == alliance, DocumentRow.kind == kind, DocumentRow.name == name
            )
            if revision is None:
                query = query.where(col(DocumentRow.current))
            else:
                query = query.where(DocumentRow.revision <= revision)
            row = session.exec(query.order_by(col(DocumentRow.revision).desc()).limit(1)).first()
        return None if row is None or row.deleted else _stored(row)

    def history(self, alliance: str, after: int = 0, limit: int = 100) -> list[Entry]:
        """Change-log entries of the alliance with revision > `after`, oldest first."""
        with Session(self.engine) as session:
            rows = session.exec(
                select(ChangeRow)
                .where(ChangeRow.alliance == alliance, ChangeRow.revision > after)
                .order_by(col(ChangeRow.revision))
                .limit(limit)
            ).all()
        return [_entry(r) for r in rows]

    def revision_at(self, alliance: str, instant: str) -> int:
        """The alliance's revision current at `instant` (ISO, UTC): that of its last
        change-log entry written at or before it (0: none yet)."""
        with Session(self.engine) as session:
            found = session.exec(
                select(ChangeRow.revision)
                .where(ChangeRow.alliance == alliance, ChangeRow.at <= instant)
                .order_by(col(ChangeRow.revision).desc())
                .limit(1)
            ).first()
        return found or 0

    def changes(self, alliance: str, upto: int) -> list[ChangeRow]:
        """The alliance's change-log entries up to revision `upto`, as stored."""
        with Session(self.engine) as session:
            return list(
                session.exec(
                    select(ChangeRow)
                    .where(ChangeRow.alliance == alliance, ChangeRow.revision <= upto)
                    .order_by(col(ChangeRow.revision))
                )
            )

    def covering(self, alliance: str, revision: int) -> CheckpointRow | None:
        """The first checkpoint of the alliance's change log at or after `revision`."""
        with Session(self.engine) as session:
            return session.exec(
                select(CheckpointRow)
                .where(
                    CheckpointRow.chain == alliance_chain(alliance), CheckpointRow.size >= revision
                )
                .order_by(col(CheckpointRow.size))
                .limit(1)
            ).first()

    def verify(self, alliance: str | None = None) -> dict[str, list[str]]:
        """Each alliance's log problems (empty when intact)."""
        with Session(self.engine) as session:
            query = select(AllianceRow).order_by(col(AllianceRow.name))
            if alliance is not None:
                query = query.where(AllianceRow.name == alliance)
            out = {}
            for row in session.exec(query).all():
                entries = session.exec(
                    select(ChangeRow)
                    .where(ChangeRow.alliance == row.name)
                    .order_by(col(ChangeRow.seq))
                ).all()
                versions = session.exec(
                    select(DocumentRow).where(DocumentRow.alliance == row.name)
                ).all()
                by_key = {(f"{v.kind}/{v.name}", v.revision): v for v in versions}
                out[row.name] = verify(row, entries, by_key)
        return out

    # -- writes ----------------------------------------------------------------

    @contextmanager
    def writing(self, alliance: str) -> Iterator[Draft]:
        """One write transaction, holding the alliances' write lock: the alliance as
        the latest commit left it. Waiting too long for the lock is `Busy`."""
        with self._write_session() as session:
            _bump(session, ALLIANCE_COUNTER, self.channel, alliance)
            row = session.get(AllianceRow, alliance)
            yield Draft(session, alliance, row, self._seal)

    @contextmanager
    def _write_session(self) -> Iterator[Session]:
        try:
            with Session(self.engine) as session:
                bound_lock_waits(session.connection())
                yield session
        except OperationalError as error:
            if is_lock_wait(error):
                raise Busy from None
            raise

    # -- tokens ----------------------------------------------------------------

    def create_token(
        self,
        role: Role,
        alliance: str | None,
        partner: str | None,
        name: str | None,
        actor: str = "command line",
    ) -> tuple[int, str]:
        secret = new_secret()
        with self._write_session() as session:
            _bump(session, TOKEN_COUNTER, self.channel, "tokens")
            row = TokenRow(
                hash=digest(secret),
                role=role,
                alliance=alliance,
                partner=partner,
                name=name,
                created=now(),
            )
            session.add(row)
            session.flush()  # the row's id, which its log entry records
            self._log_token(session, row, actor, "create")
            session.commit()
            assert row.id is not None
            return row.id, secret

    def revoke_token(self, token_id: int, actor: str = "command line") -> bool:
        with self._write_session() as session:
            _bump(session, TOKEN_COUNTER, self.channel, "tokens")
            row = session.get(TokenRow, token_id)
            if row is None or row.revoked is not None:
                return False
            row.revoked = now()
            session.add(row)
            self._log_token(session, row, actor, "revoke")
            session.commit()
            return True

    def tokens(self) -> list[TokenRow]:
        with Session(self.engine) as session:
            return list(session.exec(select(TokenRow).order_by(col(TokenRow.id))).all())

    def principals(self) -> dict[str, Principal]:
        """Every token in force, by the digest of its secret. A token whose row is not
        as its newest token-log entry records it (its role changed in the database, a
        row added behind the log's back) is not loaded: the server refuses it as it
        refuses an unknown token, and says so in its log."""
        with Session(self.engine) as session:
            rows = session.exec(select(TokenRow).order_by(col(TokenRow.id))).all()
            entries = session.exec(
                select(TokenChangeRow).order_by(col(TokenChangeRow.revision))
            ).all()
        newest = {entry.token: entry for entry in entries}
        loaded = {}
        for row in rows:
            if row.revoked is not None:
                continue
            entry = newest.get(row.id or 0)
            problems = token_problems(row, entry)
            if entry is not None and entry.hash != token_entry_hash(entry):
                problems.append(f"token {row.id}: its {TOKEN_LOG} entry does not match its hash")
            if problems:
                log.warning("not loading token %s: %s", row.id, "; ".join(problems))
                continue
            loaded[row.hash] = Principal(
                row.id or 0, cast(Role, row.role), row.alliance, row.partner, row.name
            )
        return loaded

    def verify_tokens(self) -> list[str]:
        """The token log's problems, and every token row's that is not as logged."""
        with Session(self.engine) as session:
            state = _token_state(session)
            entries = session.exec(select(TokenChangeRow).order_by(col(TokenChangeRow.seq))).all()
            rows = session.exec(select(TokenRow).order_by(col(TokenRow.id))).all()
            return verify_tokens(state.tokens_revision, state.tokens_head, entries, rows)

    def _log_token(self, session: Session, row: TokenRow, actor: str, action: str) -> None:
        state = _token_state(session)
        assert row.id is not None
        entry = TokenChangeRow(
            revision=state.tokens_revision + 1,
            at=now(),
            actor=actor,
            action=action,
            token=row.id,
            record=encode_record(token_record(row)),
            previous=state.tokens_head or GENESIS,
            hash="",
        )
        entry.hash = token_entry_hash(entry)
        session.add(entry)
        self._seal(
            session,
            TOKENS,
            previous=state.tokens_revision,
            revision=entry.revision,
            head=entry.hash,
            at=entry.at,
        )
        state.tokens_revision, state.tokens_head = entry.revision, entry.hash
        session.add(state)

    # -- checkpoints -------------------------------------------------------------

    def _seal(
        self, session: Session, chain: str, *, previous: int, revision: int, head: str, at: str
    ) -> None:
        """Sign the chain's new head in the transaction that appends it. Once a chain is
        signed, every entry appended to it is, each on the one before: a log MUST NOT
        sign a head inconsistent with one it signed (c2sp.org/tlog-checkpoint), and
        this one signs no entry it did not write either. So a store without the key,
        or a chain that no longer ends at its last checkpoint (an entry forged on it,
        an entry rewritten), is refused, and nothing is written."""
        latest = _latest_checkpoint(session, chain)
        if latest is not None:
            what = f"the change log of '{chain.partition('/')[2]}'" if "/" in chain else TOKEN_LOG
            if self.signer is None:
                raise CannotSign(
                    f"{what} is signed (its last checkpoint is of revision {latest.size}) "
                    "and this registry has no signing key: set REGISTRY_SIGNING_KEY_FILE or "
                    "REGISTRY_SIGNING_KEY; nothing was written"
                )
            if (
                latest.size != previous
                or _hash_at(session, chain, previous) != latest.head
                or not self._signed_here(latest, chain)
            ):
                raise CannotSign(
                    f"{what} does not end at a checkpoint this server signed (the last is of "
                    f"revision {latest.size}; the log is at revision {previous}): it was "
                    "changed in the database; nothing was written (run `registry log verify`)"
                )
        if self.signer is not None:
            note = self.signer.sign(origin(self.registry_id, chain), revision, head, at)
            session.add(CheckpointRow(chain=chain, size=revision, head=head, at=at, note=note))

    def _signed_here(self, row: CheckpointRow, chain: str) -> bool:
        """The checkpoint row is one this key signed, of this chain at its size and head.
        (A key changed since is refused too: changing keys is not supported yet.)"""
        assert self.signer is not None
        try:
            opened = self.signer.verifier.open(row.note)
        except CheckpointError:
            return False
        expected = (origin(self.registry_id, chain), row.size, row.head)
        return (opened.origin, opened.size, opened.head) == expected

    def checkpoint(self, alliance: str | None) -> tuple[int, CheckpointRow | None] | None:
        """The chain's revision and its newest checkpoint (None: none yet), read in one
        transaction; the token log's when `alliance` is None. None: no such alliance."""
        chain = TOKENS if alliance is None else alliance_chain(alliance)
        with Session(self.engine) as session:
            if alliance is None:
                revision = _token_state(session).tokens_revision
            else:
                row = session.get(AllianceRow, alliance)
                if row is None:
                    return None
                revision = row.revision
            latest = _latest_checkpoint(session, chain)
        return revision, latest

    def prove(self, anchor: Checkpoint, verifier: Verifier) -> Proof:
        """Hold the chain the checkpoint names to it: see `chain.prove`. The problems of
        the plain check (`verify`, `verify_tokens`) come first."""
        found = split_origin(anchor.origin)
        if found is None:
            raise CheckpointError(f"its origin '{anchor.origin}' is not an alliance registry's")
        registry_id, chain = found
        name = chain.removeprefix("alliances/")
        if chain != TOKENS and (name == chain or not name):
            raise CheckpointError(f"its origin '{anchor.origin}' names no chain of a registry")
        label = TOKEN_LOG if chain == TOKENS else name
        if registry_id != self.registry_id:
            problem = (
                f"{label}: the checkpoint is of registry {registry_id}; this database is "
                f"registry {self.registry_id}"
            )
            return Proof(label, anchor.size, 0, [problem])
        with Session(self.engine) as session:
            stored = {
                row.size: row.note
                for row in session.exec(select(CheckpointRow).where(CheckpointRow.chain == chain))
            }
            if chain == TOKENS:
                problems = self.verify_tokens()
                recomputed = token_heads(
                    session.exec(select(TokenChangeRow).order_by(col(TokenChangeRow.revision)))
                )
            else:
                problems = self.verify(name).get(name, [])
                recomputed = heads(
                    session.exec(
                        select(ChangeRow)
                        .where(ChangeRow.alliance == name)
                        .order_by(col(ChangeRow.revision))
                    )
                )
            gone = chain != TOKENS and session.get(AllianceRow, name) is None
        if gone:
            problem = (
                f"{label}: the checkpoint signed revision {anchor.size} of it; the database "
                "has no such alliance: its history was deleted"
            )
            return Proof(label, anchor.size, 0, [problem])
        problems += prove(label, anchor, recomputed, stored, verifier)
        return Proof(label, anchor.size, max(recomputed, default=0), problems)


class Draft:
    """An alliance inside a write transaction, as the latest commit left it."""

    def __init__(
        self, session: Session, alliance: str, row: AllianceRow | None, seal: Seal
    ) -> None:
        self._session = session
        self._seal = seal
        self.alliance = alliance
        self._row = row
        self.revision = row.revision if row is not None else 0
        self._documents: dict[str, StoredDocument] | None = None

    @property
    def documents(self) -> dict[str, StoredDocument]:
        """Every current document, by ref; read only when asked (the write path read
        them before it took the lock, and does not ask)."""
        if self._documents is None:
            found = _current(self._session, self.alliance) if self._row is not None else []
            self._documents = {d.ref: d for d in found}
        return self._documents

    def etags(self, refs: Collection[str]) -> dict[str, str]:
        """The current ETag of each of these documents (Kind/name) that exists."""
        if not refs or self._row is None:
            return {}
        keys = [tuple(ref.split("/", 1)) for ref in refs]
        rows = self._session.exec(
            select(DocumentRow.kind, DocumentRow.name, DocumentRow.etag).where(
                DocumentRow.alliance == self.alliance,
                col(DocumentRow.current),
                ~col(DocumentRow.deleted),
                tuple_(col(DocumentRow.kind), col(DocumentRow.name)).in_(keys),
            )
        ).all()
        return {f"{kind}/{name}": etag for kind, name, etag in rows if etag is not None}

    def commit(
        self,
        writes: Sequence[Write],
        actor: str,
        action: str,
        forced: bool = False,
        before: Mapping[str, StoredDocument] | None = None,
        *,
        events: Sequence[NewEvent] = (),
        route: Route | None = None,
    ) -> tuple[int, dict[str, str | None]]:
        """Write the documents as one new revision with its change-log entry, and
        its `events` to the outbox (each to the subscriptions `route` says). Returns
        the revision and each written document's new ETag (None when deleted).
        `before` is the current documents, when the caller has read them at this
        revision already."""
        known = self.documents if before is None else before
        session, revision = self._session, self.revision + 1
        row = self._row
        if row is None:
            row = AllianceRow(name=self.alliance, revision=0, head=GENESIS, created=now())
            session.add(row)
        changes, etags = [], {}
        # The versions these writes replace stop being current: one statement for all
        # (a new alliance's apply writes thousands of documents), in slices that keep
        # within the databases' limits on bound parameters.
        keys = [(w.kind, w.name) for w in writes]
        for at in range(0, len(keys), 500):
            session.exec(
                update(DocumentRow)
                .where(
                    col(DocumentRow.alliance) == self.alliance,
                    col(DocumentRow.current),
                    tuple_(col(DocumentRow.kind), col(DocumentRow.name)).in_(keys[at : at + 500]),
                )
                .values(current=False)
            )
        for write in writes:
            ref = f"{write.kind}/{write.name}"
            was_stored = known.get(ref)
            after = None if write.body is None else body_digest(write.body)
            session.add(
                DocumentRow(
                    alliance=self.alliance,
                    kind=write.kind,
                    name=write.name,
                    revision=revision,
                    body=write.body,
                    etag=None if after is None else etag(after),
                    deleted=write.body is None,
                    current=True,
                    api_version=API_VERSION,
                )
            )
            was = None if was_stored is None else body_digest(was_stored.body)
            changes.append(DocumentChange(ref, was, after))
            etags[ref] = None if after is None else etag(after)
        entry = ChangeRow(
            alliance=self.alliance,
            revision=revision,
            at=now(),
            actor=actor,
            action=action,
            forced=forced,
            documents=msgspec.json.encode(changes).decode(),
            previous=row.head or GENESIS,
            hash="",
        )
        entry.hash = entry_hash(entry)
        session.add(entry)
        chain = alliance_chain(self.alliance)
        self._seal(
            session, chain, previous=self.revision, revision=revision, head=entry.hash, at=entry.at
        )
        row.revision, row.head = revision, entry.hash
        session.add(row)
        if events:
            assert route is not None
            outbox.record(session, self.alliance, revision, events, route)
        session.commit()
        return revision, etags


class Seal(Protocol):
    def __call__(
        self, session: Session, chain: str, *, previous: int, revision: int, head: str, at: str
    ) -> None: ...


def _hash_at(session: Session, chain: str, revision: int) -> str | None:
    """The stored hash of the chain's entry at `revision`."""
    if chain == TOKENS:
        return session.exec(
            select(TokenChangeRow.hash).where(TokenChangeRow.revision == revision)
        ).first()
    return session.exec(
        select(ChangeRow.hash).where(
            ChangeRow.alliance == chain.removeprefix("alliances/"), ChangeRow.revision == revision
        )
    ).first()


# The tokens' counter row is made by the first token write (a new database has row 1
# only, as the releases before migrations made it), from row 1: its schema_version,
# and the token log's head as migration 0003 left it there. From then on the token
# log's head lives on this row, so a token write never touches row 1, which an
# alliance write holds locked.
_BUMP_TOKENS = text(
    "INSERT INTO registry_state (id, schema_version, generation, tokens_revision, tokens_head) "
    "SELECT :id, schema_version, 1, tokens_revision, tokens_head FROM registry_state "
    "WHERE id = 1 "
    "ON CONFLICT (id) DO UPDATE SET generation = registry_state.generation + 1"
)


def _latest_checkpoint(session: Session, chain: str) -> CheckpointRow | None:
    """The chain's newest checkpoint (None: none yet)."""
    return session.exec(
        select(CheckpointRow)
        .where(CheckpointRow.chain == chain)
        .order_by(col(CheckpointRow.size).desc())
        .limit(1)
    ).first()


def _token_state(session: Session) -> RegistryState:
    """The row holding the token log's head: the tokens' counter row once a token has
    been written by this release, row 1 before."""
    state = session.get(RegistryState, TOKEN_COUNTER) or session.get(RegistryState, 1)
    assert state is not None
    return state


def _bump(session: Session, counter: int, channel: str | None, what: str) -> None:
    """Count a write on its counter row, whose row lock (PostgreSQL) or the write
    lock it takes (SQLite) serialises the writers of that counter until commit; on
    PostgreSQL, notify the registry's channel with what is written (heard at commit,
    never for a write rolled back)."""
    if channel is not None:
        notify(session.connection(), channel, what)
    if counter == ALLIANCE_COUNTER:
        session.exec(
            update(RegistryState)
            .where(col(RegistryState.id) == ALLIANCE_COUNTER)
            .values(generation=RegistryState.generation + 1)
        )
    else:
        session.connection().execute(_BUMP_TOKENS, {"id": counter})


def _current(session: Session, alliance: str) -> list[StoredDocument]:
    # The columns, not ORM rows: a large alliance has thousands of documents, and an
    # ORM row costs several times a tuple to make.
    rows = session.execute(
        sql_select(
            col(DocumentRow.kind),
            col(DocumentRow.name),
            col(DocumentRow.revision),
            col(DocumentRow.etag),
            col(DocumentRow.body),
            col(DocumentRow.api_version),
        )
        .where(
            col(DocumentRow.alliance) == alliance,
            col(DocumentRow.current),
            ~col(DocumentRow.deleted),
        )
        .order_by(col(DocumentRow.kind), col(DocumentRow.name))
    ).all()
    return [StoredDocument(*row) for row in rows]


def _stored(row: DocumentRow) -> StoredDocument:
    assert row.body is not None and row.etag is not None
    return StoredDocument(row.kind, row.name, row.revision, row.etag, row.body, row.api_version)


def _entry(row: ChangeRow) -> Entry:
    return Entry(
        seq=row.seq or 0,
        alliance=row.alliance,
        revision=row.revision,
        at=row.at,
        actor=row.actor,
        action=row.action,
        forced=row.forced,
        documents=decode_changes(row),
        hash=row.hash,
    )
