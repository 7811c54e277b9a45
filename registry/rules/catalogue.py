"""The rule catalogue: every rule id, its default severity and what it fires on.

The one source of truth for `policies/default.yaml` (a test pins the file to it),
for the loader's checks of waiver and policy rule ids, and for the docs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from registry.model import Duration

Scope = Literal["cell", "document"]
SEVERITY_RANK = {"off": 0, "info": 1, "warning": 2, "error": 3}


@dataclass(frozen=True)
class RuleInfo:
    id: str
    severity: str
    scope: Scope
    fires_when: str


RULES: dict[str, RuleInfo] = {
    r.id: r
    for r in (
        RuleInfo("coverage-gap", "error", "cell", "a cell has no accountable partner"),
        RuleInfo(
            "coverage-overlap", "error", "cell", "a cell has two or more accountable partners"
        ),
        RuleInfo("face-gap", "error", "cell", "a cell has no customer face"),
        RuleInfo("face-overlap", "error", "cell", "a cell has more than one customer face"),
        RuleInfo("future-gap", "warning", "cell", "within the horizon a cell becomes a gap"),
        RuleInfo(
            "future-overlap", "warning", "cell", "within the horizon a cell becomes an overlap"
        ),
        RuleInfo(
            "outside-scope", "error", "cell", "a partner is accountable outside its own scope"
        ),
        RuleInfo(
            "gray-zone",
            "warning",
            "cell",
            "a partner with scope on a cell is not in the accountable contract's consulted team",
        ),
        RuleInfo(
            "handoff-missing",
            "error",
            "cell",
            "a non-face accountable partner has no handoff covering the cell",
        ),
        RuleInfo("handoff-transfer", "warning", "document", "a handoff sends the customer away"),
        RuleInfo(
            "escalation-missing",
            "error",
            "document",
            "a contract with accountable claims has no escalation",
        ),
        RuleInfo(
            "escalation-not-rising",
            "error",
            "document",
            "escalation levels' `after` are not strictly increasing",
        ),
        RuleInfo(
            "escalation-no-authority",
            "error",
            "document",
            "the last escalation level is not an alliance authority",
        ),
        RuleInfo(
            "escalation-too-late",
            "warning",
            "document",
            "the authority level comes after a handoff's resolveWithin",
        ),
        RuleInfo(
            "face-authority",
            "error",
            "document",
            "a non-face accountable partner grants the face less than faceAuthority",
        ),
        RuleInfo(
            "sla-bound",
            "warning",
            "document",
            "a handoff's acknowledge or resolve time exceeds the policy's bound",
        ),
        RuleInfo("waiver-expired", "warning", "document", "a waiver has expired"),
        RuleInfo("waiver-unused", "info", "document", "a waiver silences nothing"),
    )
}

# Parameters a rule takes from a PolicySet, with their defaults.
RULE_PARAMETERS: dict[str, dict[str, Duration]] = {
    "sla-bound": {"acknowledgeWithin": Duration(days=1), "resolveWithin": Duration(days=14)},
}
DEFAULT_HORIZON = Duration(days=90)
CELL_RULES = [r.id for r in RULES.values() if r.scope == "cell"]
