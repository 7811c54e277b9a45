"""TMF621 trouble tickets routed through an alliance's compiled view. The ticket is
read once the token may route it, and routed in a worker thread (compiling the
alliance first, if its view is not built yet)."""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

import anyio.to_thread
from litestar import Controller, Request, Response, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Schema
from litestar.openapi.spec.enums import OpenAPIType
from litestar.params import FromPath
from litestar.status_codes import HTTP_200_OK

from registry.access import Principal
from registry.api.access import authorize, registry
from registry.api.asked import Asked, KnownAt, Revision, asked_about, viewed
from registry.api.bodies import decoded, where
from registry.api.openapi import json_body, problems
from registry.api.problems import MEDIA_TYPE
from registry.service import Registry
from registry.service.decisions import new_id, now, record_of
from registry.tickets import Routing, route
from registry.wire import Problem

TICKET = Schema(
    type=OpenAPIType.OBJECT,
    description="a TMF621 TroubleTicket, v4 or v5",
    additional_properties=True,
)


class TicketController(Controller):
    path = "/v1/alliances/{alliance:str}"
    tags = ["tickets"]

    @post(
        "/tickets:route",
        summary="Route a TMF621 trouble ticket: owner, handoff, deadlines, enriched ticket",
        description="The body is one TroubleTicket (TMF621 v4 or v5, told apart by its "
        "shape). The alliance's `tickets` block maps its fields to dimensions; the answer "
        "is the owner answer for them on the ticket's creation day, the deadlines counted "
        "from its `creationDate` (or from now, for a ticket without one), and the ticket "
        "with `relatedParty` entries for the accountable partner, the face and the "
        "consulted partners. A ticket that cannot be mapped gets 422 listing every error "
        "at its JSON path in the ticket.",
        status_code=HTTP_200_OK,
        operation_class=json_body(TICKET, "one TroubleTicket (TMF621 v4 or v5)"),
        responses={
            **problems(400, 403, 404, 413),
            422: ResponseSpec(
                data_container=Problem,
                description="the ticket cannot be mapped (every error at its JSON path in "
                "the ticket), or the alliance declares no ticket mapping",
                media_type=MEDIA_TYPE,
                generate_examples=False,
            ),
        },
    )
    async def route_ticket(
        self,
        request: Request[Any, Any, Any],
        alliance: FromPath[str],
        revision: Revision = None,
        as_known_at: KnownAt = None,
    ) -> Response[Routing]:
        principal = authorize(request, "resolve", alliance)
        asked = asked_about(revision, as_known_at)
        body = await request.body()
        routing = await anyio.to_thread.run_sync(
            functools.partial(_route, revision=asked),
            registry(request),
            alliance,
            body,
            where(request),
            principal,
        )
        headers = {} if routing.decision_id is None else {"X-Decision-Id": routing.decision_id}
        return Response(routing, headers=headers)


def _route(
    state: Registry,
    alliance: str,
    body: bytes,
    asked: str,
    principal: Principal,
    *,
    revision: Asked | None,
) -> Routing:
    ticket = decoded(body, dict[str, Any], asked)
    routing = route(ticket, viewed(state, alliance, revision).index, dt.datetime.now(dt.UTC))
    if state.recorder is not None:
        routing.decision_id = decision_id = new_id()
        ticket_id = ticket.get("id") if isinstance(ticket, dict) else None
        record = record_of(
            routing,
            decision_id,
            now(),
            principal,
            kind="ticket",
            ticket=None if ticket_id is None else str(ticket_id)[:200],
        )
        state.record([record])  # in this worker thread: waits here if the buffer is full
    return routing
