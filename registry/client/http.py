"""The registry's HTTP API as Python calls, for the CLI's repository commands and for
complaint systems: `Client(server, token)` or `Client.from_env()`.

Answers decode into msgspec types: the core's own where the API sends them (`Plan`,
`Report`, `Answer`), and the types below for what the server's doors add (they
mirror `registry/api/documents.py` and `registry/service/writes.py`, which a client
does not import; tests/test_client.py holds them to the same JSON Schema).

A refusal is a `ClientError` (a `RegistryError`) carrying the problem details the
server sent: its status, detail, located errors and, on 409, the plan. A connection
that cannot be made, and a 503, are tried again with exponential backoff (a 503's
`Retry-After` says how long to wait); a request that may have reached the server is
sent again only when sending it twice does no harm (reads, dry runs, writes guarded by
`If-Match`).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, Literal, TypeVar

import httpx
import msgspec

from registry.errors import LocatedError, RegistryError
from registry.findings import Report
from registry.plan import Plan
from registry.resolve import Answer
from registry.settings import ClientSettings
from registry.wire import AllianceSummary, DocumentList, Problem

JSON = "application/json"
RETRIES = 4  # attempts after the first
BACKOFF_SECONDS = 0.25  # the first wait; doubled each time
MAX_WAIT_SECONDS = 10.0  # no wait is longer, whatever Retry-After says
T = TypeVar("T")


class DocumentResult(msgspec.Struct):
    ref: str
    action: Literal["created", "updated", "deleted", "unchanged"]
    etag: str | None


class Outcome(msgspec.Struct, kw_only=True, rename="camel"):
    """What an apply (or its dry run) did or would do."""

    alliance: str
    revision: int
    applied: bool
    forced: bool = False
    documents: list[DocumentResult]
    plan: Plan | None


class ClientError(RegistryError):
    """The server refused (`status` and its `problem`), or could not be reached
    (`status` None)."""

    def __init__(self, message: str, status: int | None = None, problem: Problem | None = None):
        errors = [
            LocatedError(e.path, e.message, e.file, e.line, e.column)
            for e in (problem.errors if problem else [])
        ]
        super().__init__(message, errors)
        self.status = status
        self.problem = problem

    @property
    def plan(self) -> Plan | None:
        """On 409: what the refused change would have done."""
        return self.problem.plan if self.problem else None


class Client:
    """One registry server, one token. Use as a context manager, or `close()`."""

    def __init__(
        self,
        server: str,
        token: str | None = None,
        *,
        http: httpx.Client | None = None,
        retries: int = RETRIES,
        backoff: float = BACKOFF_SECONDS,
        timeout: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.server = server.rstrip("/")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        # `http` is an httpx client of one's own (a test's in-process one, a proxy's).
        self._http = http or httpx.Client(timeout=timeout)
        self._owned = http is None  # one's own is closed by its owner
        self._headers = headers
        self._retries = retries
        self._backoff = backoff
        self._sleep = sleep

    @classmethod
    def from_env(
        cls, server: str | None = None, token: str | None = None, **options: Any
    ) -> Client:
        """REGISTRY_SERVER and REGISTRY_TOKEN, the arguments given overriding them."""
        settings = ClientSettings.from_env(server=server, token=token)
        return cls(settings.required_server(), settings.token, **options)

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._owned:
            self._http.close()

    # -- reads -------------------------------------------------------------------

    def alliances(self) -> list[AllianceSummary]:
        return self._call("GET", "/v1/alliances", list[AllianceSummary])

    def documents(self, alliance: str, revision: int | None = None) -> DocumentList:
        params = {"revision": str(revision)} if revision is not None else {}
        return self._call("GET", f"{_alliance(alliance)}/documents", DocumentList, params=params)

    def owner(self, alliance: str, where: Mapping[str, str], at: dt.date | None = None) -> Answer:
        params = dict(where) | ({"at": at.isoformat()} if at else {})
        return self._call("GET", f"{_alliance(alliance)}/owner", Answer, params=params)

    def audit(self, alliance: str, as_of: dt.date | None = None) -> Report:
        params = {"asOf": as_of.isoformat()} if as_of else {}
        return self._call("GET", f"{_alliance(alliance)}/audit", Report, params=params)

    # -- writes ------------------------------------------------------------------

    def apply(
        self,
        alliance: str,
        documents: Sequence[Any],
        *,
        deletes: Sequence[str] = (),
        revision: int | None = None,
        dry_run: bool = False,
        force: bool = False,
        as_of: dt.date | None = None,
    ) -> Outcome:
        """Write `documents` (JSON-ready dicts) and delete `deletes` (Kind/name) in one
        transaction, if the alliance is still at `revision` (If-Match) when given."""
        params: list[tuple[str, str]] = [("delete", ref) for ref in deletes]
        if dry_run:
            params.append(("dryRun", "true"))
        if force:
            params.append(("force", "true"))
        if as_of is not None:
            params.append(("asOf", as_of.isoformat()))
        headers = {"Content-Type": JSON}
        if revision is not None:
            headers["If-Match"] = f'"r{revision}"'
        body = b"" if not documents and deletes else msgspec.json.encode(list(documents))
        return self._call(
            "POST",
            f"{_alliance(alliance)}/apply",
            Outcome,
            params=params,
            content=body,
            headers=headers,
            repeatable=dry_run or revision is not None,
        )

    # -- the wire ----------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        answer: type[T],
        *,
        params: Mapping[str, str] | Sequence[tuple[str, str]] | None = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        repeatable: bool = True,
    ) -> T:
        sent = self._http.build_request(
            method,
            self.server + path,
            params=httpx.QueryParams(
                tuple(params.items() if isinstance(params, Mapping) else params or ())
            ),
            content=content,
            headers={**self._headers, **(headers or {})},
        )
        response = self._send(sent, repeatable or method == "GET")
        if response.status_code >= 400:
            raise _refusal(response)
        try:
            return msgspec.json.decode(response.content, type=answer)
        except msgspec.DecodeError as error:
            raise ClientError(
                f"{method} {self.server}{path}: the server's answer is not what this client "
                f"reads ({error}); are client and server the same version?",
                response.status_code,
            ) from None

    def _send(self, request: httpx.Request, repeatable: bool) -> httpx.Response:
        method, url = request.method, request.url
        wait = self._backoff
        for attempt in range(self._retries + 1):
            last = attempt == self._retries
            try:
                response = self._http.send(request)
            except (httpx.ConnectError, httpx.ConnectTimeout) as error:
                if last:
                    raise ClientError(f"cannot reach {self.server}: {error}") from None
            except httpx.TransportError as error:
                if last or not repeatable:
                    raise ClientError(
                        f"{method} {url}: the connection failed ({error})"
                        + ("" if repeatable else "; the write may or may not have landed")
                    ) from None
            else:
                if response.status_code != 503 or last:
                    return response
                wait = max(wait, _retry_after(response))
            self._sleep(min(wait, MAX_WAIT_SECONDS))
            wait *= 2
        raise AssertionError("unreachable")  # the last attempt returns or raises


def _alliance(name: str) -> str:
    return f"/v1/alliances/{httpx.URL(name).raw_path.decode()}"


def _retry_after(response: httpx.Response) -> float:
    try:
        return float(response.headers.get("Retry-After", "0"))
    except ValueError:
        return 0.0


def _refusal(response: httpx.Response) -> ClientError:
    try:
        problem = msgspec.json.decode(response.content, type=Problem)
    except msgspec.DecodeError:
        text = response.text.strip()[:200] or response.reason_phrase
        return ClientError(
            f"the server answered {response.status_code}: {text}", response.status_code
        )
    return ClientError(problem.detail, response.status_code, problem)
