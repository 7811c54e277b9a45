"""The change log's hash chain, and the check that finds any tampering with it.

Each entry's hash covers its own fields and the previous entry's hash; the alliance
row keeps the last hash, and each entry lists the digest of every document version
it wrote, so editing, deleting or reordering entries or document bodies all show.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping

import msgspec

from registry.store.tables import AllianceRow, ChangeRow, DocumentRow

GENESIS = "0" * 64


class DocumentChange(msgspec.Struct, frozen=True):
    """One document an entry wrote: its digest before and after (None: absent)."""

    ref: str
    before: str | None
    after: str | None


def body_digest(body: str) -> str:
    return hashlib.sha256(body.encode()).hexdigest()


def etag(digest: str) -> str:
    return f'"{digest[:32]}"'


def entry_hash(entry: ChangeRow) -> str:
    fields = [
        entry.previous,
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
        if entry.previous != previous:
            problems.append(f"{where}: does not follow the entry before it")
        if entry.hash != entry_hash(entry):
            problems.append(f"{where}: its content does not match its hash")
        if entry.revision != revision + 1:
            problems.append(f"{where}: follows revision {revision}")
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
