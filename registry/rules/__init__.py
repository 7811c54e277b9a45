"""The rules: one module per rule, the catalogue listing them, and the audit of one
alliance on one day.

A rule is one object in one module, `registry/rules/<rule_id>.py` (the id with
underscores): its `RULE` holds the id, the default severity, the parameters and
their defaults, when it fires (`fires_when`, shown in the docs, SARIF and the page),
the spec keys that cause its findings (SARIF points at them), how it detects and its
message. `rule.py` has the kinds: a `CellRule` reads a region's `Timeline` and gives a
`Label` or None, a `ForecastRule` reads it with the audit's `Outlook` (what the cell
rules say there on a later day), a `ContractRule` or `WaiverRule` checks one document
and gives what it `Said`. `waivers.py` says which waivers are live and what they silence;
`auditing.py` runs the rules.

To add a rule:

1. Write `registry/rules/<rule_id>.py` defining `RULE`, beside a similar rule.
2. List it in `catalogue.py`, where its findings should sort.
3. Add `tests/examples/rules/<rule-id>/fail/` and `pass/` (tests/examples/rules/README.md).
4. Add its line to the rule table of docs/contract-language.md §3 and to
   policies/default.yaml, and regenerate `schemas/` (`registry schema --out schemas`)
   so the PolicySet schema names it; a parameter also needs its field in
   `RuleSetting` (registry/model.py).

tests/test_rule_catalogue.py and tests/test_policy.py say which of these is missing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from registry.rules.catalogue import CELL_RULES, DEFAULT_HORIZON, RULES, SEVERITY_RANK

if TYPE_CHECKING:
    from registry.rules.auditing import audit, audit_arranged, compile_for_audit

__all__ = [
    "CELL_RULES",
    "DEFAULT_HORIZON",
    "RULES",
    "SEVERITY_RANK",
    "audit",
    "audit_arranged",
    "compile_for_audit",
]
_AUDIT = ("audit", "audit_arranged", "compile_for_audit")


def __getattr__(name: str) -> object:
    # The audit needs the bundle, and the bundle reads its defaults off the catalogue:
    # the audit is imported on first use, so `registry.bundle` (or `registry.findings`)
    # imported first finds the catalogue without the audit coming back for it.
    if name in _AUDIT:
        from registry.rules import auditing  # noqa: PLC0415

        found = getattr(auditing, name)
        globals()[name] = found
        return found
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
