"""Who may do what: roles, the actions each one grants, and bearer-token secrets.

A token is bound to a role and, for every role but `admin`, to one alliance (and a
`partner` token to one partner). Outside its alliance a token sees nothing: the API
answers 404 there, as for an alliance that does not exist, so names do not leak.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Literal

Role = Literal["admin", "manager", "partner", "resolver", "auditor"]
ROLES: tuple[Role, ...] = ("admin", "manager", "partner", "resolver", "auditor")

Action = Literal["read", "resolve", "audit", "history", "decisions", "write", "force", "subscribe"]

# `decisions` (reading and replaying the decision log) for a partner is narrowed to the
# decisions that name its partner, by the service.
# `write` for a partner is narrowed to its own Partner document by `may_write`.
GRANTS: dict[Role, frozenset[Action]] = {
    "admin": frozenset(
        {"read", "resolve", "audit", "history", "decisions", "write", "force", "subscribe"}
    ),
    "manager": frozenset(
        {"read", "resolve", "audit", "history", "decisions", "write", "force", "subscribe"}
    ),
    # A partner's subscriptions get only the events that name its partner, and it
    # reads only the decisions that name it.
    "partner": frozenset({"read", "resolve", "audit", "decisions", "write", "subscribe"}),
    "resolver": frozenset({"resolve"}),
    "auditor": frozenset({"read", "resolve", "audit", "history", "decisions"}),
}

TOKEN_PREFIX = "ar_"


@dataclass(frozen=True)
class Principal:
    """The holder of a token, as the API sees it."""

    id: int
    role: Role
    alliance: str | None = None
    partner: str | None = None
    name: str | None = None

    @property
    def actor(self) -> str:
        """How the change log names this holder."""
        who = self.name or f"token-{self.id}"
        return f"{who} ({self.role})"

    def sees(self, alliance: str) -> bool:
        return self.alliance is None or self.alliance == alliance

    def may(self, action: Action, alliance: str) -> bool:
        return self.sees(alliance) and action in GRANTS[self.role]

    def may_write(self, alliance: str, kind: str, name: str) -> bool:
        if not self.may("write", alliance):
            return False
        return self.role != "partner" or (kind == "Partner" and name == self.partner)


def new_secret() -> str:
    """A fresh token: 256 random bits, prefixed so secret scanners recognise it."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    """Tokens are stored as this digest only; a database leak reveals no token."""
    return hashlib.sha256(secret.encode()).hexdigest()


def scope_problem(role: str, alliance: str | None, partner: str | None) -> str | None:
    """Why a token of this role cannot be bound this way, or None when it can."""
    if role not in ROLES:
        return f"unknown role '{role}'; the roles are {', '.join(ROLES)}"
    if role == "admin":
        if alliance is not None or partner is not None:
            return "an admin token holds every alliance; leave out --alliance and --partner"
        return None
    if alliance is None:
        return f"a {role} token belongs to one alliance; add --alliance"
    if role == "partner" and partner is None:
        return "a partner token edits its own Partner document; add --partner"
    if role != "partner" and partner is not None:
        return "--partner is only for partner tokens"
    return None
