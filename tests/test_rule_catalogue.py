"""The catalogue is the one list of rules: every module of registry/rules/ but the
common ones is a rule in it, and the PolicySet schema, the rule examples and the
rule table of the docs follow it (`policies/default.yaml` too, in test_policy.py).
Each test lists everything that disagrees, and where, at once.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
from types import ModuleType

from conftest import EXAMPLES, REPO

import registry.rules
from registry.rules import RULES
from registry.rules.rule import Rule

# The modules of registry/rules/ that are no rule: the types, the catalogue, the
# audit and the waivers every cell rule shares.
COMMON = {"rule", "catalogue", "auditing", "waivers"}
CATALOGUE = "registry/rules/catalogue.py"


def module_name(rule_id: str) -> str:
    return rule_id.replace("-", "_")


def rule_modules() -> dict[str, ModuleType]:
    return {
        info.name: importlib.import_module(f"registry.rules.{info.name}")
        for info in pkgutil.iter_modules(registry.rules.__path__)
        if info.name not in COMMON
    }


def test_every_rule_module_is_in_the_catalogue_and_back() -> None:
    modules = rule_modules()
    problems = []
    for name, module in sorted(modules.items()):
        rule = getattr(module, "RULE", None)
        if not isinstance(rule, Rule):
            problems.append(
                f"registry/rules/{name}.py defines no RULE (a Rule); every module of "
                f"registry/rules/ but {', '.join(sorted(COMMON))} is one rule"
            )
        elif module_name(rule.id) != name:
            problems.append(
                f"registry/rules/{name}.py defines rule '{rule.id}': name the module "
                f"{module_name(rule.id)}.py"
            )
        elif RULES.get(rule.id) is not rule:
            problems.append(
                f"rule '{rule.id}' of registry/rules/{name}.py is missing from {CATALOGUE}"
            )
    problems += [
        f"{CATALOGUE} lists rule '{rule_id}', but registry/rules/{module_name(rule_id)}.py "
        "is missing"
        for rule_id in RULES
        if module_name(rule_id) not in modules
    ]
    assert not problems, "\n".join(problems)


def test_the_policyset_schema_names_every_rule_and_parameter() -> None:
    where = "schemas/policyset.json"
    defs = json.loads((REPO / where).read_text(encoding="utf-8"))["$defs"]
    named = defs["PolicySetSpec"]["properties"]["rules"]["propertyNames"]["enum"]
    problems = [
        f"{where}: rule '{rule_id}' is missing from $defs.PolicySetSpec.properties.rules"
        ".propertyNames.enum (run `registry schema --out schemas`)"
        for rule_id in RULES
        if rule_id not in named
    ]
    problems += [
        f"{where}: $defs.PolicySetSpec.properties.rules.propertyNames.enum names rule "
        f"'{rule_id}', which is missing from {CATALOGUE}"
        for rule_id in named
        if rule_id not in RULES
    ]
    if not problems and named != list(RULES):
        problems.append(f"{where}: the rule ids are not in the order of {CATALOGUE}")
    settings = defs["RuleSetting"]["properties"]
    problems += [
        f"{where}: parameter '{name}' of rule '{rule.id}' is missing from "
        "$defs.RuleSetting.properties (a field of RuleSetting in registry/model.py)"
        for rule in RULES.values()
        for name in rule.parameters
        if name not in settings
    ]
    taken = {name for rule in RULES.values() for name in rule.parameters}
    problems += [
        f"{where}: $defs.RuleSetting.properties has '{name}', which no rule of "
        f"{CATALOGUE} takes as a parameter"
        for name in settings
        if name != "severity" and name not in taken
    ]
    assert not problems, "\n".join(problems)


def test_every_rule_has_its_failing_and_passing_example_folders() -> None:
    folder = EXAMPLES / "rules"
    problems = [
        f"tests/examples/rules/{rule_id}/{side}/ is missing: rule '{rule_id}' needs "
        f"a {kind} example (see tests/examples/rules/README.md)"
        for rule_id in RULES
        for side, kind in (("fail", "failing"), ("pass", "passing"))
        if not (folder / rule_id / side).is_dir()
    ]
    problems += [
        f"tests/examples/rules/{path.name}/ is the folder of no rule of {CATALOGUE}"
        for path in sorted(folder.iterdir())
        if path.is_dir() and path.name not in RULES
    ]
    assert not problems, "\n".join(problems)


def docs_rule_table() -> dict[str, str]:
    """Rule id -> the severity the rule table of docs/contract-language.md §3 gives it
    (a row may name several rules: `face-gap` / `face-overlap`)."""
    lines = (REPO / "docs" / "contract-language.md").read_text(encoding="utf-8").splitlines()
    start = lines.index("| rule | (severity) | fires when |") + 2  # below the header rule
    table: dict[str, str] = {}
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        ids, severity = (cell.strip() for cell in line.strip("|").split("|")[:2])
        for rule_id in re.findall(r"`([a-z-]+)`", ids):
            table[rule_id] = severity
    return table


def test_the_docs_rule_table_lists_every_rule_with_its_default_severity() -> None:
    where = "docs/contract-language.md §3 (the rule table)"
    table = docs_rule_table()
    problems = []
    for rule in RULES.values():
        if rule.id not in table:
            problems.append(f"{where}: rule '{rule.id}' is missing")
        elif table[rule.id] != rule.severity:
            problems.append(
                f"{where}: rule '{rule.id}' is listed as {table[rule.id]}, its default "
                f"severity in registry/rules/{module_name(rule.id)}.py is {rule.severity}"
            )
    problems += [
        f"{where}: rule '{rule_id}' is listed, but is missing from {CATALOGUE}"
        for rule_id in table
        if rule_id not in RULES
    ]
    assert not problems, "\n".join(problems)
