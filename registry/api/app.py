"""`create_app(settings)`: the one factory of the HTTP API."""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from litestar import Litestar, Request, Response, get
from litestar.datastructures import State
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme

from registry import __version__
from registry.api.documents import DocumentController
from registry.api.history import HistoryController
from registry.api.openapi import problems
from registry.api.problems import HANDLERS, respond
from registry.api.queries import QueryController
from registry.api.tickets import TicketController
from registry.service.live import Live
from registry.settings import Settings
from registry.store import Store


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
    state: Live = request.app.state["live"]
    try:
        state.refresh()
    except Exception as exc:  # the database is down: say so, do not crash
        logging.getLogger("registry.api").warning("health: database unreachable: %s", exc)
        return respond(request, 503, "the database is unreachable")  # type: ignore[return-value]
    authorization = request.headers.get("authorization")
    alliances = None
    if authorization:
        principal = state.principal(authorization)
        alliances = {a: r for a, r in sorted(state.revisions.items()) if principal.sees(a)}
    return Response(Health("ok", "ok", alliances))


def create_app(settings: Settings | None = None, store: Store | None = None) -> Litestar:
    settings = settings or Settings.from_env()
    store = store or Store(settings.database_url)
    live = Live(store)
    # Here, not at the top: the page's controller imports registry.api in turn.
    from registry.web.controller import WebController, static_files, template_config  # noqa: PLC0415

    return Litestar(
        route_handlers=[
            health,
            DocumentController,
            QueryController,
            HistoryController,
            TicketController,
            WebController,
            static_files(),
        ],
        template_config=template_config(),
        exception_handlers=HANDLERS,
        request_max_body_size=settings.max_body_bytes,
        state=State({"live": live}),
        on_shutdown=[store.close],
        openapi_config=OpenAPIConfig(
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
        ),
        debug=False,
    )


def app_from_env() -> Litestar:
    """The factory server workers call: settings from REGISTRY_* variables."""
    return create_app(Settings.from_env())
