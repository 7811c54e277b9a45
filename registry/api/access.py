"""The per-request steps every controller shares: the process's registry, and who
is asking and whether they may."""

from __future__ import annotations

from typing import Any

from litestar import Request

from registry.access import Action, Principal
from registry.service import Registry


def registry(request: Request[Any, Any, Any]) -> Registry:
    state: Registry = request.app.state["registry"]
    return state


def authorize(request: Request[Any, Any, Any], action: Action, alliance: str) -> Principal:
    """The token's holder, once it may do `action` on `alliance` (else 401/403/404)."""
    return registry(request).authorize(authorization(request), action, alliance)


def authorization(request: Request[Any, Any, Any]) -> str | None:
    """The Authorization header, read off the ASGI scope (whose header names are
    lower case): building litestar's Headers costs more than the owner answer."""
    for name, value in request.scope["headers"]:
        if name == b"authorization":
            text: str = value.decode("latin-1")
            return text
    return None
