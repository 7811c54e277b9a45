"""What every HTTP request passes on its way in and out, and `GET /metrics`.

`observed` wraps the whole app (the API, the web page, routes that do not exist):
it gives the request its id (the client's `X-Request-Id` when sane, else a new
one; answered back in `X-Request-Id` and written on every log line about it),
counts it and its time per route template (never the raw path: the labels stay a
bounded set), and with `access_lines` writes one `registry.access` log line for it
(JSON logs: uvicorn's own access line knows no request id, and is left out).
It also hands the request's arrival, which `registry serve` stamps on the scope, to
the service (`ARRIVED`): requests that arrived together share one freshness read.

`/metrics` answers Prometheus' text format. Its findings name alliances and say
where their coverage fails, so it takes a bearer token like every other route: the
metrics token (`REGISTRY_METRICS_TOKEN`, for Prometheus: every alliance, and
nothing but this route), or any registry token, with the findings of the alliances
it may audit (admin: every one; manager, auditor, partner: its own; resolver: none).
The other metrics name routes, never alliances.
"""

from __future__ import annotations

import hmac
import logging
import time
from typing import Any

import anyio.to_thread
from litestar import Request, Response, get
from litestar.types import ASGIApp, Message, Receive, Send

from registry.access import Principal
from registry.api.access import authorization, registry
from registry.api.openapi import problems
from registry.service import Registry, logs, metrics
from registry.service.live import ARRIVAL_KEY, ARRIVED

access_log = logging.getLogger("registry.access")
UNMATCHED = "unmatched"  # the route label of a request no route took


def observed(app: ASGIApp, *, access_lines: bool = False) -> ASGIApp:
    async def edge(scope: Any, receive: Receive, send: Send) -> None:  # an ASGI Scope
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        start = time.perf_counter()
        sent = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                sent = value.decode("latin-1")
                break
        rid = logs.request_id(sent)
        header = (b"x-request-id", rid.encode())
        token = logs.REQUEST_ID.set(rid)
        arrived = ARRIVED.set(scope.get(ARRIVAL_KEY))  # stamped by registry serve
        status = 500  # what a client sees when the app ends without answering

        async def answer(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        try:
            await app(scope, receive, answer)
        finally:
            seconds = time.perf_counter() - start
            route = scope.get("path_template") or UNMATCHED
            method = scope["method"]
            metrics.observe_request(method, route, status, seconds)
            if access_lines:
                access_log.info(
                    "%s %s %d",
                    method,
                    route,
                    status,
                    extra={"status": status, "route": route, "ms": round(seconds * 1000, 2)},
                )
            ARRIVED.reset(arrived)
            logs.REQUEST_ID.reset(token)

    return edge


@get(
    "/metrics",
    summary="Prometheus metrics: requests, compiles, each alliance's findings per rule",
    tags=["operations"],
    media_type=metrics.CONTENT_TYPE,
    responses=problems(401),
)
async def metrics_text(request: Request[Any, Any, Any]) -> Response[bytes]:
    state = registry(request)
    header = authorization(request)
    principal = None if _metrics_token(request, header) else state.principal(header)
    text = await anyio.to_thread.run_sync(_exposition, state, principal)
    return Response(text, media_type=metrics.CONTENT_TYPE)


def _exposition(state: Registry, principal: Principal | None) -> bytes:
    return state.metrics(principal)


def _metrics_token(request: Request[Any, Any, Any], header: str | None) -> bool:
    secret: str | None = request.app.state.get("metrics_token")
    if not secret or header is None:
        return False
    scheme, _, sent = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        sent.strip().encode(), secret.encode()
    )
