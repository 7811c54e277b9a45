"""`registry audit`, `owner`, `plan` and `demo generate` end to end, in process."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import REPO

from registry.cli import main

TRIPLE = str(REPO / "examples" / "triple-play")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_audit_clean_example_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "audit", TRIPLE, "--as-of", "2026-11-22")
    assert code == 0
    assert out == (
        "triple-play: as of 2026-11-22 (horizon P90D): 384 of 400 cells owned; 0 error(s), "
        "0 warning(s), 0 info; 16 waived cell(s)\n"
    )


def test_audit_defects_report_exactly_the_planted_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "generate", "--preset", "small", "--seed", "3", "--out",
                 str(tmp_path), "--defects", "4"]) == 0  # fmt: skip
    capsys.readouterr()
    code, out, _ = run(capsys, "audit", str(tmp_path), "--as-of", "2026-11-23", "--format", "json")
    assert code == 1
    (report,) = json.loads(out)
    truth = [json.loads(line) for line in (tmp_path / "defects.jsonl").read_text().splitlines()]
    found = sorted(
        json.dumps([f["rule"], f["partners"], f["region"]], sort_keys=True)
        for f in report["findings"]
        if f["rule"] in ("coverage-gap", "coverage-overlap")
    )
    planted = sorted(
        json.dumps([d["rule"], d["partners"], d["where"]], sort_keys=True) for d in truth
    )
    assert found == planted
    # An intruding partner has scope where the owner does not consult it: nothing else fires.
    assert {f["rule"] for f in report["findings"]} <= {"coverage-gap", "coverage-overlap",
                                                       "gray-zone"}  # fmt: skip


def test_audit_formats(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "generate", "--out", str(tmp_path), "--defects", "1"]) == 0
    capsys.readouterr()
    _, sarif, _ = run(capsys, "audit", str(tmp_path), "--as-of", "2026-11-23", "--format", "sarif")
    log = json.loads(sarif)
    (result,) = log["runs"][0]["results"]
    assert result["ruleId"] == "coverage-gap" and result["level"] == "error"
    location = result["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"].endswith("alliance.json")
    assert location["region"] == {"startLine": 1, "startColumn": 1}
    _, junit, _ = run(capsys, "audit", str(tmp_path), "--as-of", "2026-11-23", "--format", "junit")
    failures = ET.fromstring(junit).findall(".//testcase[failure]")
    assert [case.get("name") for case in failures] == ["coverage-gap"]
    _, csv, _ = run(capsys, "audit", str(tmp_path), "--as-of", "2026-11-23", "--format", "csv")
    header, row = csv.strip().splitlines()
    assert header.startswith("alliance,asOf,rule,severity")
    assert row.startswith("synth-small,2026-11-23,coverage-gap,error,,Alliance/synth-small,")


def test_fail_on_warning_and_waiver_expired(capsys: pytest.CaptureFixture[str]) -> None:
    card = str(REPO / "examples" / "co-branded-card")
    code, out, _ = run(capsys, "audit", card, "--as-of", "2027-06-30", "--fail-on", "warning")
    assert code == 1
    assert "waiver-expired (warning): 1\n    - the waiver expired on 2027-03-31" in out
    assert run(capsys, "audit", card, "--as-of", "2027-06-30")[0] == 0


def test_owner_answers_and_statuses(capsys: pytest.CaptureFixture[str]) -> None:
    cell = ["--where", "category=outage", "--where", "region=north", "--where", "channel=web"]
    code, out, _ = run(capsys, "owner", TRIPLE, *cell, "--at", "2026-11-22", "--format", "json")
    answer = json.loads(out)
    assert code == 0 and answer["status"] == "owned"
    assert answer["owner"] == {"partner": "fastnet", "contract": "fastnet-internet"}
    assert answer["handoff"]["endpoint"]["name"] == "tickets"
    # Phone in the north changes hands on 2027-03-01.
    north_phone = ["--where", "category=no-dial-tone", "--where", "region=north",
                   "--where", "channel=app"]  # fmt: skip
    for day, partner in (("2027-02-28", "callwave"), ("2027-03-01", "fastnet")):
        _, out, _ = run(capsys, "owner", TRIPLE, *north_phone, "--at", day, "--format", "json")
        assert json.loads(out)["owner"]["partner"] == partner
    # The legal-dispute cells are waived gaps: unowned, but the authority is named.
    _, out, _ = run(capsys, "owner", TRIPLE, "--where", "category=legal-dispute", "--at",
                    "2026-11-22", "--format", "json")  # fmt: skip
    answer = json.loads(out)
    assert answer["status"] == "unowned" and answer["owner"] is None
    assert answer["escalation"] == [
        {"after": "PT0S", "to": {"authority": "board", "email": "board@metrohome.example"}}
    ]
    _, out, _ = run(capsys, "owner", TRIPLE, "--where", "category=connectivity", "--at",
                    "2026-11-22", "--format", "json")  # fmt: skip
    answer = json.loads(out)
    assert answer["status"] == "ambiguous"
    assert answer["candidates"] == ["callwave", "fastnet", "metro", "skyview"]


def test_owner_unknown_node_lists_choices(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "owner", TRIPLE, "--where", "region=nrth")
    assert code == 2
    assert err == ("registry: --where region: unknown region 'nrth' (did you mean 'north'?)\n")


def test_plan_shows_owner_moves(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    new = tmp_path / "triple-play"
    shutil.copytree(TRIPLE, new)
    contracts = new / "contracts.yaml"
    text = contracts.read_text()
    # SkyView gives up on-demand TV, which nobody takes over.
    contracts.write_text(text.replace(
        "  accountable:\n    - where: {category: [tv]}\n",
        "  accountable:\n    - where: {category: [tv]}\n      except: [{category: [on-demand]}]\n",
    ))  # fmt: skip
    code, out, _ = run(capsys, "plan", TRIPLE, str(new), "--as-of", "2026-11-22",
                       "--format", "json")  # fmt: skip
    assert code == 1
    (plan,) = json.loads(out)
    assert [(f["rule"], f["region"], f["cells"]) for f in plan["added"]] == [
        ("coverage-gap", {"category": ["on-demand"]}, 16)
    ]
    assert plan["removed"] == []
    assert plan["moves"] == [{
        "region": {"category": ["on-demand"]}, "cells": 16,
        "example": {"category": "on-demand", "region": "north", "channel": "phone"},
        "before": ["skyview"], "after": [],
    }]  # fmt: skip
