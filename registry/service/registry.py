"""`Registry`: every read and write of a stored registry, for every door.

The API, the web page and the CLI's server commands hold one `Registry` and call
it; none of them touches `registry.store`. It keeps the process's live view of the
current revisions and tokens (`live.Live`), reads documents and history, runs the
one write path (`writes.write`), and administers tokens. Refusals are
`RegistryError`s: each door says them its own way.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import msgspec

from registry.access import Action, Principal, Role, scope_problem
from registry.checkpoint import Checkpoint, CheckpointError, Signer, Verifier
from registry.dimensions import Node
from registry.errors import (
    Forbidden,
    InvalidDocuments,
    InvalidQuery,
    InvalidRequest,
    LocatedError,
    NotFound,
)
from registry.events import Allow
from registry.load import load
from registry.messages import choices, suggest
from registry.model import KINDS, SLUG_PATTERN, to_builtins
from registry.resolve import QUERY_REFUSED
from registry.service import evidence
from registry.service.decisions import DecisionOut, Recorder, Replay, replayed, shown
from registry.service.dispatch import Dispatcher
from registry.service.events import Calendar, Subscriptions
from registry.service.lifecycle import Background
from registry.service.live import DEFAULT_VIEW_MEMORY, Live, View, Views
from registry.service.metrics import Counts, Figures, Findings, exposition
from registry.service.writes import Outcome, Request, write
from registry.settings import Settings
from registry.store import Entry, Proof, Store, StoredDocument
from registry.store.decisions import Decision, Filters, Stored
from registry.store.tables import TokenRow

# The severities `registry_findings` counts (info findings are not for alerts).
FINDINGS_GAUGED = ("error", "warning")


@dataclass(frozen=True)
class Backlog:
    depth: int
    oldest_age: float | None
    failed: int


@dataclass(frozen=True)
class Freshness:
    """`mode` "notify" (listening: `connected` says whether it is) or "read" (the
    generation read on every request); `reconnects` since the process started."""

    mode: str
    connected: bool | None
    reconnects: int


class NoCheckpoint(NotFound):
    """No signed checkpoint of the chain's current revision to serve."""


class Registry:
    def __init__(
        self,
        store: Store,
        view_memory: int = DEFAULT_VIEW_MEMORY,
        recorder: Recorder | None = None,
        *,
        settings: Settings | None = None,
    ) -> None:
        self._store = store
        self._live = Live(store, view_memory)
        self.recorder = recorder
        self._settings = settings or Settings()
        self.subscriptions = Subscriptions(store, Allow.parse(self._settings.webhook_allow))
        self._dispatcher: Dispatcher | None = None
        # Dispatchers and flushers register here how to stop (`close` stops them).
        self.background = Background()
        self._findings = Findings(self._count_findings)

    @classmethod
    def open(
        cls, url: str, signer: Signer | None = None, view_memory: int = DEFAULT_VIEW_MEMORY
    ) -> Registry:
        """The registry in the database at `url` (created or migrated as needed),
        signing a checkpoint of every chain it appends to when given a key, keeping
        compiled views up to `view_memory` bytes (estimated)."""
        return cls(Store(url, signer), view_memory)

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self, timeout: float = 30) -> None:
        """Stop dispatching and the other background work (within `timeout` seconds),
        flush the last decisions, then close the store."""
        self.stop_dispatch()
        self.background.stop(timeout)
        self._live.stop_listening(timeout)
        if self.recorder is not None:
            self.recorder.close()  # the last decisions, while the store is open
        self._store.close()

    # -- events ----------------------------------------------------------------

    def start_dispatch(self) -> None:
        """Deliver events and run the calendar on a thread of this process (see
        service/dispatch.py), until `stop_dispatch`."""
        if self._dispatcher is None:
            calendar = Calendar(self._store, self._live)
            self._dispatcher = Dispatcher(self._store, self._settings, calendar)
            self._dispatcher.start()

    def stop_dispatch(self) -> None:
        if self._dispatcher is not None:
            self._dispatcher.stop()
            self._dispatcher = None

    def dispatch_counts(self) -> tuple[int, int]:
        """Deliveries this process made, and attempts of it that failed, since it
        started (counters for the metrics; 0, 0 when it does not dispatch)."""
        if self._dispatcher is None:
            return 0, 0
        return self._dispatcher.delivered, self._dispatcher.failures

    def outbox_backlog(self) -> Backlog:
        """The deliveries pending, the oldest one's age in seconds (the outbox lag),
        and the deliveries that failed for good."""
        depth, age, failed = self._store.outbox.backlog()
        return Backlog(depth, age, failed)

    # -- metrics ---------------------------------------------------------------

    def metrics(self, principal: Principal | None) -> bytes:
        """Every metric in Prometheus' text format, with the findings of the alliances
        the token may audit (None: the metrics token, every alliance). Counting the
        findings of an alliance audits it: call this off the event loop."""
        self._live.refresh()
        alliances = [
            (name, revision)
            for name, revision in sorted(self._live.revisions.items())
            if principal is None or principal.may("audit", name)
        ]
        day = dt.datetime.now(dt.UTC).date()
        backlog = self.outbox_backlog()
        outbox = Figures(
            {
                "outbox_depth": ("Event deliveries pending", backlog.depth),
                "outbox_oldest_age_seconds": (
                    "Age of the oldest pending delivery (the outbox lag)",
                    backlog.oldest_age or 0.0,
                ),
                "deliveries_failed": ("Deliveries that failed for good", backlog.failed),
            }
        )
        return exposition([self._findings.collector(alliances, day), outbox])

    def _count_findings(self, alliance: str, revision: int, day: dt.date) -> Counts | None:
        try:
            view = self._live.view(alliance)
        except NotFound:
            return None
        counts = {
            (rule, severity): 0
            for rule, severity in view.bundle.policy.severities.items()
            if severity in FINDINGS_GAUGED
        }
        for finding in view.audit(day).findings:
            if finding.severity in FINDINGS_GAUGED:
                key = (finding.rule, finding.severity)
                counts[key] = counts.get(key, 0) + 1
        return counts

    # -- freshness ---------------------------------------------------------------

    def listen(self) -> None:
        """Hear other processes' writes by LISTEN/NOTIFY (PostgreSQL) instead of
        reading the generation on every request; a no-op on SQLite."""
        self._live.listen()

    def freshness(self) -> Freshness:
        """How this process learns of other processes' writes, for /health/ready."""
        listener = self._live.listener
        if listener is None:
            return Freshness("read", None, 0)
        return Freshness("notify", listener.connected, listener.reconnects)

    def migrations_current(self) -> bool:
        return self._store.migrations_current()

    # -- who is asking ---------------------------------------------------------

    def principal(self, authorization: str | None) -> Principal:
        """The holder of a bearer token (Unauthorized for none, a revoked or an unknown one)."""
        return self._live.principal(authorization)

    def authorize(self, authorization: str | None, action: Action, alliance: str) -> Principal:
        """The token's holder, once it may do `action` on `alliance` (else Unauthorized,
        Forbidden, or NotFound for an alliance it cannot see)."""
        principal = self._live.principal(authorization)
        self._live.allow(principal, action, alliance)
        return principal

    def allow(self, principal: Principal, action: Action, alliance: str) -> None:
        self._live.allow(principal, action, alliance)

    def writer(self, authorization: str | None, alliance: str, kind: str | None) -> Principal:
        """A token that may write to the alliance. A new alliance is visible only to the
        tokens that may create it: an admin, or a manager of that name."""
        principal = self._live.principal(authorization)
        if kind is not None and kind not in KINDS:
            raise NotFound(f"no kind '{kind}'; the kinds are {', '.join(KINDS)}")
        if alliance in self._live.revisions:
            self._live.allow(principal, "write", alliance)
        elif (
            not principal.may("write", alliance)
            or principal.role == "partner"
            or not _is_name(alliance)  # no Alliance document can be named so
        ):
            raise NotFound(f"no alliance '{alliance}'")
        return principal

    # -- reads -----------------------------------------------------------------

    @property
    def generation(self) -> int:
        """The registry generation this process has caught up with (every committed
        write counts one): a write through another process is heard once it is the
        store's."""
        return self._live.generation

    def refresh(self, force: bool = False) -> None:
        """Catch up with writes of other processes (raises when the database is down);
        `force`: read the database even when the listener heard nothing."""
        self._live.refresh(force)

    def visible(self, principal: Principal) -> list[tuple[str, int]]:
        """The alliances the token can see, by name, with their revisions."""
        revisions = self._live.revisions
        return [(name, rev) for name, rev in sorted(revisions.items()) if principal.sees(name)]

    def revision(self, alliance: str) -> int:
        return self._live.revisions[alliance]

    def view(self, alliance: str, revision: int | None = None) -> View:
        """The alliance compiled at `revision` (default: its current one); compiling a
        large one takes seconds, so call this off the event loop (`compiled` first, if
        it may be). NotFound for a revision it has not reached, naming the current one."""
        return self._live.view(alliance, revision)

    def compiled(self, alliance: str, revision: int | None = None) -> View | None:
        """The alliance's view at `revision` (default: current) if it is compiled
        already: microseconds, fit for the event loop."""
        return self._live.compiled(alliance, revision)

    @property
    def views(self) -> Views:
        """The cache of compiled views (its size and evictions, for operators)."""
        return self._live.views

    def check_revision(self, alliance: str, revision: int) -> None:
        """NotFound, naming the current revision, for one the alliance does not have."""
        self._live.check_revision(alliance, revision)

    def revision_at(self, alliance: str, instant: dt.datetime) -> int:
        """The revision that was current at `instant` (NotFound before the first)."""
        at = instant.astimezone(dt.UTC).isoformat(timespec="milliseconds")
        found = self._store.revision_at(alliance, at)
        if found == 0:
            raise NotFound(
                f"alliance '{alliance}' had no revision yet at {at}; its current revision is "
                f"{self._live.revisions.get(alliance, 0)}"
            )
        return found

    def documents(self, alliance: str, revision: int | None = None) -> list[StoredDocument]:
        return self._store.documents(alliance, revision)

    def snapshot(
        self, alliance: str, revision: int | None = None
    ) -> tuple[int, list[StoredDocument]]:
        """The documents at `revision`, or the current ones read in one transaction
        with the revision they are at."""
        if revision is not None:
            return revision, self._store.documents(alliance, revision)
        found = self._store.snapshot(alliance)
        if found is None:
            raise NotFound(f"no alliance '{alliance}'")
        return found

    def document(
        self, alliance: str, kind: str, name: str, revision: int | None = None
    ) -> StoredDocument:
        # A kind or name no document can have is not looked up: the database may not
        # even take it (PostgreSQL refuses a NUL in text).
        known = kind in KINDS and _is_name(name)
        found = self._store.document(alliance, kind, name, revision) if known else None
        if found is None:
            at = f" at revision {revision}" if revision else ""
            raise NotFound(f"no document {kind}/{name} in alliance '{alliance}'{at}")
        return found

    def history(self, alliance: str, after: int = 0, limit: int = 100) -> list[Entry]:
        return self._store.history(alliance, after, limit)

    def verify(self, alliance: str | None = None) -> dict[str, list[str]]:
        """Each alliance's change-log problems (empty when intact)."""
        return self._store.verify(alliance)

    def verify_tokens(self) -> list[str]:
        """The token log's problems, and each token row's that is not as it records."""
        return self._store.verify_tokens()

    def prove(self, anchors: Sequence[Checkpoint], verifier: Verifier) -> list[Proof]:
        """Each chain a checkpoint names, held to it (CheckpointError for a checkpoint
        that names no chain of a registry)."""
        return [self._store.prove(anchor, verifier) for anchor in anchors]

    def checkpoint(self, alliance: str | None) -> str:
        """The signed checkpoint of the alliance's current revision (of the token log's,
        for None), as served and saved; NoCheckpoint says why there is none."""
        found = self._store.checkpoint(alliance)
        if found is None:
            raise NotFound(f"no alliance '{alliance}'")
        revision, latest = found
        what = "the token log" if alliance is None else f"'{alliance}'"
        signer = self._store.signer
        if latest is not None and latest.size == revision:
            try:
                if signer is not None:
                    signer.verifier.open(latest.note)
                return latest.note
            except CheckpointError:
                reason = f"the one of revision {revision} is not signed by this server's key"
        elif signer is None:
            reason = (
                "this server signs none: it has no signing key (REGISTRY_SIGNING_KEY_FILE "
                "or REGISTRY_SIGNING_KEY)"
            )
        elif revision == 0:
            reason = "it has no entries yet"
        else:
            reason = (
                f"revision {revision} was written while the server had no signing key, and has none"
            )
        raise NoCheckpoint(f"no checkpoint of {what}: {reason}")

    # -- the decision log ---------------------------------------------------------

    def record(self, decisions: Sequence[Decision]) -> None:
        """Buffer answers for the decision log (waits while its buffer is full: off the
        event loop, or after `recording_full` said no)."""
        if self.recorder is not None and decisions:
            self.recorder.record(decisions)

    @property
    def recording_full(self) -> bool:
        return self.recorder is not None and self.recorder.full

    def decisions(
        self,
        principal: Principal,
        alliance: str,
        filters: Filters,
        under: str | None = None,
        limit: int = 100,
    ) -> tuple[list[DecisionOut], str | None]:
        """A page of the alliance's decisions, latest first, and the cursor of the next
        page (None: no more). A partner token sees those that name its partner.
        `under` (DIMENSION:NODE) keeps the decisions whose query names that node or
        one below it. Off the event loop."""
        self._live.allow(principal, "decisions", alliance)
        filters = self._partner_scope(principal, filters)
        inside = None if under is None else self._under(alliance, under)
        found: list[Stored] = []
        scanned, cursor, exhausted = 0, filters.before, False
        while len(found) <= limit and scanned < MAX_SCANNED:
            chunk = limit + 1 if inside is None else SCAN_CHUNK
            rows = self._store.decisions.page(alliance, replace(filters, before=cursor), chunk)
            scanned += len(rows)
            if rows:
                cursor = rows[-1].id
            found += rows if inside is None else [r for r in rows if _falls_under(r, inside)]
            if len(rows) < chunk:
                exhausted = True
                break
        page = found[:limit]
        if len(found) > limit:
            following: str | None = page[-1].id
        else:  # all read, or the scan stopped early: go on from where it stopped
            following = None if exhausted else cursor
        return [shown(row) for row in page], following

    def decision(self, principal: Principal, alliance: str, decision_id: str) -> Stored:
        self._live.allow(principal, "decisions", alliance)
        found = self._store.decisions.get(alliance, decision_id) if _is_uuid(decision_id) else None
        if found is None or (
            principal.role == "partner" and f",{principal.partner}," not in found.partners
        ):
            raise NotFound(f"no decision {decision_id} in alliance '{alliance}'")
        return found

    def replay(self, principal: Principal, alliance: str, decision_id: str) -> Replay:
        """The decision answered again at its revision and day (off the event loop)."""
        return self.replay_all([self.decision(principal, alliance, decision_id)])[0]

    def replay_recorded(self, decision_id: str) -> Replay:
        """Any alliance's decision answered again (the command line's, with database
        access; no token)."""
        found = self._store.decisions.get(None, decision_id) if _is_uuid(decision_id) else None
        if found is None:
            raise NotFound(f"no decision {decision_id} in the registry")
        return self.replay_all([found])[0]

    def replay_all(self, stored: Sequence[Stored]) -> list[Replay]:
        """Each decision answered again; each revision is compiled once."""
        self._live.refresh()
        views: dict[tuple[str, int], View] = {}
        out = []
        for decision in stored:
            key = (decision.alliance, decision.revision)
            if key not in views:
                views[key] = self._live.view(*key)
            query = msgspec.json.decode(decision.query, type=dict[str, str])
            answer = views[key].index.owner(query, dt.date.fromisoformat(decision.day))
            out.append(replayed(decision, answer))
        return out

    def prune_decisions(
        self, retention: dt.timedelta, now: dt.datetime | None = None
    ) -> dict[str, int]:
        """Remove decisions older than `retention`, and note it in each alliance's change
        log (an entry writing no document): pruned decisions are gone from evidence."""
        cutoff = (now or dt.datetime.now(dt.UTC)) - retention
        removed = self._store.decisions.prune(cutoff)
        when = cutoff.astimezone(dt.UTC).isoformat(timespec="seconds")
        for alliance, count in sorted(removed.items()):
            if alliance not in self._store.alliances():
                continue
            with self._store.writing(alliance) as draft:
                draft.commit([], "decision retention", f"prune-decisions {count} before {when}")
        if removed:
            self._live.refresh()
        return removed

    def evidence(
        self,
        principal: Principal,
        alliance: str,
        revision: int | None,
        as_of: dt.date,
        span: tuple[str, str] | None = None,
    ) -> bytes:
        """The evidence file of the alliance at `revision` (default: the current one),
        its audit as of `as_of`, with the decisions answered in `span` (off the loop)."""
        self._live.allow(principal, "audit", alliance)
        self._live.allow(principal, "history", alliance)
        if span is not None:
            self._live.allow(principal, "decisions", alliance)
        current = self._live.revisions[alliance]
        return evidence.build(
            self._store, self._live, alliance, revision or current, as_of=as_of, span=span
        )

    def _partner_scope(self, principal: Principal, filters: Filters) -> Filters:
        if principal.role != "partner":
            return filters
        if filters.partner not in (None, principal.partner):
            raise Forbidden(
                f"a partner token sees only the decisions that name its partner "
                f"'{principal.partner}'"
            )
        return replace(filters, partner=principal.partner)

    def _under(self, alliance: str, under: str) -> Under:
        dimension, _, node = under.partition(":")
        space = self._live.view(alliance).bundle.space
        if dimension not in space.by_name or not node:
            raise InvalidQuery(
                QUERY_REFUSED,
                [
                    LocatedError(
                        "$.query.under",
                        f"'{under}' is not DIMENSION:NODE of a dimension of the alliance "
                        f"({choices(space.names)})",
                    )
                ],
            )
        found = space.dimensions[space.by_name[dimension]].nodes.get(node)
        if found is None:
            raise InvalidQuery(
                QUERY_REFUSED,
                [LocatedError("$.query.under", f"dimension '{dimension}' has no node '{node}'")],
            )
        return dimension, space.dimensions[space.by_name[dimension]].nodes, found.lo, found.hi

    # -- writes ----------------------------------------------------------------

    def write(self, principal: Principal, request: Request, action: str) -> Outcome:
        """Check, plan and (unless refused or a dry run) commit one write by a token."""
        outcome = write(
            self._store,
            request,
            principal.actor,
            action,
            lambda kind, name: principal.may_write(request.alliance, kind, name),
        )
        if outcome.applied:  # read now: the notification of it may not be heard yet
            self._live.refresh(force=True)
            if self._dispatcher is not None:
                self._dispatcher.wake()
        return outcome

    def seed(self, paths: Sequence[str | Path], actor: str) -> dict[str, int]:
        """Write every alliance found in `paths` through the normal write path, forced:
        the caller trusts them (the examples), and an example contract that has ended
        by the day it runs must not keep them out."""
        result = load(paths)
        if not result.ok:
            raise InvalidDocuments("the documents do not load", result.errors, result.files)
        revisions = {}
        for name, bundle in sorted(result.bundles.items()):
            documents = [to_builtins(d) for d in bundle.documents()]
            text = msgspec.json.encode(documents).decode()
            asked = Request(name, [(f"{name}.json", text)], force=True)
            revisions[name] = write(self._store, asked, actor, "apply").revision
        self._live.refresh(force=True)
        return revisions

    # -- tokens ----------------------------------------------------------------

    def create_token(
        self,
        role: Role,
        alliance: str | None,
        partner: str | None,
        name: str | None,
        *,
        new_alliance: bool = False,
    ) -> tuple[int, str]:
        """A new token's id and secret (the secret is stored only as its digest).
        Its alliance and partner must be in the registry: a token for a mistyped
        name would work for nothing. `new_alliance` lets a manager token name an
        alliance not there yet, which the manager creates by writing its Alliance."""
        problem = scope_problem(role, alliance, partner)
        if problem is None and new_alliance and role != "manager":
            problem = "--new-alliance is only for manager tokens"
        if problem is not None:
            raise InvalidRequest(problem)
        if alliance is not None:
            self._check_scope(alliance, partner, new_alliance)
        return self._store.create_token(role, alliance, partner, name)

    def _check_scope(self, alliance: str, partner: str | None, new_alliance: bool) -> None:
        known = sorted(self._store.alliances())
        if alliance not in known:
            if new_alliance:
                return
            listed = f"the alliances are {choices(known)}" if known else "it holds none yet"
            raise NotFound(
                f"no alliance '{alliance}' in the registry{suggest(alliance, known)}; {listed}"
                " (a manager token for an alliance still to be written: --new-alliance)"
            )
        if partner is not None and self._store.document(alliance, "Partner", partner) is None:
            partners = sorted(
                d.name for d in self._store.documents(alliance) if d.kind == "Partner"
            )
            raise NotFound(
                f"no partner '{partner}' in alliance '{alliance}'{suggest(partner, partners)}; "
                f"its partners are {choices(partners) or 'none'}"
            )

    def revoke_token(self, token_id: int) -> None:
        if not self._store.revoke_token(token_id):
            raise NotFound(f"no token {token_id} in force")

    def tokens(self) -> list[TokenRow]:
        return self._store.tokens()


# A decision list filtered by node reads the log in chunks and keeps what falls under
# it; one page reads at most MAX_SCANNED decisions, then hands back a cursor.
SCAN_CHUNK = 500
MAX_SCANNED = 20_000
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def _is_uuid(text: str) -> bool:
    return _UUID.match(text) is not None


# A node filter: the dimension, its nodes (at the current revision), the node's span.
Under = tuple[str, Mapping[str, Node], int, int]


def _falls_under(decision: Stored, inside: Under) -> bool:
    dimension, nodes, lo, hi = inside
    name = msgspec.json.decode(decision.query, type=dict[str, str]).get(dimension)
    node = None if name is None else nodes.get(name)
    return node is not None and lo <= node.lo and node.hi <= hi


def _is_name(name: str) -> bool:
    """Whether a document (or an alliance) may have this name, as the schema says."""
    return re.search(SLUG_PATTERN, name) is not None
