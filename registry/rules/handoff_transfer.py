"""handoff-transfer: a handoff sends the customer to the partner (mode transfer)."""

from __future__ import annotations

from collections.abc import Iterator

from registry.model import Contract
from registry.rules.rule import Context, ContractRule, Said


def check(contract: Contract, context: Context) -> Iterator[Said]:
    spec = contract.spec
    for i, handoff in enumerate(spec.handoffs):
        if handoff.mode == "transfer":
            yield Said(
                f"handoff {i} sends the customer to {spec.partner} (mode transfer); "
                "use retain or consult so the face keeps the customer",
                [spec.partner],
                [contract.ref],
            )


RULE = ContractRule(
    id="handoff-transfer",
    severity="warning",
    fires_when="a handoff sends the customer away",
    causes=("handoffs",),
    check=check,
)
