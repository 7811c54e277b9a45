"""What one server process knows of the registry, kept current on every request.

Each request first reads the registry generation (one tiny query on a kept
connection), unless the process listens for writes (`listen`: PostgreSQL's
LISTEN/NOTIFY, registry/store/notify.py) and has heard none since its last read.
When another process or worker has written since, the tokens and
revisions are read again, and an alliance's compiled view is rebuilt the first
time it is asked for at a newer revision. A read serves every request that had
arrived before it began: requests that reach the server together (`registry serve`
stamps each one's arrival, `ARRIVED`, as its head is parsed) share the first one's
read. So a worker reading never answers from a revision older than the last write
committed before the request arrived, and a listening one
answers the write within milliseconds of its commit (a client that must read its own
write sends minRevision); between writes a request costs one indexed read at most,
not a load.

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

import contextvars
import datetime as dt
import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field

from sqlalchemy.exc import OperationalError

from registry.access import Action, Principal, digest
from registry.bundle import Bundle
from registry.engine import paused_gc
from registry.errors import Forbidden, NotFound, Unauthorized
from registry.findings import Report
from registry.load import LoadResult, bundle_documents, read_stored
from registry.model import AnyDocument
from registry.resolve import OwnerIndex
from registry.rules import audit
from registry.service.metrics import compiling, counter, gauge
from registry.store import DatabaseError, Listener, Store, StoredDocument
from registry.store.database import RETRY_AFTER_SECONDS

log = logging.getLogger("registry.live")

VIEW_BYTES = gauge(
    "view_cache_bytes", "Estimated bytes of the compiled views kept (REGISTRY_VIEW_MEMORY)",
    mode="livesum",
)  # fmt: skip
VIEWS_KEPT = gauge("view_cache_views", "Compiled views kept", mode="livesum")
VIEW_EVICTIONS = counter("view_evictions", "Compiled views evicted, least recently used first")

# The holders of recent Authorization headers, kept to spare a SHA-256 per request:
# at most this many bytes of headers. Only the plain form `Bearer <token>` of a short
# header is kept, so variants of one token (padded with spaces, up to the server's
# header limit) are answered through the token's digest and never fill the cache.
MAX_HOLDER_BYTES = 1024 * 1024
MAX_HOLDER_HEADER = 256
MAX_HOLDERS = MAX_HOLDER_BYTES // MAX_HOLDER_HEADER
# How long a process starting to listen waits for its listener to connect.
LISTEN_WAIT_SECONDS = 3.0
# How long stopping waits for the compiles the listener started (a large alliance's
# takes about a second).
WARM_STOP_SECONDS = 30.0

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
    # Each document's ETag (Kind/name -> ETag): the next revision's build takes the
    # documents unchanged since from this view instead of decoding them again.
    etags: dict[str, str] = field(default_factory=dict, repr=False)
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

    def nearest(self, alliance: str, revision: int) -> View | None:
        """The cached view of the alliance nearest to `revision` (it likely shares most
        documents with it), not counted as a use."""
        with self._lock:
            found = [view for (name, _), view in self._views.items() if name == alliance]
        return min(found, key=lambda view: abs(view.revision - revision), default=None)

    def holds(self, alliance: str, revision: int) -> bool:
        """Whether that view is cached (without counting it as used)."""
        return (alliance, revision) in self._views

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
                VIEW_EVICTIONS.inc()
            VIEW_BYTES.set(self.bytes)
            VIEWS_KEPT.set(len(self._views))


# When the request being answered arrived (time.monotonic(), set by the HTTP edge from
# the ASGI scope's ARRIVAL_KEY, which registry/connections.py stamps); None outside a
# request, or from a server that does not stamp it: then every refresh reads.
ARRIVED: contextvars.ContextVar[float | None] = contextvars.ContextVar("arrived", default=None)
ARRIVAL_KEY = "registry.arrived"


class Live:
    def __init__(self, store: Store, view_memory: int = DEFAULT_VIEW_MEMORY) -> None:
        self.store = store
        self.generation = -1
        self._read_at = -1.0  # when the last generation read that succeeded began
        # The tokens in force, by digest, and the holders of recent Authorization
        # headers (header -> its holder, sparing a SHA-256 per request; bounded:
        # MAX_HOLDER_BYTES), swapped as one: a request that looked a token up in the
        # tokens of before a refresh caches it among those of before, never among the
        # new ones (the listener's thread refreshes while requests run).
        self._tokens: tuple[dict[str, Principal], dict[str, Principal]] = ({}, {})
        self.revisions: dict[str, int] = {}
        self.views = Views(view_memory)
        self._lock = threading.Lock()  # swapping tokens and revisions; no build holds it
        self._builds: dict[tuple[str, int], threading.Lock] = {}  # one per view being built
        self.listener: Listener | None = None
        self._heard = 0  # the listener's count of changes when last read
        # Threads compiling what the listener heard changed: stopping waits for them,
        # so none reads a store closed under it (its pooled connection would be left
        # open, to a pool the close had dropped).
        self._warmers: list[threading.Thread] = []

    def listen(self) -> None:
        """Hear writes by LISTEN/NOTIFY instead of reading the generation on every
        request (PostgreSQL; on SQLite the read stays, it costs microseconds). The
        listener's thread reads as soon as it hears one, so requests seldom do."""
        if self.listener is None:
            self.listener = self.store.listen(self._heard_change)
            if self.listener is not None:  # ready once it listens, if the database is up
                self.listener.wait_connected(LISTEN_WAIT_SECONDS)

    def stop_listening(self, timeout: float = WARM_STOP_SECONDS) -> None:
        """Stop the listener, then wait (up to `timeout` seconds) for the compiles it
        started."""
        if self.listener is not None:
            self.listener.stop()  # its thread has stopped: no warmer starts after this
            self.listener = None
        deadline = time.monotonic() + timeout
        for warmer in self._warmers:
            warmer.join(max(0.0, deadline - time.monotonic()))
        self._warmers = [w for w in self._warmers if w.is_alive()]

    def _heard_change(self) -> None:
        """In the listener's thread: read what changed, and start compiling the new
        revision of each alliance this process had compiled, so that the first
        request after a write finds it built, or under way, rather than starting it."""
        before = self.revisions
        self.refresh()
        changed = [
            name
            for name, revision in self.revisions.items()
            if before.get(name) not in (None, revision) and self.views.holds(name, before[name])
        ]
        if changed:
            self._warmers = [w for w in self._warmers if w.is_alive()]
            warmer = threading.Thread(
                target=self._warm, args=(changed,), name="registry-warm", daemon=True
            )
            self._warmers.append(warmer)
            warmer.start()

    def _warm(self, alliances: list[str]) -> None:
        for alliance in alliances:
            try:
                self.view(alliance)
            except Exception as exc:  # the request that asks for it will say it
                logging.getLogger("registry.service").debug("warming %s: %s", alliance, exc)

    def refresh(self, force: bool = False, arrived: float | None = None) -> None:
        """Catch up with the writes committed anywhere. With the listener connected
        and nothing heard since the last read there is nothing to read; without it
        (SQLite, not listening, the connection dropped) one tiny read, unless one
        began after `arrived` (the request's arrival) already."""
        listener = self.listener
        heard = 0
        if listener is not None:
            heard = listener.changes
            if listener.connected and heard == self._heard and not force:
                return
        if arrived is not None and arrived < self._read_at and not force:
            return  # that read saw every write committed before this request arrived
        began = time.monotonic()
        generation = self.store.generation()  # DatabaseError (503) when unreachable
        if generation != self.generation:
            with self._lock:
                try:
                    principals = self.store.principals()
                    revisions = self.store.alliances()
                except OperationalError as exc:  # gone between the two reads
                    raise DatabaseError(
                        "the database is unreachable", retry_after=RETRY_AFTER_SECONDS
                    ) from exc
                self._tokens = (principals, {})
                self.revisions = revisions
                self.generation = generation
        self._heard = heard
        self._read_at = max(self._read_at, began)

    def principal(self, authorization: str | None) -> Principal:
        """The holder of the request's bearer token; 401 for none, a revoked or an
        unknown one (the three are not told apart)."""
        self.refresh(arrived=ARRIVED.get())
        principals, holders = self._tokens
        header = authorization or ""
        found = holders.get(header)
        if found is None:
            scheme, _, secret = header.partition(" ")
            token = secret.strip()
            if scheme.lower() == "bearer" and token:
                found = principals.get(digest(token))
            plain = token == secret and len(header) <= MAX_HOLDER_HEADER
            if found is not None and plain and len(holders) < MAX_HOLDERS:
                holders[header] = found
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
        """The alliance compiled at `revision`, from the cached view of the nearest
        revision where there is one (its unchanged documents are kept)."""
        if current:  # the revision and its documents in one read: it may have moved on
            snapshot = self.store.snapshot(alliance)
            if snapshot is None:
                raise NotFound(f"no alliance '{alliance}'")
            revision, documents = snapshot
        else:
            documents = self.store.documents(alliance, revision)
        before = self.views.nearest(alliance, revision)
        trusted = all(d.intact for d in documents)
        with paused_gc, compiling("trusted" if trusted else "checked"):
            bundle = compile_stored(alliance, documents, before, revision=revision, trusted=trusted)
            size = VIEW_FIXED_BYTES + VIEW_BYTES_PER_STORED_BYTE * sum(
                len(d.body) for d in documents
            )
            etags = {d.ref: d.etag for d in documents}
            return View(revision, bundle, OwnerIndex(bundle, revision), size, etags)


def compile_stored(
    alliance: str,
    documents: list[StoredDocument],
    before: View | None = None,
    *,
    revision: int | None = None,
    trusted: bool | None = None,
) -> Bundle:
    """The alliance's bundle from its stored documents (of `revision`, for the error
    message). Documents as the write path stored them (`StoredDocument.intact`, every
    one) are trusted: decoded straight into their Structs, their references not
    checked again, and those unchanged since `before` (the same ETag) taken from it as
    they are. Any other document (a database edited by hand, a version another model
    wrote) has the whole alliance checked."""
    if trusted is None:
        trusted = all(d.intact for d in documents)
    kept: dict[str, AnyDocument] = {}
    if not trusted:
        log.warning("the stored documents of '%s' are checked again: not all intact", alliance)
    elif before is not None:
        known = {d.ref: d for d in before.bundle.documents()}
        kept = {
            d.ref: known[d.ref]
            for d in documents
            if d.ref in known and before.etags.get(d.ref) == d.etag
        }
    result = LoadResult()
    texts = ((f"{d.ref}.json", kept.get(d.ref, d.body)) for d in documents)
    stored = read_stored(texts, result, trusted=trusted)
    earlier = {alliance: before.bundle} if trusted and before is not None else None
    bundle = bundle_documents(stored, result, trusted=trusted, earlier=earlier).bundles.get(
        alliance
    )
    if bundle is None:  # only a database edited by hand could leave this
        at = "" if revision is None else f" at revision {revision}"
        raise RuntimeError(
            f"the stored documents of '{alliance}'{at} do not load: {result.errors[:3]}"
        )
    return bundle


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
    "subscribe": "manage event subscriptions",
}
