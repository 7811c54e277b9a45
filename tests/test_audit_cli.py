"""`registry audit`, `owner`, `plan` and `demo generate` end to end, in process."""

from __future__ import annotations

import json
import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import REPO

from registry.cli import main

TRIPLE = str(REPO / "examples" / "triple-play")
RULES = REPO / "tests" / "examples" / "rules"


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


@pytest.mark.parametrize(
    ("preset", "seed", "defects"),
    [("medium", 5, 6), ("medium", 1, 12)]
    + [("small", seed, seed % 7 + 1) for seed in range(1, 31)],
)
def test_audit_defects_report_exactly_the_planted_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], preset: str, seed: int, defects: int
) -> None:
    assert main(["demo", "generate", "--preset", preset, "--seed", str(seed), "--out",
                 str(tmp_path), "--defects", str(defects)]) == 0  # fmt: skip
    capsys.readouterr()
    code, out, _ = run(capsys, "audit", str(tmp_path), "--as-of", "2026-11-23", "--format", "json")
    assert code == 1
    (report,) = json.loads(out)
    truth = [json.loads(line) for line in (tmp_path / "defects.jsonl").read_text().splitlines()]
    assert len(truth) == defects
    found = sorted(
        json.dumps([f["rule"], f["partners"], f["region"]], sort_keys=True)
        for f in report["findings"]
        if f["rule"] in ("coverage-gap", "coverage-overlap")
    )
    planted = sorted(
        json.dumps([d["rule"], d["partners"], d["where"]], sort_keys=True) for d in truth
    )
    assert found == planted
    # An intruder has scope where the owner does not consult it: a gray zone of exactly
    # the planted overlap's partners and region; nothing else fires.
    gray = sorted(
        json.dumps([f["partners"], f["region"]], sort_keys=True)
        for f in report["findings"]
        if f["rule"] == "gray-zone"
    )
    overlaps = sorted(
        json.dumps([d["partners"], d["where"]], sort_keys=True)
        for d in truth
        if d["rule"] == "coverage-overlap"
    )
    assert gray == overlaps
    assert {f["rule"] for f in report["findings"]} <= {"coverage-gap", "coverage-overlap",
                                                       "gray-zone"}  # fmt: skip


def test_demo_generate_is_deterministic(tmp_path: Path) -> None:
    for out in ("one", "two"):
        assert main(["demo", "generate", "--preset", "small", "--seed", "8", "--out",
                     str(tmp_path / out), "--defects", "3"]) == 0  # fmt: skip

    def files(folder: Path) -> dict[Path, bytes]:
        return {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*.*")}

    one = files(tmp_path / "one")
    assert one == files(tmp_path / "two") and Path("defects.jsonl") in one
    assert main(["demo", "generate", "--preset", "small", "--seed", "9", "--out",
                 str(tmp_path / "three"), "--defects", "3"]) == 0  # fmt: skip
    three = (tmp_path / "three" / "defects.jsonl").read_bytes()
    assert three != one[Path("defects.jsonl")]


def test_demo_generate_refuses_more_defects_than_it_has_room_for(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "demo", "generate", "--preset", "small", "--out",
                       str(tmp_path), "--defects", "100000")  # fmt: skip
    assert code == 2
    assert re.fullmatch(
        r"registry: --defects 100000: small has room for \d+ separate defects, not 100000\n", err
    ), err
    assert not (tmp_path / "defects.jsonl").exists()
    code, _, err = run(capsys, "demo", "generate", "--out", str(tmp_path), "--defects", "-1")
    assert (code, err) == (2, "registry: --defects -1: give a count of 0 or more\n")


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*.*")}


def test_demo_generate_refuses_a_folder_that_holds_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two alliances in one folder would load as one mix: the second is refused."""
    out = str(tmp_path / "synth")
    assert run(capsys, "demo", "generate", "--out", out, "--defects", "2")[0] == 0
    first = _files(tmp_path / "synth")
    code, _, err = run(capsys, "demo", "generate", "--out", out, "--seed", "2")
    assert (code, err) == (
        2,
        f"registry: --out {out} is not empty, and its files would mix with the new "
        "alliance's; name an empty or new folder, or add --force to replace an alliance "
        "generated there\n",
    )
    assert _files(tmp_path / "synth") == first
    code, _, err = run(
        capsys, "demo", "generate", "--out", str(tmp_path / "synth" / "alliance.json")
    )
    assert (code, err) == (2, f"registry: --out {out}/alliance.json is a file; name a folder\n")


def test_demo_generate_force_replaces_a_generated_alliance_and_nothing_else(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "synth"
    assert run(capsys, "demo", "generate", "--out", str(out), "--defects", "2")[0] == 0
    assert run(capsys, "demo", "generate", "--preset", "medium", "--out", str(out),
               "--seed", "3", "--force")[0] == 0  # fmt: skip
    assert run(capsys, "demo", "generate", "--preset", "medium", "--out", str(tmp_path / "new"),
               "--seed", "3")[0] == 0  # fmt: skip
    assert _files(out) == _files(tmp_path / "new")  # no file of the first one left
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    before = _files(out)
    code, _, err = run(capsys, "demo", "generate", "--out", str(out), "--force")
    assert (code, err) == (
        2,
        f"registry: --out {out} holds what demo generate does not write (notes.txt); "
        "--force replaces only a generated alliance, so name an empty or new folder\n",
    )
    assert _files(out) == before


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
    assert csv.endswith(" cells\n")  # one newline after the last row, as after every row
    header, row = csv.strip().splitlines()
    assert header.startswith("alliance,asOf,rule,severity")
    assert row.startswith("synth-small,2026-11-23,coverage-gap,error,,Alliance/synth-small,")


def test_fail_on_warning_and_waiver_expired(capsys: pytest.CaptureFixture[str]) -> None:
    card = str(REPO / "examples" / "co-branded-card")
    code, out, _ = run(capsys, "audit", card, "--as-of", "2027-06-30", "--fail-on", "warning")
    assert code == 1
    assert "waiver-expired (warning): 1\n    - the waiver expired on 2027-03-31" in out
    assert run(capsys, "audit", card, "--as-of", "2027-06-30")[0] == 0


def test_a_waiver_expiring_within_the_horizon_is_forecast(
    capsys: pytest.CaptureFixture[str],
) -> None:
    roaming = str(REPO / "examples" / "roaming")
    # 77 days before the VoLTE-Mexico waiver expires: the gap it silences is foretold,
    # on the cells where coverage-gap will fire from its expiry on.
    code, out, _ = run(capsys, "audit", roaming, "--as-of", "2027-07-15", "--format", "json")
    (report,) = json.loads(out)
    assert code == 0
    assert report["findings"] == [
        {
            "rule": "waiver-expiring",
            "severity": "warning",
            "message": "waiver volte-mexico-not-launched expires on 2027-09-30; then "
            "coverage-gap fires on 4 cells",
            "partners": [],
            "documents": ["Waiver/volte-mexico-not-launched"],
            "region": {"category": ["volte"], "region": ["mexico"]},
            "cells": 4,
            "example": {"category": "volte", "region": "mexico", "channel": "hotline"},
            "date": "2027-09-30",
        }
    ]
    # On its expiry day and after, the gap itself.
    for day in ("2027-09-30", "2027-10-01"):
        code, out, _ = run(capsys, "audit", roaming, "--as-of", day, "--format", "json")
        (report,) = json.loads(out)
        assert code == 1
        gap = next(f for f in report["findings"] if f["rule"] == "coverage-gap")
        assert gap["region"] == {"category": ["volte"], "region": ["mexico"]}
    # Beyond the horizon (P90D) the expiry is not forecast yet.
    code, out, _ = run(capsys, "audit", roaming, "--as-of", "2027-07-01", "--format", "json")
    assert (code, json.loads(out)[0]["findings"]) == (0, [])


def test_owner_answers_name_the_live_waivers_covering_the_query(
    capsys: pytest.CaptureFixture[str],
) -> None:
    roaming = str(REPO / "examples" / "roaming")
    volte = {
        "name": "volte-mexico-not-launched",
        "rule": "coverage-gap",
        "expires": "2027-09-30",
        "approvedBy": "roaming-committee",
    }

    def ask(at: str, *where: str) -> dict[str, object]:
        args = [arg for pair in where for arg in ("--where", pair)]
        code, out, _ = run(capsys, "owner", roaming, *args, "--at", at, "--format", "json")
        assert code == 0
        answer: dict[str, object] = json.loads(out)
        return answer

    # An intended gap: unowned, and waived until its expiry day.
    gap = ask("2027-07-15", "category=volte", "region=mexico", "channel=hotline")
    assert (gap["status"], gap["waivers"]) == ("unowned", [volte])
    assert ask("2027-09-29", "category=volte", "region=mexico")["waivers"] == [volte]
    assert ask("2027-09-30", "category=volte", "region=mexico")["waivers"] == []
    # A query meeting the waived cells among owned ones names it too; one missing them not.
    mixed = ask("2027-07-15", "category=volte")
    assert (mixed["status"], mixed["waivers"]) == ("ambiguous", [volte])
    assert ask("2027-07-15", "category=volte", "region=spain")["waivers"] == []
    # An overlap tolerated during a migration: a conflict, with its waiver.
    card = str(REPO / "examples" / "co-branded-card")
    code, out, _ = run(capsys, "owner", card, "--where", "category=chargeback", "--where",
                       "region=abroad", "--at", "2026-11-22", "--format", "json")  # fmt: skip
    answer = json.loads(out)
    assert (code, answer["status"]) == (0, "conflict")
    assert [w["name"] for w in answer["waivers"]] == ["chargeback-migration"]


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


def test_owner_unknown_node_without_a_close_one_lists_the_choices(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(capsys, "owner", TRIPLE, "--where", "region=atlantis")
    assert (code, out) == (2, "")
    assert err == (
        "registry: --where region: unknown region 'atlantis'; "
        "choose from: north, south, east, west\n"
    )
    code, _, err = run(capsys, "owner", TRIPLE, "--where", "planet=mars")
    assert code == 2
    assert err.startswith("registry: --where planet: unknown dimension 'planet'")
    assert "category, region, channel" in err


def test_owner_text_for_an_owned_cell_and_a_conflict(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "owner", TRIPLE, "--where", "category=refund", "--where",
                       "region=north", "--where", "channel=web", "--at", "2026-11-22")  # fmt: skip
    assert code == 0
    assert out == (
        "triple-play: category=refund, region=north, channel=web on 2026-11-22: "
        "owned by metro (contract metro-care)\n"
        "  face: metro\n"
        "  escalate after PT4H: contact duty-manager email care-duty@metrohome.example\n"
        "  escalate after P1D: contact account-director email partners@metrohome.example\n"
        "  escalate after P2D: authority board email board@metrohome.example\n"
    )
    overlap = sorted(str(p) for p in (RULES / "coverage-overlap" / "fail").glob("*.yaml"))
    code, out, _ = run(capsys, "owner", *overlap, "--where", "category=refund",
                       "--at", "2026-11-22")  # fmt: skip
    assert code == 0
    assert out == (
        "metro-home: category=refund on 2026-11-22: conflict; candidates: fastnet, metro\n"
        "  face: metro\n"
        "  escalate after PT0S: authority board email board@metro.example\n"
    )


def test_audit_policy_file_sets_severities(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gap = _on_demand_gap(tmp_path)
    lenient = tmp_path / "lenient.yaml"
    lenient.write_text(
        "apiVersion: alliance-registry/v1\nkind: PolicySet\nmetadata: {name: lenient}\n"
        "spec:\n  rules:\n    coverage-gap: {severity: warning}\n"
    )
    code, out, _ = run(capsys, "audit", str(gap), "--as-of", "2026-11-22")
    assert code == 1 and "  coverage-gap (error): 1\n" in out
    code, out, _ = run(capsys, "audit", str(gap), "--as-of", "2026-11-22", "--policy", str(lenient))
    assert code == 0
    assert out.splitlines()[:3] == [
        "triple-play: as of 2026-11-22 (horizon P90D): 368 of 400 cells owned; 0 error(s), "
        "1 warning(s), 0 info; 16 waived cell(s)",
        "  coverage-gap (warning): 1",
        "    - no partner is accountable for 16 cells",
    ]
    assert run(capsys, "audit", str(gap), "--as-of", "2026-11-22", "--policy", str(lenient),
               "--fail-on", "warning")[0] == 1  # fmt: skip


def test_plan_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "plan", TRIPLE, str(_on_demand_gap(tmp_path)),
                       "--as-of", "2026-11-22")  # fmt: skip
    assert code == 1
    assert out == (
        "triple-play as of 2026-11-22: 1 finding(s) added, 0 removed\n"
        "  + coverage-gap (error): no partner is accountable for 16 cells [category=on-demand]\n"
        "  owners: 16 cell(s) in 1 box(es) change owner\n"
        "    category=on-demand: skyview -> nobody (16 cells)\n"
    )


def _on_demand_gap(tmp_path: Path) -> Path:
    """triple-play with SkyView giving up on-demand TV, which nobody takes over."""
    new = tmp_path / "triple-play"
    shutil.copytree(TRIPLE, new)
    contracts = new / "contracts.yaml"
    text = contracts.read_text()
    contracts.write_text(text.replace(
        "  accountable:\n    - where: {category: [tv]}\n",
        "  accountable:\n    - where: {category: [tv]}\n      except: [{category: [on-demand]}]\n",
    ))  # fmt: skip
    return new


def test_plan_shows_owner_moves(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    new = _on_demand_gap(tmp_path)
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
