"""A write to a stored alliance, decided on its latest committed state.

Every write, one document or a bundle, goes the same way: the request's documents
are checked on their own (schema, types), then together with the stored documents
they do not replace (every reference), then the change is planned against the
current version. A write that adds error findings is refused with its plan unless
forced. Only then is the new revision committed, with its change-log entry. Any
refusal leaves the database as it was.

The checks and the plan run on a snapshot of the alliance read without any lock,
so one request's cost never holds up another's write. The write lock is taken for
the commit alone: if the alliance's revision (or an ETag a precondition names) has
moved since the snapshot, the checks run again on the new state, up to ATTEMPTS
times; an alliance changing faster than that is `Unavailable` (503, Retry-After).
So every commit is still decided on the latest committed state.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import msgspec

from registry.bundle import Bundle
from registry.errors import (
    Conflict,
    Forbidden,
    InvalidDocuments,
    LocatedError,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    Unavailable,
)
from registry.events import NewEvent, moves_between, write_events
from registry.load import (
    Documents,
    LoadResult,
    bundle_documents,
    read_documents,
    read_stored,
)
from registry.messages import json_path
from registry.model import Alliance, Contract, Partner, PolicySet, to_builtins
from registry.plan import OwnerMove, Plan, plan
from registry.references import Located
from registry.rules import audit
from registry.service.events import route
from registry.store.repository import Store, StoredDocument, Write

# Times a write is checked and planned before it gives up on an alliance whose
# revision keeps moving under it; a write that lands waits for no other's checks.
ATTEMPTS = 3
RETRY_AFTER_SECONDS = 1


def invalid(errors: Sequence[LocatedError]) -> InvalidDocuments:
    n = len(errors)
    return InvalidDocuments(
        f"{n} error{'s' * (n != 1)} in the documents; nothing was written", errors
    )


class AddsErrors(Conflict):
    """The write adds error findings; `plan` says which."""

    def __init__(self, plan: Plan) -> None:
        errors = sum(f.severity == "error" for f in plan.added)
        super().__init__(
            f"the change adds {errors} error finding{'s' * (errors != 1)}; nothing was "
            "written. Fix the documents, or send force=true as a manager to write anyway"
        )
        self.plan = plan


class DocumentResult(msgspec.Struct):
    ref: str
    action: Literal["created", "updated", "deleted", "unchanged"]
    etag: str | None


class Outcome(msgspec.Struct, kw_only=True, rename="camel"):
    alliance: str
    revision: int
    applied: bool
    forced: bool = False
    documents: list[DocumentResult]
    plan: Plan | None


@dataclass
class Request:
    """What a client asks to write to one alliance."""

    alliance: str
    texts: list[tuple[str, str]] = field(default_factory=list)  # (file name, text)
    deletes: list[str] = field(default_factory=list)  # refs: Kind/name
    # ref -> the ETag the client last saw (If-Match); None: "create only" (If-None-Match: *)
    preconditions: dict[str, str | None] = field(default_factory=dict)
    # Refs that must carry a precondition when they exist already (PUT and DELETE).
    guarded: set[str] = field(default_factory=set)
    # Only this kind and name may be sent (PUT names its document in the URL).
    only: tuple[str, str] | None = None
    alliance_etag: str | None = None  # If-Match on the whole alliance (apply)
    force: bool = False
    dry_run: bool = False
    as_of: dt.date | None = None


def alliance_etag(revision: int) -> str:
    return f'"r{revision}"'


def _check_permission(
    request: Request, sent: Documents, may_write: Callable[[str, str], bool]
) -> None:
    """Forbidden before any finding about the documents: a token learns nothing of a
    document it may not write, not even what is wrong with it. A document that failed
    its own checks is judged by the kind and name its envelope gives."""
    named = [(i.document.kind, i.document.name) for i in sent.located]
    named += [(u.kind, u.name) for u in sent.unchecked if u.kind and u.name]
    for kind, name in named:
        if not may_write(kind, name):
            raise Forbidden(f"this token may not write {kind}/{name}")
    for ref in request.deletes:
        kind, _, name = ref.partition("/")
        if not may_write(kind, name):
            raise Forbidden(f"this token may not delete {ref}")


def write(
    store: Store,
    request: Request,
    actor: str,
    action: str,
    may_write: Callable[[str, str], bool] = lambda kind, name: True,
) -> Outcome:
    """Check, plan and (unless refused or a dry run) commit one write."""
    result = LoadResult(files=len(request.texts))
    sent = read_documents(request.texts, result)
    _check_permission(request, sent, may_write)
    misplaced = _misplaced(request, sent.located)
    if misplaced:
        raise invalid(result.errors + misplaced)
    as_of = request.as_of or dt.datetime.now(dt.UTC).date()
    # The faces a write moves cost a second arrangement: only when someone listens.
    faces = not request.dry_run and store.outbox.wants(request.alliance, "ownership.moved")
    for _ in range(ATTEMPTS):
        snapshot = store.snapshot(request.alliance)
        revision, stored = snapshot if snapshot is not None else (0, [])
        current = {d.ref: d for d in stored}
        decided = _decide(request, revision, current, sent, result, as_of=as_of, faces=faces)
        if request.dry_run or not decided.writes:
            return Outcome(
                alliance=request.alliance,
                revision=revision,
                applied=False,
                documents=decided.results,
                plan=decided.plan,
            )
        guarded = _guarded(request)
        with store.writing(request.alliance) as draft:
            if draft.revision != revision or draft.etags(guarded) != {
                ref: current[ref].etag for ref in guarded if ref in current
            }:
                continue  # written meanwhile: decide again on what is there now
            events = _events(decided, current, sent.located, actor, action)
            landed, etags = draft.commit(
                decided.writes, actor, action, decided.forced, current, events=events, route=route
            )
        for r in decided.results:
            r.etag = etags.get(r.ref, r.etag)
        return Outcome(
            alliance=request.alliance,
            revision=landed,
            applied=True,
            forced=decided.forced,
            documents=decided.results,
            plan=decided.plan,
        )
    raise Unavailable(
        f"alliance '{request.alliance}' changed {ATTEMPTS} times while this write was "
        "being checked; nothing was written: send it again",
        retry_after=RETRY_AFTER_SECONDS,
    )


@dataclass
class _Decision:
    """What a write would do to one revision of the alliance."""

    writes: list[Write]
    results: list[DocumentResult]
    plan: Plan | None
    forced: bool
    faces: list[OwnerMove] | None = None  # boxes whose customer face moves


def _decide(
    request: Request,
    revision: int,
    current: dict[str, StoredDocument],
    sent: Documents,
    checked: LoadResult,
    *,
    as_of: dt.date,
    faces: bool = False,
) -> _Decision:
    """Check the sent documents with the stored ones they do not replace, and plan
    the change; raise the refusal if there is one. `checked` holds the sent
    documents' own errors and is left as it is."""
    result = LoadResult(
        errors=list(checked.errors),
        files=checked.files,
        documents=checked.documents,
        document_lines=dict(checked.document_lines),
    )
    # Documents failing their own checks go on to the reference checks, so the 422
    # lists every error at once (as `registry validate` does).
    if not result.errors:
        _check_preconditions(request, revision, current, sent.located)
    writes = _writes(request, current, sent.located)
    stored = read_stored(((f"{d.ref}.json", d.body) for d in current.values()), LoadResult())
    old = _bundle(stored, request.alliance)
    # Every sent document replaces its stored version, changed or not.
    replaced = {w.kind + "/" + w.name for w in writes} | {i.document.ref for i in sent.located}
    kept = Documents(
        [i for i in stored.located if i.document.ref not in replaced],
        [],
        stored.parsed_files,
    )
    after = bundle_documents(kept + sent, result)
    if result.errors:
        raise invalid(result.errors)
    new = after.bundles.get(request.alliance)
    change = _plan(old, new, as_of, request.alliance)
    results = _results(current, writes, request.deletes, sent.located)
    forced = change is not None and change.adds_errors()
    if forced and not request.force:
        assert change is not None
        raise AddsErrors(change)
    moved = None
    if (
        faces
        and old is not None
        and new is not None
        and change is not None
        and change.moves is not None
    ):
        moved = moves_between(old, as_of, new, as_of).face
    return _Decision(writes, results, change, forced, moved)


def _guarded(request: Request) -> set[str]:
    """The documents whose ETags the request's preconditions name."""
    return set(request.guarded) | set(request.preconditions) | set(request.deletes)


def canonical(item: Located) -> str:
    """How a document is stored and served: its checked form as indented JSON, so
    every copy of the same content has the same digest and ETag."""
    encoded = msgspec.json.encode(to_builtins(item.document))
    return msgspec.json.format(encoded, indent=2).decode()


def _misplaced(request: Request, located: Sequence[Located]) -> list[LocatedError]:
    """Documents sent to the wrong alliance, or to another document's URL."""
    errors = []

    def error(item: Located, path: tuple[str, ...], message: str) -> None:
        line, column = item.parsed.locate(path)
        where = json_path((*item.parsed.prefix, *path))
        errors.append(LocatedError(where, message, item.file, line, column))

    for item in located:
        doc = item.document
        if request.only is not None and (doc.kind, doc.name) != request.only:
            kind, name = request.only
            if doc.kind != kind:
                error(
                    item,
                    ("kind",),
                    f"this URL holds a {kind}, not a {doc.kind}; "
                    f"send the {doc.kind} to .../documents/{doc.kind}/{doc.name}",
                )
            else:
                error(
                    item,
                    ("metadata", "name"),
                    f"the URL names '{name}', the document '{doc.name}'; make them the same",
                )
        if isinstance(doc, Alliance):
            if doc.name != request.alliance:
                error(
                    item,
                    ("metadata", "name"),
                    f"the Alliance '{doc.name}' was sent to "
                    f"alliance '{request.alliance}'; send it to its own URL",
                )
        elif doc.metadata.alliance != request.alliance and not (
            isinstance(doc, PolicySet) and doc.metadata.alliance is None
        ):
            error(
                item,
                ("metadata", "alliance"),
                f"the document belongs to alliance "
                f"'{doc.metadata.alliance}' but was sent to alliance '{request.alliance}'; "
                "fix metadata.alliance or the URL",
            )
    return errors


def _check_preconditions(
    request: Request, revision: int, current: dict[str, StoredDocument], sent: Sequence[Located]
) -> None:
    if revision == 0 and not any(isinstance(i.document, Alliance) for i in sent):
        raise NotFound(
            f"no alliance '{request.alliance}'; create it by sending its Alliance document"
        )
    if request.alliance_etag is not None and request.alliance_etag not in (
        "*",
        alliance_etag(revision),
    ):
        raise PreconditionFailed(
            f"the alliance is at revision {revision}, not {request.alliance_etag}; read it "
            "again and retry",
            alliance_etag(revision),
        )
    for ref in request.deletes:
        if ref not in current:
            raise NotFound(f"no document {ref} in alliance '{request.alliance}'")
    for ref in request.guarded:
        existing = current.get(ref)
        if ref not in request.preconditions:
            if existing is not None:
                raise PreconditionRequired(
                    f"{ref} exists; send If-Match with its ETag {existing.etag} so a change "
                    "made since you read it is not overwritten"
                )
            continue
        expected = request.preconditions[ref]
        if expected is None:  # If-None-Match: *
            if existing is not None:
                raise PreconditionFailed(f"{ref} exists already", existing.etag)
        elif existing is None or expected not in ("*", existing.etag):
            raise PreconditionFailed(
                f"{ref} has changed since you read it (it is now "
                f"{existing.etag if existing else 'absent'}); read it again and retry",
                existing.etag if existing else None,
            )


def _writes(
    request: Request, current: dict[str, StoredDocument], sent: Sequence[Located]
) -> list[Write]:
    """The rows to write: sent documents whose content changed, and deletions."""
    writes = []
    for item in sent:
        body = canonical(item)
        existing = current.get(item.document.ref)
        if existing is None or existing.body != body:
            writes.append(Write(item.document.kind, item.document.name, body))
    for ref in request.deletes:
        kind, _, name = ref.partition("/")
        writes.append(Write(kind, name, None))
    return writes


def _results(
    current: dict[str, StoredDocument],
    writes: Sequence[Write],
    deletes: Sequence[str],
    sent: Sequence[Located],
) -> list[DocumentResult]:
    written = {f"{w.kind}/{w.name}" for w in writes}
    out = []
    for item in sent:
        ref = item.document.ref
        existing = current.get(ref)
        if ref not in written:
            out.append(DocumentResult(ref, "unchanged", existing.etag if existing else None))
        else:
            out.append(DocumentResult(ref, "updated" if existing else "created", None))
    out += [DocumentResult(ref, "deleted", None) for ref in deletes]
    return out


def _bundle(documents: Documents, alliance: str) -> Bundle | None:
    return bundle_documents(documents, LoadResult()).bundles.get(alliance)


def _plan(old: Bundle | None, new: Bundle | None, as_of: dt.date, alliance: str) -> Plan | None:
    if new is None:
        return None
    if old is None:  # a new alliance: everything its audit finds is added
        found = audit(new, as_of).findings
        return Plan(alliance=alliance, as_of=as_of.isoformat(), added=found, removed=[], moves=None)
    return plan(old, new, as_of)


def _events(
    decided: _Decision,
    current: dict[str, StoredDocument],
    sent: Sequence[Located],
    actor: str,
    action: str,
) -> list[NewEvent]:
    """The events of the write about to commit (registry/events.py)."""
    documents = {i.document.ref: i.document for i in sent}
    changed = []
    for result in decided.results:
        if result.action == "unchanged":
            continue
        document = documents.get(result.ref)
        if document is not None:
            partner = _partner(document)
        else:  # deleted: the partner its stored body names
            partner = _stored_partner(current[result.ref])
        changed.append((result.ref, result.action, partner))
    return write_events(
        documents=changed,
        actor=actor,
        action=action,
        forced=decided.forced,
        change=decided.plan,
        faces=decided.faces,
    )


def _partner(document: object) -> str | None:
    if isinstance(document, Partner):
        return document.name
    if isinstance(document, Contract):
        return document.spec.partner
    return None


def _stored_partner(stored: StoredDocument) -> str | None:
    if stored.kind == "Partner":
        return stored.name
    if stored.kind == "Contract":
        body = msgspec.json.decode(stored.body)
        partner = body.get("spec", {}).get("partner") if isinstance(body, dict) else None
        return partner if isinstance(partner, str) else None
    return None
