"""escalation-no-authority: the last escalation level is not an alliance authority."""

from __future__ import annotations

from collections.abc import Iterator

from registry.model import Contract
from registry.rules.rule import Context, ContractRule, Said


def check(contract: Contract, context: Context) -> Iterator[Said]:
    levels = context.bundle.escalation(contract)
    if levels and not levels[-1].to.startswith("authority:"):
        yield Said(
            f"the last escalation level goes to '{levels[-1].to}', not to an "
            "alliance authority; end the chain with authority:<name>",
            [contract.spec.partner],
            [contract.ref],
        )


RULE = ContractRule(
    id="escalation-no-authority",
    severity="error",
    fires_when="the last escalation level is not an alliance authority",
    causes=("escalation",),
    check=check,
)
