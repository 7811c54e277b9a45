"""escalation-missing: a contract with accountable claims names no escalation."""

from __future__ import annotations

from collections.abc import Iterator

from registry.model import Contract
from registry.rules.rule import Context, ContractRule, Said


def check(contract: Contract, context: Context) -> Iterator[Said]:
    if contract.spec.accountable and not context.bundle.escalation(contract):
        yield Said(
            "the contract has accountable claims but no escalation; "
            "name a chain or list the levels",
            [contract.spec.partner],
            [contract.ref],
        )


RULE = ContractRule(
    id="escalation-missing",
    severity="error",
    fires_when="a contract with accountable claims has no escalation",
    causes=("accountable",),
    check=check,
)
