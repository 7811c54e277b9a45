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
(alliance, revision) is built under a lock of its own, so a large one compiling holds
up no other; the tokens and revisions are swapped under another, which no build holds.

Any stored revision can be compiled, not only the current one (questions about what
the registry said then). Every compiled view, current or old, lives in one cache,
`Views`, bounded by an estimate of its memory (REGISTRY_VIEW_MEMORY): the least
recently used go first, so a server holding a thousand alliances keeps those asked
about and compiles the others again when asked.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
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

# A compiled view takes about this many bytes of memory per byte of its stored JSON
# documents, plus a fixed part (tracemalloc of the synthetic alliances: 17x for the
# small one, 11x medium, 10.5x large; the fixed part covers the small ones' excess).
VIEW_BYTES_PER_STORED_BYTE = 11
VIEW_FIXED_BYTES = 128 * 1024
DEFAULT_VIEW_MEMORY = 1024**3


@dataclass
class View:
    """One alliance at one revision, compiled for owner queries and audits."""

    revision: int
    bundle: Bundle
    index: OwnerIndex
    # The estimated bytes this view holds (VIEW_BYTES_PER_STORED_BYTE), the audits
    # it keeps aside: what `Views` counts against its bound.
    size: int = VIEW_FIXED_BYTES
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


class Views:
    """Compiled views by (alliance, revision), least recently used evicted once their
    estimated sizes pass `bound` bytes. The view used last is always kept, even alone
    over the bound: evicting it would compile it again on the next question."""

    def __init__(self, bound: int = DEFAULT_VIEW_MEMORY) -> None:
        self.bound = bound
        self.bytes = 0
        self.evictions = 0
        self._views: OrderedDict[tuple[str, int], View] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._views)

    def get(self, alliance: str, revision: int) -> View | None:
        with self._lock:
            view = self._views.get((alliance, revision))
            if view is not None:
                self._views.move_to_end((alliance, revision))
            return view

    def put(self, view: View, alliance: str) -> None:
        key = (alliance, view.revision)
        with self._lock:
            old = self._views.pop(key, None)
            if old is not None:
                self.bytes -= old.size
            self._views[key] = view
            self.bytes += view.size
            while self.bytes > self.bound and len(self._views) > 1:
                _, evicted = self._views.popitem(last=False)
                self.bytes -= evicted.size
                self.evictions += 1


class Live:
    def __init__(self, store: Store, view_memory: int = DEFAULT_VIEW_MEMORY) -> None:
        self.store = store
        self.generation = -1
        self.principals: dict[str, Principal] = {}
        self.revisions: dict[str, int] = {}
        self.views = Views(view_memory)
        # Authorization header -> its holder, for this generation: the SHA-256 of a
        # token need not be taken again on every request (bounded: MAX_HOLDER_BYTES).
        self._holders: dict[str, Principal] = {}
        self._lock = threading.Lock()  # swapping tokens and revisions; no build holds it
        self._builds: dict[tuple[str, int], threading.Lock] = {}  # one per view being built

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

    def compiled(self, alliance: str, revision: int | None = None) -> View | None:
        """The alliance's view at `revision` (default: the current one) if it is
        compiled already."""
        wanted = self.revisions.get(alliance) if revision is None else revision
        return None if wanted is None else self.views.get(alliance, wanted)

    def view(self, alliance: str, revision: int | None = None) -> View:
        """The alliance compiled at `revision` (default: its current one), built now if
        it is not cached: call it off the event loop. NotFound for a revision the
        alliance has not reached, naming its current one."""
        view = self.compiled(alliance, revision)
        if view is not None:
            return view
        current = self.revisions.get(alliance)
        if current is None:
            raise NotFound(f"no alliance '{alliance}'")
        wanted = current if revision is None else revision
        if not 1 <= wanted <= current:
            raise NotFound(
                f"no revision {wanted} of alliance '{alliance}': its current revision is {current}"
            )
        key = (alliance, wanted)
        with self._lock:
            building = self._builds.setdefault(key, threading.Lock())
        try:
            with building:
                view = self.views.get(alliance, wanted)
                if view is None:
                    view = self._build(alliance, wanted, current=revision is None)
                    self.views.put(view, alliance)
        finally:
            with self._lock:
                self._builds.pop(key, None)
        return view

    def check_revision(self, alliance: str, revision: int) -> None:
        """NotFound, naming the current revision, for one the alliance does not have."""
        current = self.revisions.get(alliance, 0)
        if not 1 <= revision <= current:
            raise NotFound(
                f"no revision {revision} of alliance '{alliance}': its current revision is "
                f"{current}"
            )

    def _build(self, alliance: str, revision: int, *, current: bool) -> View:
        if current:  # the revision and its documents in one read: it may have moved on
            snapshot = self.store.snapshot(alliance)
            if snapshot is None:
                raise NotFound(f"no alliance '{alliance}'")
            revision, documents = snapshot
        else:
            documents = self.store.documents(alliance, revision)
        bundle = load_documents(alliance, revision, [(f"{d.ref}.json", d.body) for d in documents])
        size = VIEW_FIXED_BYTES + VIEW_BYTES_PER_STORED_BYTE * sum(len(d.body) for d in documents)
        return View(revision, bundle, OwnerIndex(bundle, revision), size)


def load_documents(alliance: str, revision: int, files: list[tuple[str, str]]) -> Bundle:
    """The alliance's bundle from stored JSON bodies (name, text), as they were at
    `revision` (the evidence verifier loads a file's documents the same way)."""
    result = LoadResult()
    stored = read_stored(iter(files), result)
    bundle = bundle_documents(stored, result).bundles.get(alliance)
    if bundle is None:  # only a database edited by hand could leave this
        raise RuntimeError(
            f"the stored documents of '{alliance}' at revision {revision} do not load: "
            f"{result.errors[:3]}"
        )
    return bundle


_VERBS: dict[Action, str] = {
    "read": "read documents",
    "resolve": "ask owner queries",
    "audit": "run audits",
    "history": "read the change log",
    "decisions": "read the decision log",
    "write": "write documents",
    "force": "force a write that adds error findings",
}
