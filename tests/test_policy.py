"""The shipped PolicySet is the catalogue: every rule, its default severity and parameters."""

from __future__ import annotations

from conftest import REPO

from registry.bundle import Policy
from registry.load import load
from registry.model import Duration, PolicySet
from registry.rules import DEFAULT_HORIZON, RULES


def test_default_policy_file_equals_the_catalogue() -> None:
    result = load([str(REPO / "policies" / "default.yaml")])
    assert result.errors == []
    (document,) = result.checked
    assert isinstance(document, PolicySet)
    assert document.metadata.alliance is None
    assert list(document.spec.rules) == list(RULES)
    assert Policy.from_set(document) == Policy.from_set(None)


def test_default_policy_file_gives_each_rule_its_default() -> None:
    """The same as above, saying what differs where."""
    where = "policies/default.yaml"
    (document,) = load([str(REPO / "policies" / "default.yaml")]).checked
    assert isinstance(document, PolicySet)
    spec = document.spec
    problems = []
    for rule in RULES.values():
        setting = spec.rules.get(rule.id)
        if setting is None:
            problems.append(f"{where}: rule '{rule.id}' is missing from spec.rules")
            continue
        if setting.severity != rule.severity:
            problems.append(
                f"{where}: spec.rules.{rule.id}.severity is {setting.severity}, the rule's "
                f"default is {rule.severity}"
            )
        given = setting.parameters()
        for name, default in rule.parameters.items():
            if name not in given:
                problems.append(
                    f"{where}: spec.rules.{rule.id}.{name} is missing (default {default.iso()})"
                )
            elif given[name] != default:
                problems.append(
                    f"{where}: spec.rules.{rule.id}.{name} is {Duration.of(given[name]).iso()}, "
                    f"the rule's default is {default.iso()}"
                )
    problems += [
        f"{where}: spec.rules.{rule_id} is no rule of registry/rules/catalogue.py"
        for rule_id in spec.rules
        if rule_id not in RULES
    ]
    if not problems and list(spec.rules) != list(RULES):
        problems.append(f"{where}: spec.rules is not in the order of registry/rules/catalogue.py")
    if spec.horizon != DEFAULT_HORIZON:
        problems.append(
            f"{where}: spec.horizon is {Duration.of(spec.horizon).iso()}, "
            f"DEFAULT_HORIZON of registry/rules/catalogue.py is {DEFAULT_HORIZON.iso()}"
        )
    assert not problems, "\n".join(problems)
