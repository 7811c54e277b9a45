"""The decision log of an alliance: every answer it gave, page by page (latest first),
one decision, a decision answered again at its revision and day, and the evidence
file an auditor verifies offline."""

from __future__ import annotations

import datetime as dt
import functools
from typing import Annotated, Any

import anyio.to_thread
import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, QueryParameter
from litestar.status_codes import HTTP_200_OK

from registry.access import Principal
from registry.api.access import authorize, registry
from registry.api.asked import Asked, KnownAt, Revision, asked_about, revision_of
from registry.api.openapi import problems
from registry.errors import InvalidQuery, LocatedError, NotFound
from registry.resolve import QUERY_REFUSED
from registry.service import Filters, Registry, Replay
from registry.service.decisions import DecisionOut, shown


class DecisionPage(msgspec.Struct):
    alliance: str
    decisions: list[DecisionOut]
    # Pass as `cursor` for the next page; null on the last page.
    next: str | None


Since = Annotated[
    dt.datetime | None, QueryParameter(name="since", description="an RFC 3339 instant")
]
Until = Annotated[
    dt.datetime | None, QueryParameter(name="until", description="an RFC 3339 instant, excluded")
]


class DecisionController(Controller):
    path = "/v1/alliances/{alliance:str}"
    tags = ["decisions"]

    @get(
        "/decisions",
        summary="Answers the registry gave, latest first (a partner token: those naming it)",
        description="Filters: `partner` (named by the answer: owner, face or candidate), "
        "`status`, `since` and `until` (instants, until excluded), `ticket` (a routed "
        "ticket's id), `under` (DIMENSION:NODE: queries naming that node or one below it). "
        "Pass `next` back as `cursor` for the following page.",
        responses=problems(400, 403, 404),
    )
    async def decisions(
        self,
        *,
        request: Request[Any, Any, Any],
        alliance: FromPath[str],
        partner: Annotated[str | None, QueryParameter(name="partner")] = None,
        status: Annotated[str | None, QueryParameter(name="status")] = None,
        since: Since = None,
        until: Until = None,
        ticket: Annotated[str | None, QueryParameter(name="ticket")] = None,
        under: Annotated[str | None, QueryParameter(name="under")] = None,
        cursor: Annotated[str | None, QueryParameter(name="cursor")] = None,
        limit: Annotated[int, QueryParameter(name="limit", ge=1, le=1000)] = 100,
    ) -> DecisionPage:
        principal = authorize(request, "decisions", alliance)
        filters = Filters(
            partner=partner,
            status=status,
            since=_instant(since),
            until=_instant(until),
            ticket=ticket,
            before=_cursor(cursor),
        )
        found, following = await anyio.to_thread.run_sync(
            functools.partial(
                registry(request).decisions, principal, alliance, filters, under, limit
            )
        )
        return DecisionPage(alliance, found, following)

    @get(
        "/decisions/{decision_id:str}",
        summary="One decision as recorded",
        responses=problems(403, 404),
    )
    async def decision(
        self,
        *,
        request: Request[Any, Any, Any],
        alliance: FromPath[str],
        decision_id: FromPath[str],
    ) -> DecisionOut:
        principal = authorize(request, "decisions", alliance)
        state = registry(request)
        found = await anyio.to_thread.run_sync(state.decision, principal, alliance, decision_id)
        return shown(found)

    @post(
        # Litestar matches whole path segments: the handler reads `ID:replay` itself.
        "/decisions/{action:str}",
        summary="Answer a decision again at its recorded revision and day: match, or the "
        "differences",
        status_code=HTTP_200_OK,
        responses=problems(403, 404),
    )
    async def replay(
        self, *, request: Request[Any, Any, Any], alliance: FromPath[str], action: FromPath[str]
    ) -> Replay:
        principal = authorize(request, "decisions", alliance)
        decision_id, colon, verb = action.rpartition(":")
        if not colon or verb != "replay":
            raise NotFound(f"no action '{action[:80]}': POST .../decisions/ID:replay")
        state = registry(request)
        return await anyio.to_thread.run_sync(state.replay, principal, alliance, decision_id)

    @get(
        "/evidence",
        summary="One self-contained evidence file: documents, change log, signed "
        "checkpoint, audit, and optionally decisions (`registry evidence verify` checks it)",
        description="`revision` (or `asKnownAt`) names the revision, default the current one; "
        "`asOf` the audit's day (default today); `decisions=FROM/UNTIL` (instants) adds the "
        "decisions answered in that range.",
        responses=problems(400, 403, 404),
    )
    async def evidence(
        self,
        *,
        request: Request[Any, Any, Any],
        alliance: FromPath[str],
        revision: Revision = None,
        as_known_at: KnownAt = None,
        as_of: Annotated[dt.date | None, QueryParameter(name="asOf")] = None,
        decisions: Annotated[str | None, QueryParameter(name="decisions")] = None,
    ) -> Response[bytes]:
        principal = authorize(request, "audit", alliance)
        asked = asked_about(revision, as_known_at)
        span = None if decisions is None else _span(decisions)
        day = as_of or dt.datetime.now(dt.UTC).date()
        state = registry(request)
        body = await anyio.to_thread.run_sync(
            functools.partial(_evidence, state, principal, alliance, asked, day=day, span=span)
        )
        name = f"evidence-{alliance}.json"
        return Response(
            body,
            media_type="application/json",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )


def _evidence(
    state: Registry,
    principal: Principal,
    alliance: str,
    asked: Asked | None,
    *,
    day: dt.date,
    span: tuple[str, str] | None,
) -> bytes:
    revision = revision_of(state, alliance, asked)
    if revision is not None:
        state.view(alliance, revision)  # a revision it does not have: 404 naming the current
    return state.evidence(principal, alliance, revision, day, span)


def _instant(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).isoformat(timespec="milliseconds")


def _cursor(text: str | None) -> str | None:
    if text is not None and (len(text) != 36 or not text.isascii()):
        raise InvalidQuery(
            QUERY_REFUSED, [LocatedError("$.query.cursor", "not a cursor this API handed out")]
        )
    return text


def _span(text: str) -> tuple[str, str]:
    start, _, end = text.partition("/")
    try:
        since, until = (msgspec.convert(part, dt.datetime) for part in (start, end))
    except msgspec.ValidationError:
        raise InvalidQuery(
            QUERY_REFUSED,
            [
                LocatedError(
                    "$.query.decisions",
                    f"'{text[:80]}' is not FROM/UNTIL, two instants such as "
                    "2026-11-01T00:00:00Z/2026-12-01T00:00:00Z",
                )
            ],
        ) from None
    first, last = _instant(since), _instant(until)
    assert first is not None and last is not None
    return first, last
