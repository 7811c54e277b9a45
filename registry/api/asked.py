"""Which revision a question is about: `revision` (a number) or `asKnownAt` (an
instant: the revision current then), the same two parameters on every question."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated

import msgspec
from litestar.params import QueryParameter

from registry.errors import InvalidQuery, LocatedError
from registry.resolve import QUERY_REFUSED
from registry.service import MAX_REVISION, Registry, View

Revision = Annotated[
    int | None,
    QueryParameter(
        name="revision",
        ge=1,
        le=MAX_REVISION,
        description="answer as of this revision of the alliance (default: the current one)",
    ),
]
KnownAt = Annotated[
    dt.datetime | None,
    QueryParameter(
        name="asKnownAt",
        description="answer as of the revision current at this instant (RFC 3339; UTC when "
        "it names no offset)",
    ),
]


@dataclass(frozen=True)
class Asked:
    revision: int | None
    known_at: dt.datetime | None


def asked_about(revision: int | str | None, known_at: dt.datetime | str | None) -> Asked | None:
    """The revision asked about, None for the current one; refused when malformed or
    when both are given."""
    if revision is None and known_at is None:
        return None
    if revision is not None and known_at is not None:
        raise _refused("$.query.asKnownAt", "give revision or asKnownAt, not both")
    if isinstance(revision, str):
        number = int(revision) if revision.isascii() and revision.isdigit() else 0
        if not 1 <= number <= MAX_REVISION or len(revision) > 10:
            raise _refused(
                "$.query.revision", f"'{revision[:40]}' is not a revision (1 to {MAX_REVISION})"
            )
        revision = number
    if isinstance(known_at, str):
        text = known_at
        try:
            known_at = msgspec.convert(text, dt.datetime)
        except msgspec.ValidationError:
            raise _refused(
                "$.query.asKnownAt",
                f"'{text[:40]}' is not an instant such as 2026-11-22T10:00:00Z",
            ) from None
    if known_at is not None and known_at.tzinfo is None:
        known_at = known_at.replace(tzinfo=dt.UTC)
    return Asked(revision, known_at)


def _refused(path: str, message: str) -> InvalidQuery:
    return InvalidQuery(QUERY_REFUSED, [LocatedError(path, message)])


def revision_of(state: Registry, alliance: str, asked: Asked | None) -> int | None:
    """The revision asked about (None: the current one), once the alliance has it."""
    if asked is None:
        return None
    if asked.known_at is not None:
        return state.revision_at(alliance, asked.known_at)
    assert asked.revision is not None
    state.check_revision(alliance, asked.revision)
    return asked.revision


def viewed(state: Registry, alliance: str, asked: Asked | None) -> View:
    """The alliance compiled at the revision asked about (off the event loop)."""
    return state.view(alliance, revision_of(state, alliance, asked))
