"""An embedded resolver: owner answers in the complaint system's own process.

`Resolver` downloads an alliance's snapshot (GET /v1/alliances/{a}/snapshot, any
token that may ask owner queries), compiles it with the core exactly as the server
compiles its stored documents (`registry.load`, `registry.resolve.OwnerIndex`), and
answers `owner` from memory in microseconds, with no request. It stays current in
either or both of two ways:

- events: a webhook receiver that has verified an `alliance.revision` delivery
  hands the event to `heard`, which fetches the new snapshot, asking the server to
  wait until it has that revision itself (`minRevision`): behind a load balancer
  the replica asked may not have heard of the write yet;
- polling: `start(every=seconds)` runs a thread that asks for the snapshot with
  If-None-Match, so while nothing changed each poll is a 304 with no body.

The index and its revision are swapped together in one assignment: an answer comes
from one revision, never half of two. A refresh that fails (server down, network
gone) keeps the index it has and says so in `last_error`; the polling thread tries
again at its next turn.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import httpx
import msgspec

from registry.load import LoadResult, bundle_documents, read_stored
from registry.resolve import Answer, OwnerIndex
from registry.wire import Snapshot

log = logging.getLogger("registry.client")

REVISION_EVENT = "alliance.revision"


class ResolverError(Exception):
    """The server refused the snapshot, or sent one that does not compile."""


@dataclass(frozen=True)
class _Compiled:
    revision: int
    tag: str | None
    index: OwnerIndex


class Resolver:
    def __init__(
        self,
        base_url: str,
        alliance: str,
        token: str,
        *,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.alliance = alliance
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
            transport=transport,
        )
        self._compiled: _Compiled | None = None
        self._refreshing = threading.Lock()
        self._stopping = threading.Event()
        self._poller: threading.Thread | None = None
        self.last_error: str | None = None
        self.fetches = 0  # snapshots downloaded and compiled (304s not counted)

    # -- answers ---------------------------------------------------------------

    @property
    def revision(self) -> int:
        """The revision answers come from (0 before the first snapshot)."""
        return self._compiled.revision if self._compiled is not None else 0

    def owner(self, where: Mapping[str, str], at: dt.date | None = None) -> Answer:
        """Who owns the complaint (what GET .../owner answers for the same query at
        the same revision); InvalidQuery for a query the alliance cannot answer."""
        compiled = self._compiled
        if compiled is None:
            compiled = self._fetch(None)
        return compiled.index.owner(dict(where), at or dt.datetime.now(dt.UTC).date())

    # -- staying current ---------------------------------------------------------

    def refresh(self, min_revision: int | None = None) -> bool:
        """Ask for the snapshot (If-None-Match with the one held); True when a newer
        one was compiled, False on 304."""
        before = self._compiled
        after = self._fetch(min_revision)
        return before is None or after.revision != before.revision

    def heard(self, event: Mapping[str, Any]) -> bool:
        """Take a webhook event (its decoded JSON body, signature already verified):
        an `alliance.revision` of this alliance newer than the index refreshes it,
        waiting for the server to have that revision. True when it refreshed."""
        if event.get("type") != REVISION_EVENT or event.get("alliance") != self.alliance:
            return False
        revision = event.get("revision")
        if not isinstance(revision, int) or revision <= self.revision:
            return False
        return self.refresh(min_revision=revision)

    def start(self, every: float) -> Resolver:
        """Poll the snapshot every `every` seconds in a daemon thread (after fetching
        it once now, so answers can start at once)."""
        if self._poller is not None:
            raise RuntimeError("the resolver is polling already")
        if self._compiled is None:
            self._fetch(None)
        self._stopping.clear()
        self._poller = threading.Thread(
            target=self._poll, args=(every,), name="registry-resolver", daemon=True
        )
        self._poller.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._poller is not None:
            self._poller.join(timeout=self._http.timeout.read or 30.0)
            self._poller = None

    def close(self) -> None:
        self.stop()
        self._http.close()

    def __enter__(self) -> Resolver:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def _poll(self, every: float) -> None:
        while not self._stopping.wait(every):
            try:
                self._fetch(None)
            except (httpx.HTTPError, ResolverError) as exc:
                self.last_error = str(exc)
                log.warning("resolver: keeping revision %s: %s", self.revision, exc)

    def _fetch(self, min_revision: int | None) -> _Compiled:
        """One conditional GET of the snapshot, compiled when it is new; one at a
        time, so a poll and an event do not compile the same revision twice."""
        with self._refreshing:
            held = self._compiled
            if held is not None and min_revision is not None and held.revision >= min_revision:
                return held
            headers = {"If-None-Match": held.tag} if held is not None and held.tag else {}
            params = {"minRevision": str(min_revision)} if min_revision is not None else {}
            response = self._http.get(
                f"/v1/alliances/{self.alliance}/snapshot", headers=headers, params=params
            )
            if response.status_code == 304 and held is not None:
                self.last_error = None
                return held
            if response.status_code != 200:
                raise ResolverError(
                    f"GET snapshot of '{self.alliance}' answered {response.status_code}: "
                    f"{_detail(response)}"
                )
            compiled = _compile(self.alliance, response.content, response.headers.get("etag"))
            if held is None or compiled.revision >= held.revision:
                self._compiled = compiled
            self.fetches += 1
            self.last_error = None
            return self._compiled or compiled


def _compile(alliance: str, body: bytes, tag: str | None) -> _Compiled:
    """The snapshot's documents compiled as the server compiles its stored ones."""
    try:
        snapshot = msgspec.json.decode(body, type=Snapshot)
    except msgspec.DecodeError as exc:
        raise ResolverError(f"the snapshot of '{alliance}' is not one: {exc}") from None
    result = LoadResult()
    texts = ((f"{d.kind}/{d.name}.json", bytes(d.document).decode()) for d in snapshot.documents)
    bundle = bundle_documents(read_stored(texts, result), result).bundles.get(alliance)
    if bundle is None or result.errors:
        said = "; ".join(str(e) for e in result.errors[:3]) or "no Alliance document"
        raise ResolverError(f"the snapshot of '{alliance}' does not compile: {said}")
    return _Compiled(snapshot.revision, tag, OwnerIndex(bundle, snapshot.revision))


def _detail(response: httpx.Response) -> str:
    try:
        problem = response.json()
    except ValueError:
        return response.text[:200]
    return str(problem.get("detail", problem)) if isinstance(problem, dict) else str(problem)
