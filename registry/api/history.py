"""The change log of an alliance, page by page, the check of its hash chain, and the
signed checkpoint of its head."""

from __future__ import annotations

from typing import Annotated, Any

import anyio.to_thread
import msgspec
from litestar import Controller, MediaType, Request, Response, get
from litestar.params import FromPath, QueryParameter

from registry.api.access import authorize, registry
from registry.api.openapi import problems
from registry.api.revisions import (
    MinRevision,
    answer_tag,
    if_none_match,
    matches,
    not_modified,
    reach,
    tagged,
)
from registry.service import MAX_REVISION, Entry


class HistoryPage(msgspec.Struct):
    alliance: str
    revision: int
    entries: list[Entry]
    # Pass as `after` for the next page; null on the last page.
    next: int | None


class Verification(msgspec.Struct):
    alliance: str
    ok: bool
    problems: list[str]


class HistoryController(Controller):
    path = "/v1/alliances/{alliance:str}/history"
    tags = ["history"]

    @get(
        "/",
        summary="Landed writes, oldest first: who, when, which documents",
        responses=problems(400, 403, 404),
    )
    async def history(
        self,
        request: Request[Any, Any, Any],
        alliance: FromPath[str],
        after: Annotated[
            int, QueryParameter(name="after", ge=0, le=MAX_REVISION, description="a revision")
        ] = 0,
        limit: Annotated[int, QueryParameter(name="limit", ge=1, le=1000)] = 100,
        min_revision: MinRevision = None,
    ) -> Response[HistoryPage]:
        authorize(request, "history", alliance)
        await reach(request, alliance, min_revision)
        state = registry(request)
        revision = state.revision(alliance)
        tag = answer_tag("history", alliance, revision, after, limit)
        if matches(if_none_match(request), tag):
            return not_modified(tag)  # type: ignore[return-value]
        entries = state.history(alliance, after, limit)
        last = entries[-1].revision if entries else after
        page = HistoryPage(alliance, revision, entries, last if last < revision else None)
        return tagged(Response(page), tag)

    @get(
        "/verify",
        summary="Check the change log's hash chain and the stored documents",
        responses=problems(403, 404),
    )
    async def verify(
        self, *, request: Request[Any, Any, Any], alliance: FromPath[str]
    ) -> Verification:
        authorize(request, "history", alliance)
        # Hashing every entry and document version of a long log: off the event loop.
        found = await anyio.to_thread.run_sync(registry(request).verify, alliance)
        problems = found.get(alliance, [])
        return Verification(alliance, not problems, problems)

    @get(
        "/checkpoint",
        summary="The signed checkpoint of the change log at the current revision (a C2SP "
        "signed note; save it, and `registry log verify --checkpoint FILE` proves later "
        "that the history up to it was not rewritten). 404 when there is none: the server "
        "has no signing key, or the revision was written without it",
        media_type=MediaType.TEXT,
        responses=problems(403, 404),
    )
    async def checkpoint(self, *, request: Request[Any, Any, Any], alliance: FromPath[str]) -> str:
        authorize(request, "history", alliance)
        return registry(request).checkpoint(alliance)
