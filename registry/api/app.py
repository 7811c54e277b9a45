"""The API door's parts, which `registry.server` mounts on one litestar app: its
route handlers, its error mapping and its OpenAPI description."""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from litestar import Request, Response, get
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.types import ControllerRouterHandler

from registry import __version__
from registry.api.access import registry
from registry.api.decisions import DecisionController
from registry.api.documents import DocumentController
from registry.api.history import HistoryController
from registry.api.openapi import problems
from registry.api.problems import HANDLERS, respond
from registry.api.queries import QueryController
from registry.api.tickets import TicketController

__all__ = ["HANDLERS", "openapi_config", "route_handlers"]


class Health(msgspec.Struct, omit_defaults=True):
    status: str
    database: str
    # Shown only to a valid token, and only the alliances it can see.
    alliances: dict[str, int] | None = None


@get(
    "/health",
    summary="Is the database reachable; revisions of the token's alliances",
    tags=["health"],
    security=[],
    responses=problems(503),
)
async def health(request: Request[Any, Any, Any]) -> Response[Health]:
    state = registry(request)
    try:
        state.refresh()
    except Exception as exc:  # the database is down: say so, do not crash
        logging.getLogger("registry.api").warning("health: database unreachable: %s", exc)
        return respond(request, 503, "the database is unreachable")  # type: ignore[return-value]
    authorization = request.headers.get("authorization")
    alliances = None
    if authorization is not None:  # sent, even empty: it must be a valid token
        principal = state.principal(authorization)
        alliances = dict(state.visible(principal))
    return Response(Health("ok", "ok", alliances))


def route_handlers() -> list[ControllerRouterHandler]:
    return [
        health,
        DocumentController,
        QueryController,
        HistoryController,
        TicketController,
        DecisionController,
    ]


def openapi_config() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="alliance-registry",
        version=__version__,
        description="Who owns every complaint of a service alliance, and how to hand it "
        "over. Errors are RFC 9457 problem details listing every error found.",
        path="/schema",
        components=Components(
            security_schemes={
                "bearer": SecurityScheme(
                    type="http",
                    scheme="bearer",
                    description=("a token from `registry token create`"),
                )
            }
        ),
        security=[{"bearer": []}],
    )
