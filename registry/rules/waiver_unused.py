"""waiver-unused: a live waiver silences no finding of its rule."""

from __future__ import annotations

from collections.abc import Iterator

from registry.model import Waiver
from registry.rules.rule import Context, Said, WaiverRule
from registry.rules.waivers import live


def check(index: int, waiver: Waiver, context: Context) -> Iterator[Said]:
    # An expired waiver is waiver-expired's.
    if live(waiver, context.as_of) and index not in context.used_waivers:
        yield Said(
            f"the waiver silences no {waiver.spec.rule} finding; remove it",
            [],
            [waiver.ref],
        )


RULE = WaiverRule(
    id="waiver-unused",
    severity="info",
    fires_when="a waiver silences nothing",
    causes=("where", "rule"),
    check=check,
)
