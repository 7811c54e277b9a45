"""The API door's parts, which `registry.server` mounts on one litestar app: its
route handlers, its error mapping and its OpenAPI description."""

from __future__ import annotations

import logging
from typing import Any

import anyio.to_thread
import msgspec
from litestar import Request, Response, get
from litestar.openapi import OpenAPIConfig
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Components, SecurityScheme
from litestar.types import ControllerRouterHandler

from registry import __version__
from registry.api.access import registry
from registry.api.decisions import DecisionController
from registry.api.documents import DocumentController
from registry.api.edge import metrics_text
from registry.api.history import HistoryController
from registry.api.openapi import problems
from registry.api.problems import HANDLERS, respond
from registry.api.queries import QueryController
from registry.api.subscriptions import SubscriptionController
from registry.api.tickets import TicketController
from registry.service import Registry

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
        state.refresh(force=True)  # a read, even while the listener hears nothing
    except Exception as exc:  # the database is down: say so, do not crash
        logging.getLogger("registry.api").warning("health: database unreachable: %s", exc)
        return respond(request, 503, "the database is unreachable")  # type: ignore[return-value]
    authorization = request.headers.get("authorization")
    alliances = None
    if authorization is not None:  # sent, even empty: it must be a valid token
        principal = state.principal(authorization)
        alliances = dict(state.visible(principal))
    return Response(Health("ok", "ok", alliances))


class Live(msgspec.Struct):
    status: str


class Ready(msgspec.Struct, rename="camel"):
    status: str  # "ready" or "not ready"
    database: str  # "ok" or why not
    migrations: str  # "current" or what they are
    # "connected", "not connected" (reading on every request meanwhile, reconnecting),
    # or "not used" (SQLite, or REGISTRY_FRESHNESS=read)
    listener: str
    # "ok", "lagging" (the oldest pending delivery older than REGISTRY_READY_OUTBOX_LAG)
    # or "unknown"; and that delivery's age in seconds (null: none pending)
    outbox: str = "unknown"
    outbox_lag: float | None = None


@get(
    "/health/live",
    summary="The process is up and its event loop answers (no database asked)",
    tags=["health"],
    security=[],
)
async def health_live() -> Live:
    return Live("ok")


@get(
    "/health/ready",
    summary="Ready for traffic: the database reachable, migrations current, the "
    "listener connected; 503 with the same body saying which is not",
    tags=["health"],
    security=[],
    responses={503: ResponseSpec(Ready, description="not ready; the body says why")},
)
async def health_ready(request: Request[Any, Any, Any]) -> Response[Ready]:
    bound = request.app.state["settings"].ready_outbox_lag
    ready = await anyio.to_thread.run_sync(_readiness, registry(request), bound)
    return Response(ready, status_code=200 if ready.status == "ready" else 503)


def _readiness(state: Registry, outbox_bound: float | None) -> Ready:
    freshness = state.freshness()
    if freshness.mode == "read":
        listener = "not used"
    else:
        listener = "connected" if freshness.connected else "not connected"
    try:
        state.refresh(force=True)
        database = "ok"
        migrations = "current" if state.migrations_current() else "not current"
        lag = state.outbox_backlog().oldest_age if migrations == "current" else None
        outbox = "lagging" if outbox_bound is not None and (lag or 0) > outbox_bound else "ok"
        if migrations != "current":
            outbox = "unknown"
    except Exception as exc:  # the database is down: say so, do not crash
        logging.getLogger("registry.api").warning("not ready: %s", exc)
        database, migrations, outbox, lag = "unreachable", "unknown", "unknown", None
    ok = database == "ok" and migrations == "current" and listener != "not connected"
    ok = ok and outbox == "ok"
    return Ready(
        "ready" if ok else "not ready",
        database,
        migrations,
        listener,
        outbox,
        None if lag is None else round(lag, 3),
    )


def route_handlers() -> list[ControllerRouterHandler]:
    return [
        health,
        health_live,
        health_ready,
        DocumentController,
        QueryController,
        HistoryController,
        TicketController,
        SubscriptionController,
        metrics_text,
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
