"""waiver-expired: a waiver's `expires` is on or before the audit's day."""

from __future__ import annotations

from collections.abc import Iterator

from registry.model import Waiver
from registry.rules.rule import Context, Said, WaiverRule
from registry.rules.waivers import live


def check(index: int, waiver: Waiver, context: Context) -> Iterator[Said]:
    if not live(waiver, context.as_of):
        yield Said(
            f"the waiver expired on {waiver.spec.expires}; renew it or remove it",
            [],
            [waiver.ref],
        )


RULE = WaiverRule(
    id="waiver-expired",
    severity="warning",
    fires_when="a waiver has expired",
    causes=("expires",),
    check=check,
)
