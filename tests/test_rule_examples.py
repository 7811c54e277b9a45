"""Every rule by example: one folder per rule under examples/rules/, each with a
failing and a passing alliance and the exact JSON report `registry audit` prints
for it in `expected.json` (see examples/rules/README.md); a rule with situations
worth showing apart adds a pair per situation, `fail-<case>/` and `pass-<case>/`.

A case is audited as `registry audit <folder>/*.yaml --as-of 2026-11-22 --format
json`: the YAML files only, because the loader would read `expected.json` as a
document too.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLES

from registry.cli import main
from registry.rules import RULES

AS_OF = "2026-11-22"
RULE_EXAMPLES = EXAMPLES / "rules"
SIDES = ("fail", "pass")
CASES = sorted(p for p in RULE_EXAMPLES.glob("*/*") if p.is_dir())


def situations(rule: str) -> list[str]:
    """The rule's pairs of examples: "" for fail/ and pass/, then each `<case>` of a
    fail-<case>/ and pass-<case>/ pair."""
    folders = {p.name for p in (RULE_EXAMPLES / rule).iterdir() if p.is_dir()}
    return ["", *sorted(f.removeprefix("fail-") for f in folders if f.startswith("fail-"))]


def side(rule: str, kind: str, case: str) -> Path:
    return RULE_EXAMPLES / rule / (f"{kind}-{case}" if case else kind)


PAIRS = [
    pytest.param(rule, case, id=f"{rule}/{case}" if case else rule)
    for rule in sorted(RULES)
    for case in situations(rule)
]

# The spec keys each rule says cause its findings (SARIF points at them).
CAUSES = {rule.id: rule.causes for rule in RULES.values()}

# Rules a failing example cannot show alone. An expired waiver silences nothing,
# so the gap it was written for shows again beside `waiver-expired`.
ALSO_FIRES = {"waiver-expired": {"coverage-gap"}}


def audit(case: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[dict[str, Any]]]:
    """The exit code and the parsed standard output of the audit of one case."""
    files = sorted(str(p) for p in case.glob("*.yaml"))
    assert files, f"{case} holds no .yaml document"
    code = main(["audit", *files, "--as-of", AS_OF, "--format", "json"])
    out, err = capsys.readouterr()
    assert err == ""
    reports: list[dict[str, Any]] = json.loads(out)
    return code, reports


def rules_in(reports: list[dict[str, Any]]) -> set[str]:
    return {f["rule"] for report in reports for f in report["findings"]}


def test_every_rule_has_a_failing_and_a_passing_example() -> None:
    folders = sorted(p.name for p in RULE_EXAMPLES.iterdir() if p.is_dir())
    assert folders == sorted(RULES), "one folder per rule of registry/rules/, named by its id"
    for rule in RULES:
        paired = {side(rule, kind, case).name for case in situations(rule) for kind in SIDES}
        for name in sorted(paired):
            case = RULE_EXAMPLES / rule / name
            assert (case / "expected.json").is_file(), f"{rule}/{name}/expected.json is missing"
            assert (case / "alliance.yaml").is_file(), f"{rule}/{name}/alliance.yaml is missing"
        extra = {p.name for p in (RULE_EXAMPLES / rule).iterdir() if p.is_dir()} - paired
        assert not extra, (
            f"{rule} holds folders other than fail/, pass/ and fail-<case>/ with its "
            f"pass-<case>/: {sorted(extra)}"
        )


@pytest.mark.parametrize("case", CASES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_report_is_exactly_the_expected_one(case: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, reports = audit(case, capsys)
    expected = json.loads((case / "expected.json").read_text(encoding="utf-8"))
    assert reports == expected
    errors = any(f["severity"] == "error" for report in reports for f in report["findings"])
    assert code == (1 if errors else 0)


@pytest.mark.parametrize(("rule", "case"), PAIRS)
def test_the_failing_example_fires_its_rule_and_the_fix_silences_it(
    rule: str, case: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _, failing = audit(side(rule, "fail", case), capsys)
    _, passing = audit(side(rule, "pass", case), capsys)
    fired = rules_in(failing)
    assert rule in fired
    assert fired <= {rule} | ALSO_FIRES.get(rule, set()), "keep the failing example to its rule"
    assert rule not in rules_in(passing)
    assert rules_in(passing) <= fired - {rule}, "the fix must not add findings"
    # The expected reports say the same, so a regenerated expected.json cannot
    # bless an example that stopped showing its rule.
    for kind, wanted in (("fail", True), ("pass", False)):
        folder = side(rule, kind, case)
        expected = json.loads((folder / "expected.json").read_text())
        assert (rule in rules_in(expected)) is wanted, f"{rule}/{folder.name}/expected.json"


def test_every_rule_names_the_keys_that_cause_it() -> None:
    assert sorted(CAUSES) == sorted(RULES)


@pytest.mark.parametrize(("rule", "case"), PAIRS)
def test_sarif_points_at_the_line_that_causes_the_finding(
    rule: str, case: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A code host annotates the key of the failing example's document that causes each
    finding: `accountable:` of both contracts of an overlap, `expires:` of a waiver."""
    files = sorted(str(p) for p in side(rule, "fail", case).glob("*.yaml"))
    assert main(["audit", *files, "--as-of", AS_OF, "--format", "sarif"]) in (0, 1)
    log = json.loads(capsys.readouterr().out)
    pointed = []
    for result in log["runs"][0]["results"]:
        for location in result["locations"]:
            where = location["physicalLocation"]
            text = Path(where["artifactLocation"]["uri"]).read_text().splitlines()
            line = text[where["region"]["startLine"] - 1]
            column = where["region"]["startColumn"]
            pointed.append((result["ruleId"], line[column - 1 :].split(":")[0]))
    assert rule in {found for found, _ in pointed}, pointed
    for found, key in pointed:
        assert key in CAUSES[found], (found, key)
