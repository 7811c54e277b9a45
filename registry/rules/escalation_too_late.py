"""escalation-too-late: the authority is reached after a handoff's resolveWithin."""

from __future__ import annotations

from collections.abc import Iterator

from registry.model import Contract, Duration
from registry.rules.rule import Context, ContractRule, Said


def check(contract: Contract, context: Context) -> Iterator[Said]:
    levels = context.bundle.escalation(contract)
    # A chain that reaches no authority is escalation-no-authority's.
    if not levels or not levels[-1].to.startswith("authority:"):
        return
    last = levels[-1]
    for i, handoff in enumerate(contract.spec.handoffs):
        if handoff.resolve_within is not None and last.after > handoff.resolve_within:
            yield Said(
                f"the authority is reached after {Duration.of(last.after).iso()}, "
                f"later than handoff {i}'s resolveWithin "
                f"{Duration.of(handoff.resolve_within).iso()}",
                [contract.spec.partner],
                [contract.ref],
            )


RULE = ContractRule(
    id="escalation-too-late",
    severity="warning",
    fires_when="the authority level comes after a handoff's resolveWithin",
    causes=("escalation",),
    check=check,
)
