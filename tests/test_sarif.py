"""SARIF that code hosts keep: valid against the SARIF 2.1.0 schema (tests/sarif/),
one fingerprint per finding that stays the same across runs and when documents move
within their files, a category per alliance (automationDetails) and a helpUri per rule
that points at the rule's line of the docs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from conftest import EXAMPLES, REPO

from registry.cli import main
from registry.report.sarif import FINGERPRINT, HELP
from registry.rules import RULES

SCHEMA = json.loads((Path(__file__).parent / "sarif" / "sarif-schema-2.1.0.json").read_text())
FAILING = EXAMPLES / "rules" / "expectation-failed" / "fail"
AS_OF = "2026-11-22"


def sarif(paths: list[Path], capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    files = [str(f) for p in paths for f in sorted(p.glob("*.yaml"))]
    assert main(["audit", *files, "--as-of", AS_OF, "--format", "sarif"]) in (0, 1)
    log: dict[str, Any] = json.loads(capsys.readouterr().out)
    return log


def test_the_log_is_valid_sarif_2_1_0(capsys: pytest.CaptureFixture[str]) -> None:
    cases = [FAILING, *sorted(p for p in (EXAMPLES / "rules").glob("*/fail*"))]
    for case in cases:
        jsonschema.Draft4Validator(SCHEMA).validate(sarif([case], capsys))
    jsonschema.Draft4Validator(SCHEMA).validate(sarif([REPO / "examples" / "triple-play"], capsys))


def fingerprints(log: dict[str, Any]) -> list[str]:
    return [r["partialFingerprints"][FINGERPRINT] for r in log["runs"][0]["results"]]


def test_fingerprints_survive_runs_and_moved_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = fingerprints(sarif([FAILING], capsys))
    assert len(first) == len(set(first)) == 2  # two broken promises, two alerts
    assert fingerprints(sarif([FAILING], capsys)) == first
    # The same documents further down their files, in another order: the same alerts.
    moved = tmp_path / "moved"
    shutil.copytree(FAILING, moved)
    text = (moved / "expectations.yaml").read_text()
    (moved / "expectations.yaml").write_text("# moved down\n\n\n" + text)
    contracts = (moved / "contracts.yaml").read_text().split("---\n")
    (moved / "contracts.yaml").write_text("---\n".join(reversed(contracts)))
    log = sarif([moved], capsys)
    lines = [
        r["locations"][0]["physicalLocation"]["region"]["startLine"]
        for r in log["runs"][0]["results"]
    ]
    assert lines == [8, 8]  # `promises:`, three lines further down than before
    assert fingerprints(log) == first
    # A promise broken in fewer fields (its owner now right, its face still wrong) is the
    # same alert; a promise about other cells is another.
    (moved / "expectations.yaml").write_text(text.replace("owner: fastnet", "owner: metro"))
    assert fingerprints(sarif([moved], capsys)) == first
    (moved / "expectations.yaml").write_text(
        text.replace("{category: legal-dispute, region: north}", "{category: legal-dispute}")
    )
    changed = fingerprints(sarif([moved], capsys))
    assert changed[0] == first[0] and changed[1] != first[1]


def test_a_category_per_alliance_and_a_help_uri_per_rule(
    capsys: pytest.CaptureFixture[str],
) -> None:
    log = sarif([FAILING], capsys)
    (run,) = log["runs"]
    assert run["automationDetails"] == {"id": f"alliance-registry/audit/metro-home/{AS_OF}"}
    docs = (REPO / "docs" / "contract-language.md").read_text()
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == list(RULES)
    for rule in rules:
        assert rule["helpUri"] == HELP + rule["id"]
        assert f'<a id="rule-{rule["id"]}"></a>' in docs, rule["id"]
