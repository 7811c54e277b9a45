"""Evidence files: one self-contained JSON file an auditor checks offline.

`build` gathers, for an alliance at revision N: the change log up to the first
signed checkpoint at or after N (and after every revision a decision in the file
was answered at), that checkpoint, the documents at N and at each such revision (each
body once, by its SHA-256), the audit report as of a day at N, and optionally the
decisions answered in a time range, widened to whole flushes, with the decision
chain's checkpoints before and after them. `verify` needs nothing but the file and
the server's public key: it opens the checkpoints, recomputes both chains, rebuilds
the documents each revision had from the change log's digests, audits again and
answers every decision again. Any difference is named; an empty list is a pass.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec

from registry.checkpoint import CheckpointError, Verifier, origin
from registry.errors import InvalidRequest, NotFound
from registry.resolve import OwnerIndex
from registry.rules import audit
from registry.service.decisions import replayed
from registry.service.live import Live, View, load_documents
from registry.store import Store
from registry.store.chain import (
    GENESIS,
    DocumentChange,
    alliance_chain,
    body_digest,
    entry_hash,
)
from registry.store.decisions import Stored, decision_hash, decisions_chain
from registry.store.tables import ChangeRow

FORMAT = "alliance-registry-evidence/1"
# Decisions one file holds at most: a longer range is refused (ask for a shorter one).
MAX_DECISIONS = 200_000


class Change(msgspec.Struct, frozen=True):
    """A change-log entry as stored, every field its hash covers."""

    seq: int
    revision: int
    at: str
    actor: str
    action: str
    forced: bool
    documents: str
    previous: str
    hash: str


class Decisions(msgspec.Struct, frozen=True):
    since: str
    until: str
    start: str  # the decision chain's checkpoint before the first entry ("" at its start)
    end: str  # the checkpoint of the last entry
    entries: list[Stored]


class Evidence(msgspec.Struct, frozen=True, rename="camel"):
    format: str
    registry: str
    alliance: str
    revision: int
    as_of: str
    built: str
    checkpoint: str
    changes: list[Change]
    bodies: dict[str, str]  # SHA-256 of a body -> the body
    revisions: dict[str, dict[str, str]]  # revision -> ref -> body digest
    audit: dict[str, Any]
    decisions: Decisions | None = None


def build(
    store: Store,
    live: Live,
    alliance: str,
    revision: int,
    *,
    as_of: dt.date,
    span: tuple[str, str] | None = None,
) -> bytes:
    """The evidence file (JSON) of the alliance at `revision`; off the event loop."""
    view = live.view(alliance, revision)
    decisions = None
    needed = {revision}
    if span is not None:
        found = store.decisions.span(alliance, *span)
        if found is not None:
            entries, start, end = found
            if len(entries) > MAX_DECISIONS:
                raise InvalidRequest(
                    f"{len(entries):,} decisions in that range; an evidence file holds at most "
                    f"{MAX_DECISIONS:,}: ask for a shorter one"
                )
            if not end:
                raise NotFound(
                    "no signed checkpoint of the decision log covers that range: the server "
                    "had no signing key when it recorded them"
                )
            needed |= {d.revision for d in entries}
            decisions = Decisions(span[0], span[1], start, end, entries)
        else:
            decisions = Decisions(span[0], span[1], "", "", [])
    covering = store.covering(alliance, max(needed))
    if covering is None:
        raise NotFound(
            f"no signed checkpoint of '{alliance}' covers revision {max(needed)}: the server "
            "has no signing key, or wrote it without one"
        )
    changes = [_change(c) for c in store.changes(alliance, covering.size)]
    bodies: dict[str, str] = {}
    revisions: dict[str, dict[str, str]] = {}
    for number in sorted(needed):
        refs = {}
        for document in store.documents(alliance, number):
            digest = body_digest(document.body)
            bodies[digest] = document.body
            refs[document.ref] = digest
        revisions[str(number)] = refs
    report = msgspec.to_builtins(view.audit(as_of))
    evidence = Evidence(
        FORMAT,
        store.registry_id,
        alliance,
        revision,
        as_of.isoformat(),
        dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        covering.note,
        changes,
        bodies,
        revisions,
        report,
        decisions,
    )
    return msgspec.json.encode(evidence)


def _change(row: ChangeRow) -> Change:
    return Change(
        row.seq or 0,
        row.revision,
        row.at,
        row.actor,
        row.action,
        row.forced,
        row.documents,
        row.previous,
        row.hash,
    )


class Verified(msgspec.Struct, frozen=True):
    alliance: str
    revision: int
    as_of: str
    problems: list[str]
    documents: int = 0
    changes: int = 0
    decisions: int = 0


def verify(data: bytes, verifier: Verifier) -> Verified:
    """Check an evidence file with nothing but the server's public key."""
    try:
        evidence = msgspec.json.decode(data, type=Evidence)
    except msgspec.DecodeError as exc:
        raise InvalidRequest(f"not an evidence file: {exc}") from None
    if evidence.format != FORMAT:
        raise InvalidRequest(f"not an evidence file of format {FORMAT}: '{evidence.format[:40]}'")
    problems: list[str] = []
    name = evidence.alliance
    heads = _change_log(evidence, verifier, problems)
    states = _states(evidence, heads, problems)
    views: dict[int, View] = {}
    for number in sorted(states):
        files = [(f"{ref}.json", evidence.bodies.get(digest, "")) for ref, digest in states[number]]
        try:
            bundle = load_documents(name, number, files)
        except RuntimeError as exc:
            problems.append(f"documents at revision {number}: {exc}")
            continue
        views[number] = View(number, bundle, OwnerIndex(bundle, number))
    at_n = views.get(evidence.revision)
    if at_n is not None:
        again = msgspec.to_builtins(
            audit(at_n.bundle, dt.date.fromisoformat(evidence.as_of), at_n.revision)
        )
        if again != evidence.audit:
            problems.append(
                f"audit as of {evidence.as_of}: the report in the file is not the one the "
                f"documents at revision {evidence.revision} give"
            )
    replayed_count = 0
    if evidence.decisions is not None:
        replayed_count = _decisions(evidence, evidence.decisions, verifier, views, problems)
    documents = len(states.get(evidence.revision, []))
    return Verified(
        name,
        evidence.revision,
        evidence.as_of,
        problems,
        documents,
        len(evidence.changes),
        replayed_count,
    )


def _change_log(evidence: Evidence, verifier: Verifier, problems: list[str]) -> dict[int, str]:
    """Revision -> recomputed head, once the chain matches its signed checkpoint."""
    label = f"'{evidence.alliance}' change log"
    try:
        checkpoint = verifier.open(evidence.checkpoint)
    except CheckpointError as exc:
        problems.append(f"checkpoint: {exc.message}")
        return {}
    wanted = origin(evidence.registry, alliance_chain(evidence.alliance))
    if checkpoint.origin != wanted:
        problems.append(f"checkpoint: it is of {checkpoint.origin}, not {wanted}")
    heads, previous = {}, GENESIS
    for number, change in enumerate(evidence.changes, start=1):
        row = ChangeRow(
            alliance=evidence.alliance,
            revision=change.revision,
            at=change.at,
            actor=change.actor,
            action=change.action,
            forced=change.forced,
            documents=change.documents,
            previous=change.previous,
            hash=change.hash,
        )
        where = f"{label} revision {change.revision}"
        if change.revision != number:
            problems.append(f"{where}: out of place (entry {number})")
        if change.previous != previous:
            problems.append(f"{where}: does not follow the entry before it")
        recomputed = entry_hash(row, previous)
        if change.hash != recomputed:
            problems.append(f"{where}: its content does not match its hash")
        heads[change.revision] = previous = recomputed
    if checkpoint.size != len(evidence.changes):
        problems.append(
            f"{label}: the checkpoint signs revision {checkpoint.size}, the file holds "
            f"{len(evidence.changes)} entries"
        )
    elif heads.get(checkpoint.size, GENESIS) != checkpoint.head:
        problems.append(f"{label}: it is not the log the checkpoint signed: it was rewritten")
    if evidence.revision not in heads:
        problems.append(f"{label}: the file holds no entry of revision {evidence.revision}")
    return heads


def _states(
    evidence: Evidence, heads: dict[int, str], problems: list[str]
) -> dict[int, list[tuple[str, str]]]:
    """Each revision's documents as the file holds them, once they are exactly those
    the change log's digests say the revision had."""
    out: dict[int, list[tuple[str, str]]] = {}
    state: dict[str, str] = {}
    by_revision: dict[int, dict[str, str]] = {}
    for change in evidence.changes:
        try:
            written = msgspec.json.decode(change.documents, type=list[DocumentChange])
        except msgspec.DecodeError:
            problems.append(
                f"change log revision {change.revision}: its document list is unreadable"
            )
            continue
        for document in written:
            if document.after is None:
                state.pop(document.ref, None)
            else:
                state[document.ref] = document.after
        by_revision[change.revision] = dict(state)
    for key, refs in sorted(evidence.revisions.items(), key=lambda item: int(item[0])):
        number = int(key)
        logged = by_revision.get(number)
        if logged is None:
            problems.append(f"documents at revision {number}: the change log does not reach it")
            continue
        ok = True
        for ref in sorted(set(logged) | set(refs)):
            if ref not in refs:
                problems.append(f"documents at revision {number}: {ref} is missing from the file")
                ok = False
            elif ref not in logged:
                problems.append(f"documents at revision {number}: {ref} is in no change-log entry")
                ok = False
            elif refs[ref] != logged[ref]:
                problems.append(
                    f"documents at revision {number}: {ref} is not the version the change log "
                    "committed to"
                )
                ok = False
            else:
                body = evidence.bodies.get(refs[ref])
                if body is None or body_digest(body) != refs[ref]:
                    problems.append(
                        f"documents at revision {number}: the body of {ref} was altered (its "
                        "SHA-256 is not the change log's)"
                    )
                    ok = False
        if ok:
            out[number] = sorted(refs.items())
    return out


def _decisions(
    evidence: Evidence,
    decisions: Decisions,
    verifier: Verifier,
    views: dict[int, View],
    problems: list[str],
) -> int:
    """Check the decision chain against its checkpoints and replay each decision."""
    if not decisions.entries:
        return 0
    label = f"'{evidence.alliance}' decision log"
    wanted = origin(evidence.registry, decisions_chain(evidence.alliance))
    size, previous = 0, GENESIS
    try:
        if decisions.start:
            start = verifier.open(decisions.start)
            size, previous = start.size, start.head
            if start.origin != wanted:
                problems.append(f"{label}: its first checkpoint is of {start.origin}")
        end = verifier.open(decisions.end)
    except CheckpointError as exc:
        problems.append(f"{label} checkpoint: {exc.message}")
        return 0
    if end.origin != wanted:
        problems.append(f"{label}: its last checkpoint is of {end.origin}")
    for decision in decisions.entries:
        size += 1
        where = f"{label} decision {decision.id} (number {decision.seq})"
        if decision.seq != size:
            problems.append(f"{where}: decision number {size} is missing before it: deleted")
            size = decision.seq
        if decision.previous != previous:
            problems.append(f"{where}: does not follow the decision before it")
        recomputed = decision_hash(decision, previous)
        if recomputed != decision.hash:
            problems.append(f"{where}: its content does not match its hash: it was edited")
        previous = recomputed
    if size != end.size:
        problems.append(
            f"{label}: the checkpoint signs {end.size} decisions, the file ends at {size}: "
            "decisions were deleted"
        )
    elif previous != end.head:
        problems.append(f"{label}: the decisions are not those the checkpoint signed")
    replayed_count = 0
    for decision in decisions.entries:
        view = views.get(decision.revision)
        if view is None:
            problems.append(
                f"decision {decision.id}: no verified documents of its revision {decision.revision}"
            )
            continue
        query = msgspec.json.decode(decision.query, type=dict[str, str])
        try:
            answer = view.index.owner(query, dt.date.fromisoformat(decision.day))
        except Exception as exc:
            problems.append(f"decision {decision.id}: does not replay: {exc}")
            continue
        replay = replayed(decision, answer)
        replayed_count += 1
        for difference in replay.differences:
            problems.append(
                f"decision {decision.id}: replays with {difference.field} "
                f"{difference.replayed}, recorded {difference.recorded}"
            )
    return replayed_count
