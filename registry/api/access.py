"""The per-request steps every controller shares: who is asking, may they, and
the process's live view of the registry."""

from __future__ import annotations

from typing import Any

from litestar import Request

from registry.access import Action, Principal
from registry.api.live import Live


def live(request: Request[Any, Any, Any]) -> Live:
    state: Live = request.app.state["live"]
    return state


def authorize(request: Request[Any, Any, Any], action: Action, alliance: str) -> Principal:
    """The token's holder, once it may do `action` on `alliance` (else 401/403/404)."""
    state = live(request)
    principal = state.principal(request.headers.get("authorization"))
    state.allow(principal, action, alliance)
    return principal
