"""What one server process knows of the registry, kept current on every request.

Each request first reads the registry generation (one tiny query on a kept
connection). When another process or worker has written since, the tokens and
revisions are read again, and an alliance's compiled view is rebuilt the first
time it is asked for at a newer revision. So no worker ever answers from a
revision older than the last committed write, and between writes a request costs
one indexed read, not a load.

Compiling an alliance and auditing it take up to seconds for a large one: the
doors run `view` and `View.audit` in worker threads, and ask `compiled` first, which
answers at once when the view is built already (the owner query's hot path). Each
alliance is built under a lock of its own, so a large one compiling holds up no
other; the tokens and revisions are swapped under another, which no build holds.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, field

from registry.access import Action, Principal, digest
from registry.bundle import Bundle
from registry.errors import Forbidden, NotFound, Unauthorized
from registry.findings import Report
from registry.load import LoadResult, bundle_documents, read_stored
from registry.resolve import OwnerIndex
from registry.rules import audit
from registry.store import Store

# The holders of recent Authorization headers, kept to spare a SHA-256 per request:
# at most this many bytes of headers. Only the plain form `Bearer <token>` of a short
# header is kept, so variants of one token (padded with spaces, up to the server's
# header limit) are answered through the token's digest and never fill the cache.
MAX_HOLDER_BYTES = 1024 * 1024
MAX_HOLDER_HEADER = 256
MAX_HOLDERS = MAX_HOLDER_BYTES // MAX_HOLDER_HEADER


@dataclass
class View:
    """One alliance at one revision, compiled for owner queries and audits."""

    revision: int
    bundle: Bundle
    index: OwnerIndex
    audits: dict[dt.date, Report] = field(default_factory=dict)
    # One audit of a day at a time: threads asking for the same day wait for it.
    _auditing: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def audit(self, as_of: dt.date) -> Report:
        report = self.audits.get(as_of)
        if report is None:
            with self._auditing:
                report = self.audits.get(as_of)
                if report is None:
                    if len(self.audits) > 16:
                        self.audits.clear()
                    report = self.audits[as_of] = audit(self.bundle, as_of, self.revision)
        return report


class Live:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.generation = -1
        self.principals: dict[str, Principal] = {}
        self.revisions: dict[str, int] = {}
        self._views: dict[str, View] = {}
        # Authorization header -> its holder, for this generation: the SHA-256 of a
        # token need not be taken again on every request (bounded: MAX_HOLDER_BYTES).
        self._holders: dict[str, Principal] = {}
        self._lock = threading.Lock()  # swapping tokens and revisions; no build holds it
        self._builds: dict[str, threading.Lock] = {}  # one per alliance

    def refresh(self) -> None:
        generation = self.store.generation()
        if generation != self.generation:
            with self._lock:
                self.principals = self.store.principals()
                self.revisions = self.store.alliances()
                self._holders = {}
                self.generation = generation

    def principal(self, authorization: str | None) -> Principal:
        """The holder of the request's bearer token; 401 for none, a revoked or an
        unknown one (the three are not told apart)."""
        self.refresh()
        header = authorization or ""
        found = self._holders.get(header)
        if found is None:
            scheme, _, secret = header.partition(" ")
            token = secret.strip()
            if scheme.lower() == "bearer" and token:
                found = self.principals.get(digest(token))
            plain = token == secret and len(header) <= MAX_HOLDER_HEADER
            if found is not None and plain and len(self._holders) < MAX_HOLDERS:
                self._holders[header] = found
        if found is None:
            raise Unauthorized(
                "a valid bearer token is required: send 'Authorization: Bearer <token>' "
                "with a token from `registry token create`"
            )
        return found

    def allow(self, principal: Principal, action: Action, alliance: str) -> None:
        """404 for an alliance the token cannot see, as for one that does not exist;
        403 for an action its role does not grant."""
        if not principal.sees(alliance) or alliance not in self.revisions:
            raise NotFound(f"no alliance '{alliance}'")
        if not principal.may(action, alliance):
            article = "an" if principal.role[0] in "aeiou" else "a"
            raise Forbidden(f"{article} {principal.role} token may not {_VERBS[action]}")

    def compiled(self, alliance: str) -> View | None:
        """The alliance's view if it is compiled at its current revision already."""
        view = self._views.get(alliance)
        if view is not None and view.revision == self.revisions.get(alliance):
            return view
        return None

    def view(self, alliance: str) -> View:
        """The alliance compiled at its current revision (built now if it is not:
        call it off the event loop)."""
        view = self.compiled(alliance)
        if view is not None:
            return view
        with self._lock:
            building = self._builds.setdefault(alliance, threading.Lock())
        with building:
            view = self.compiled(alliance)
            if view is None:
                view = self._views[alliance] = self._build(alliance)
        return view

    def _build(self, alliance: str) -> View:
        snapshot = self.store.snapshot(alliance)
        if snapshot is None:
            raise NotFound(f"no alliance '{alliance}'")
        revision, documents = snapshot
        result = LoadResult()
        stored = read_stored(((f"{d.ref}.json", d.body) for d in documents), result)
        bundle = bundle_documents(stored, result).bundles.get(alliance)
        if bundle is None:  # only a database edited by hand could leave this
            raise RuntimeError(
                f"the stored documents of '{alliance}' do not load: {result.errors[:3]}"
            )
        return View(revision, bundle, OwnerIndex(bundle, revision))


_VERBS: dict[Action, str] = {
    "read": "read documents",
    "resolve": "ask owner queries",
    "audit": "run audits",
    "history": "read the change log",
    "write": "write documents",
    "force": "force a write that adds error findings",
}
