"""The change log's hash chains, and the checks that find tampering with them.

Each entry's hash covers its own fields and the previous entry's hash; the alliance
row keeps the last hash, and each entry lists the digest of every document version
it wrote, so editing, deleting or reordering entries or document bodies all show.
The token log is a chain of the same kind for the server: each entry records a token
as it stands after it was created or revoked, and every token row must match it.

That stops edits made without recomputing the hashes. Someone who can write the
database can recompute them too; what they cannot make is the server's signature, so
`prove` holds a chain to a checkpoint signed earlier (registry/checkpoint.py).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

import msgspec

from registry.checkpoint import Checkpoint, CheckpointError, Verifier
from registry.store.tables import AllianceRow, ChangeRow, DocumentRow, TokenChangeRow

GENESIS = "0" * 64
TOKENS = "tokens"  # the token log's chain name
TOKEN_LOG = "token log"  # how problems name it (no alliance name has a space)


def alliance_chain(alliance: str) -> str:
    return f"alliances/{alliance}"


class DocumentChange(msgspec.Struct, frozen=True):
    """One document an entry wrote: its digest before and after (None: absent)."""

    ref: str
    before: str | None
    after: str | None


def body_digest(body: str) -> str:
    return hashlib.sha256(body.encode()).hexdigest()


def etag(digest: str) -> str:
    return f'"{digest[:32]}"'


def entry_hash(entry: ChangeRow, previous: str | None = None) -> str:
    """The entry's hash; given `previous`, as if it followed that hash instead."""
    fields = [
        entry.previous if previous is None else previous,
        entry.alliance,
        entry.revision,
        entry.at,
        entry.actor,
        entry.action,
        entry.forced,
        entry.documents,
    ]
    return hashlib.sha256(msgspec.json.encode(fields)).hexdigest()


def decode_changes(entry: ChangeRow) -> list[DocumentChange]:
    return msgspec.json.decode(entry.documents, type=list[DocumentChange])


def verify(
    alliance: AllianceRow,
    entries: Iterable[ChangeRow],
    versions: Mapping[tuple[str, int], DocumentRow],
) -> list[str]:
    """Every break in one alliance's log; `versions` maps (ref, revision) to the row
    written then. An empty list means the log and the documents are intact."""
    problems: list[str] = []
    previous, revision = GENESIS, 0
    written: set[tuple[str, int]] = set()
    for entry in entries:
        where = f"{alliance.name} entry {entry.seq} (revision {entry.revision})"
        problems += _link_problems(where, entry, entry_hash(entry), previous, revision)
        problems += _documents_problems(where, entry, versions, written)
        previous, revision = entry.hash, entry.revision
    if alliance.head != previous or alliance.revision != revision:
        problems.append(
            f"{alliance.name}: the log ends at revision {revision}, the alliance is at revision "
            f"{alliance.revision}; entries are missing"
        )
    # A version no entry wrote was added behind the log's back (or its entry deleted).
    for ref, at in sorted(set(versions) - written, key=lambda key: (key[1], key[0])):
        problems.append(f"{alliance.name}: {ref} at revision {at} was written by no log entry")
    # The API serves the version flagged current: it must be each document's newest.
    newest: dict[str, int] = {}
    for ref, at in versions:
        newest[ref] = max(at, newest.get(ref, at))
    for (ref, at), row in sorted(versions.items(), key=lambda item: (item[0][1], item[0][0])):
        if row.current != (at == newest[ref]):
            flag = "flagged current" if row.current else "not flagged current"
            problems.append(
                f"{alliance.name}: {ref} at revision {at} is {flag}; its newest version is "
                f"revision {newest[ref]}"
            )
    return problems


def _documents_problems(
    where: str,
    entry: ChangeRow,
    versions: Mapping[tuple[str, int], DocumentRow],
    written: set[tuple[str, int]],
) -> list[str]:
    try:
        changes = decode_changes(entry)
    except msgspec.DecodeError:
        return [f"{where}: its document list is unreadable"]
    problems = []
    for change in changes:
        written.add((change.ref, entry.revision))
        row = versions.get((change.ref, entry.revision))
        if row is None:
            problems.append(f"{where}: {change.ref} has no version at this revision")
        elif change.after is None:
            if not row.deleted:
                problems.append(f"{where}: {change.ref} should be deleted here")
        elif row.body is None or body_digest(row.body) != change.after:
            problems.append(f"{where}: {change.ref} was altered after it was written")
    return problems


# -- the token log ----------------------------------------------------------------------


class TokenFields(Protocol):
    """A token row's columns (a TokenRow, or a row read by a migration)."""

    id: int | None
    hash: str
    role: str
    alliance: str | None
    partner: str | None
    name: str | None
    created: str
    revoked: str | None


class TokenRecord(msgspec.Struct, frozen=True):
    """A token as the token log records it. `secret` is the SHA-256 of the digest the
    tokens table stores: it binds the entry to that one credential without repeating
    a value that finds the token in the table."""

    id: int
    secret: str
    role: str
    alliance: str | None
    partner: str | None
    name: str | None
    created: str
    revoked: str | None


def token_record(row: TokenFields) -> TokenRecord:
    return TokenRecord(
        row.id or 0,
        hashlib.sha256(row.hash.encode()).hexdigest(),
        row.role,
        row.alliance,
        row.partner,
        row.name,
        row.created,
        row.revoked,
    )


def encode_record(record: TokenRecord) -> str:
    return msgspec.json.encode(record).decode()


def token_entry_hash(entry: TokenChangeRow, previous: str | None = None) -> str:
    fields = [
        entry.previous if previous is None else previous,
        entry.revision,
        entry.at,
        entry.actor,
        entry.action,
        entry.token,
        entry.record,
    ]
    return hashlib.sha256(msgspec.json.encode(["token", *fields])).hexdigest()


class _Link(Protocol):
    previous: str
    hash: str
    revision: int


def _link_problems(
    where: str, entry: _Link, recomputed: str, previous: str, after: int
) -> list[str]:
    """How an entry fails to be the link after (`previous`, revision `after`) of its chain."""
    problems = []
    if entry.previous != previous:
        problems.append(f"{where}: does not follow the entry before it")
    if entry.hash != recomputed:
        problems.append(f"{where}: its content does not match its hash")
    if entry.revision != after + 1:
        problems.append(f"{where}: follows revision {after}")
    return problems


def verify_tokens(
    revision: int, head: str, entries: Iterable[TokenChangeRow], rows: Iterable[TokenFields]
) -> list[str]:
    """Every break in the token log, and every token row that is not as the log says."""
    problems: list[str] = []
    previous, at = GENESIS, 0
    newest: dict[int, TokenChangeRow] = {}
    for entry in entries:
        where = f"{TOKEN_LOG} entry {entry.seq} (revision {entry.revision})"
        problems += _link_problems(where, entry, token_entry_hash(entry), previous, at)
        newest[entry.token] = entry
        previous, at = entry.hash, entry.revision
    if (head or GENESIS) != previous or revision != at:
        problems.append(
            f"{TOKEN_LOG}: the log ends at revision {at}, the registry is at revision "
            f"{revision}; entries are missing"
        )
    seen = set()
    for row in rows:
        seen.add(row.id or 0)
        problems += token_problems(row, newest.get(row.id or 0))
    for token in sorted(set(newest) - seen):
        problems.append(
            f"token {token}: in the {TOKEN_LOG} (revision {newest[token].revision}) but not "
            "in the database"
        )
    return problems


def token_problems(row: TokenFields, entry: TokenChangeRow | None) -> list[str]:
    """How a token row differs from its newest token-log entry (none: it is as logged)."""
    if entry is None:
        return [f"token {row.id}: no {TOKEN_LOG} entry created it"]
    try:
        logged = msgspec.json.decode(entry.record, type=TokenRecord)
    except msgspec.DecodeError:
        return [f"token {row.id}: its {TOKEN_LOG} entry (revision {entry.revision}) is unreadable"]
    found = token_record(row)
    problems = []
    for field in TokenRecord.__struct_fields__:
        has, says = getattr(found, field), getattr(logged, field)
        if has == says:
            continue
        if field == "secret":
            problems.append(
                f"token {row.id}: its secret's digest is not the one the {TOKEN_LOG} "
                f"(revision {entry.revision}) recorded"
            )
        else:
            problems.append(
                f"token {row.id}: its row says {field} {_said(has)}, the {TOKEN_LOG} "
                f"(revision {entry.revision}) says {_said(says)}"
            )
    return problems


def _said(value: object) -> str:
    return "none" if value is None else str(value)


# -- proofs against signed checkpoints ---------------------------------------------------


def heads(entries: Iterable[ChangeRow]) -> dict[int, str]:
    """Revision -> the head recomputed there: each entry's content hashed on the head
    recomputed before it, never on the `previous` it stores."""
    out, previous = {}, GENESIS
    for entry in entries:
        previous = out[entry.revision] = entry_hash(entry, previous)
    return out


def token_heads(entries: Iterable[TokenChangeRow]) -> dict[int, str]:
    out, previous = {}, GENESIS
    for entry in entries:
        previous = out[entry.revision] = token_entry_hash(entry, previous)
    return out


def prove(
    label: str,
    anchor: Checkpoint,
    heads: Mapping[int, str],
    stored: Mapping[int, str],
    verifier: Verifier,
) -> list[str]:
    """What keeps the chain from being the one the server signed. `heads` maps each
    revision to the head recomputed from the entries up to it (every entry's content
    and the recomputed head before it); `stored` the checkpoints the database keeps,
    by size. Up to the anchor, the chain must recompute to its head; every revision
    after it must have a checkpoint of its own signed by the key, since the server
    signs each entry in the transaction that writes it."""
    problems: list[str] = []
    length = max(heads, default=0)
    if anchor.size > length:
        problems.append(
            f"{label}: the checkpoint signed revision {anchor.size}, the log ends at revision "
            f"{length}: entries were deleted"
        )
    elif anchor.size and heads.get(anchor.size) != anchor.head:
        problems.append(
            f"{label}: the log up to revision {anchor.size} is not the one the checkpoint "
            "signed: it was rewritten"
        )
    signed = _signed(stored, anchor.origin, verifier)
    problems += _rewritten(label, heads, signed, length)
    unsigned = [r for r in range(anchor.size + 1, length + 1) if r not in signed]
    for first, last in _runs(unsigned):
        which = f"revision {first}" if first == last else f"revisions {first} to {last}"
        problems.append(
            f"{label} {which}: no checkpoint signed by this key: forged, or written by a "
            "server without its signing key"
        )
    return problems


def _signed(stored: Mapping[int, str], origin: str, verifier: Verifier) -> dict[int, str]:
    """Size -> head of the stored checkpoints the key signed for this chain."""
    signed = {}
    for size, note in stored.items():
        try:
            opened = verifier.open(note)
        except CheckpointError:
            continue  # not this key's (another key, or not the server's at all)
        if opened.origin == origin and opened.size == size:
            signed[size] = opened.head
    return signed


def _rewritten(
    label: str, heads: Mapping[int, str], signed: Mapping[int, str], length: int
) -> list[str]:
    """The first revision whose stored signed checkpoint the chain no longer matches:
    the rewrite happened after the last one it still matches, up to there."""
    matched = 0
    for size in sorted(signed):
        if size > length:
            return [
                f"{label}: the server signed revision {size}, the log ends at revision "
                f"{length}: entries were deleted"
            ]
        if heads.get(size) != signed[size]:
            where = (
                f"at revision {size}"
                if matched + 1 == size
                else f"at one of revisions {matched + 1} to {size}"
            )
            return [f"{label}: the log was rewritten {where}: the server signed another entry"]
        matched = size
    return []


def _runs(revisions: Sequence[int]) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    for r in revisions:
        if runs and runs[-1][1] == r - 1:
            runs[-1] = (runs[-1][0], r)
        else:
            runs.append((r, r))
    return runs
