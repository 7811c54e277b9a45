"""The rule catalogue: every rule, one module each, in the report's order.

Findings sort by this order, rules are listed in it (SARIF, JUnit, the page), and
`policies/default.yaml`, the PolicySet schema, the rule examples and the docs'
rule table follow it: tests/test_rule_catalogue.py and tests/test_policy.py fail
when one of them disagrees.
"""

from __future__ import annotations

from registry.model import Duration
from registry.rules import (
    coverage_gap,
    coverage_overlap,
    escalation_missing,
    escalation_no_authority,
    escalation_not_rising,
    escalation_too_late,
    expectation_failed,
    face_authority,
    face_gap,
    face_overlap,
    future_gap,
    future_overlap,
    gray_zone,
    handoff_missing,
    handoff_transfer,
    outside_scope,
    sla_bound,
    waiver_expired,
    waiver_expiring,
    waiver_unused,
)
from registry.rules.rule import SEVERITY_RANK, Rule

__all__ = ["CELL_RULES", "DEFAULT_HORIZON", "RULES", "SEVERITY_RANK"]

RULES: dict[str, Rule] = {
    rule.id: rule
    for rule in (
        coverage_gap.RULE,
        coverage_overlap.RULE,
        face_gap.RULE,
        face_overlap.RULE,
        future_gap.RULE,
        future_overlap.RULE,
        waiver_expiring.RULE,
        outside_scope.RULE,
        gray_zone.RULE,
        handoff_missing.RULE,
        handoff_transfer.RULE,
        escalation_missing.RULE,
        escalation_not_rising.RULE,
        escalation_no_authority.RULE,
        escalation_too_late.RULE,
        face_authority.RULE,
        sla_bound.RULE,
        waiver_expired.RULE,
        waiver_unused.RULE,
        expectation_failed.RULE,
    )
}

DEFAULT_HORIZON = Duration(days=90)  # how far ahead future-* and waiver-expiring look
CELL_RULES = [rule.id for rule in RULES.values() if rule.cell]
