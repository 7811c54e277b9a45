"""expectation-failed: the owner answer for a promise's cells is not what the
Expectation document says it must be.

Each promise is asked of the resolver as a complaint system would ask it (`where`
on `at`, the audit's day by default), and every field it names is compared with
the answer: one finding per broken promise, saying each field's expected and
actual value.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, NamedTuple

from registry.model import Expectation, Promise
from registry.rules.rule import Context, ExpectationRule, Said

if TYPE_CHECKING:
    from registry.bundle import Bundle
    from registry.resolve import Answer


class Kept(NamedTuple):
    """One promise tested: what it said, on which day, what the answer broke of it."""

    expectation: Expectation
    promise: Promise
    day: dt.date
    answer: Answer
    broken: list[str]


def tested(bundle: Bundle, as_of: dt.date) -> Iterator[Kept]:
    """Every promise of the bundle's Expectations, asked of its owner index."""
    if not bundle.expectations:
        return
    # The index compiles every day of the alliance's life; only when there are promises.
    from registry.resolve import OwnerIndex  # noqa: PLC0415 (resolve imports the bundle)

    index = OwnerIndex(bundle)
    for expectation in bundle.expectations:
        for promise in expectation.spec.promises:
            day = promise.at or as_of
            answer = index.owner(promise.where, day)
            yield Kept(expectation, promise, day, answer, list(differences(promise, answer)))


def check(expectations: Sequence[Expectation], context: Context) -> Iterator[Said]:
    space = context.bundle.space
    for expectation, promise, day, answer, broken in tested(context.bundle, context.as_of):
        if broken:
            box = space.box({dim: [node] for dim, node in promise.where.items()})
            partners = [answer.owner.partner] if answer.owner else list(answer.candidates)
            yield Said(
                message(promise, day, broken),
                partners,
                [expectation.ref],
                region=space.region(box),
                cells=space.box_cells(box),
                example=space.example(box),
                date=promise.at.isoformat() if promise.at else None,
            )


def differences(promise: Promise, answer: Answer) -> Iterator[str]:
    """`owner: expected metro, got fastnet`, for each field the answer breaks."""
    expected: list[tuple[str, str | None, str]] = [
        ("status", promise.status, answer.status),
        (
            "owner",
            promise.owner,
            answer.owner.partner if answer.owner else f"none ({answer.status})",
        ),
        ("face", promise.face, answer.face.partner if answer.face else "none"),
    ]
    handoff = answer.handoff
    if promise.handoff is not None:
        expected += [
            ("handoff.mode", promise.handoff.mode, handoff.mode if handoff else "no handoff"),
            (
                "handoff.endpoint",
                promise.handoff.endpoint,
                handoff.endpoint.name if handoff else "no handoff",
            ),
        ]
    if promise.consulted is not None:
        expected.append(
            (
                "consulted",
                _listed(promise.consulted),
                _listed([c.partner for c in answer.consulted]),
            )
        )
    for name, wanted, got in expected:
        if wanted is not None and wanted != got:
            yield f"{name}: expected {wanted}, got {got}"
    if promise.escalates_to is not None:
        reached = [level.to["authority"] for level in answer.escalation if "authority" in level.to]
        if promise.escalates_to not in reached:
            yield f"escalatesTo: expected {promise.escalates_to}, got {_listed(reached)}"


def _listed(names: Sequence[str]) -> str:
    return ", ".join(sorted(set(names))) or "none"


def message(promise: Promise, day: dt.date, broken: Sequence[str]) -> str:
    where = ", ".join(f"{dim}={node}" for dim, node in promise.where.items())
    return f"promise '{promise.name}' ({where} on {day.isoformat()}) is broken: " + "; ".join(
        broken
    )


RULE = ExpectationRule(
    id="expectation-failed",
    severity="error",
    fires_when="an owner answer breaks a promise of an Expectation",
    causes=("promises",),
    check=check,
)
