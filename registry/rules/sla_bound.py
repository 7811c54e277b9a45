"""sla-bound: a handoff promises to acknowledge or resolve later than the policy allows."""

from __future__ import annotations

from collections.abc import Iterator

from registry.model import Contract, Duration
from registry.rules.rule import Context, ContractRule, Said


def check(contract: Contract, context: Context) -> Iterator[Said]:
    bounds = context.parameters(RULE.id)
    for i, handoff in enumerate(contract.spec.handoffs):
        for key, value in (
            ("acknowledgeWithin", handoff.acknowledge_within),
            ("resolveWithin", handoff.resolve_within),
        ):
            bound = bounds.get(key)
            if value is not None and bound is not None and value > bound:
                yield Said(
                    f"handoff {i} {key} {Duration.of(value).iso()} exceeds the policy's "
                    f"bound of {bound.iso()}",
                    [contract.spec.partner],
                    [contract.ref],
                )


RULE = ContractRule(
    id="sla-bound",
    severity="warning",
    fires_when="a handoff's acknowledge or resolve time exceeds the policy's bound",
    causes=("handoffs",),
    parameters={"acknowledgeWithin": Duration(days=1), "resolveWithin": Duration(days=14)},
    check=check,
)
