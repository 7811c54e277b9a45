"""The per-request steps every controller shares: who is asking, may they, and
the process's live view of the registry."""

from __future__ import annotations

from typing import Any

from litestar import Request

from registry.access import Action, Principal
from registry.service.live import Live


def live(request: Request[Any, Any, Any]) -> Live:
    state: Live = request.app.state["live"]
    return state


def authorize(request: Request[Any, Any, Any], action: Action, alliance: str) -> Principal:
    """The token's holder, once it may do `action` on `alliance` (else 401/403/404)."""
    state = live(request)
    principal = state.principal(authorization(request))
    state.allow(principal, action, alliance)
    return principal


def authorization(request: Request[Any, Any, Any]) -> str | None:
    """The Authorization header, read off the ASGI scope (whose header names are
    lower case): building litestar's Headers costs more than the owner answer."""
    for name, value in request.scope["headers"]:
        if name == b"authorization":
            text: str = value.decode("latin-1")
            return text
    return None
