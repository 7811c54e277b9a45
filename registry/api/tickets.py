"""TMF621 trouble tickets routed through an alliance's compiled view."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Controller, Request, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK

from registry.api.access import authorize, registry
from registry.api.openapi import problems
from registry.api.problems import MEDIA_TYPE, Problem
from registry.tickets import Routing, route


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
        data: JSONBody[dict[str, Any]],
    ) -> Routing:
        authorize(request, "resolve", alliance)
        view = registry(request).view(alliance)
        return route(data, view.index, dt.datetime.now(dt.UTC))
