"""escalation-not-rising: escalation levels' `after` do not strictly increase."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

from registry.model import Contract, Duration
from registry.rules.rule import Context, ContractRule, Said


def check(contract: Contract, context: Context) -> Iterator[Said]:
    afters = [level.after for level in context.bundle.escalation(contract)]
    if any(b <= a for a, b in itertools.pairwise(afters)):
        yield Said(
            "escalation levels' after must strictly increase: "
            + ", ".join(Duration.of(a).iso() for a in afters),
            [contract.spec.partner],
            [contract.ref],
        )


RULE = ContractRule(
    id="escalation-not-rising",
    severity="error",
    fires_when="escalation levels' `after` are not strictly increasing",
    causes=("escalation",),
    check=check,
)
