"""Expectations: each field of a promise kept and broken, with the exact message of
rule expectation-failed; the references a promise makes; `registry test` in text and
JUnit; and a write that breaks a promise refused with 409, as any error finding is.

The alliance is the minimal one of conftest.py (fastnet accountable for internet from
2026-01-01 until 2028-01-01 with a `retain` handoff to its `tickets` endpoint, metro
for the rest and the face everywhere), with an `ombudsman` authority besides `board`.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from registry.cli import main
from registry.findings import Finding
from registry.load import load_texts
from registry.rules import audit
from tests.conftest import ALLIANCE, CONTRACTS, PARTNERS, bearer

AS_OF = dt.date(2026, 11, 22)
WITH_OMBUDSMAN = ALLIANCE.replace(
    "    - {name: board, email: board@metro.example}\n",
    "    - {name: board, email: board@metro.example}\n    - {name: ombudsman}\n",
)
OUTAGE = {"category": "outage", "region": "north"}


def expectation(*promises: dict[str, Any], name: str = "promises") -> str:
    document = {
        "apiVersion": "alliance-registry/v1",
        "kind": "Expectation",
        "metadata": {"name": name, "alliance": "metro-home"},
        "spec": {"promises": [{"name": f"p{i}", **p} for i, p in enumerate(promises)]},
    }
    return json.dumps(document)


def files(*promises: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        ("alliance.yaml", WITH_OMBUDSMAN),
        ("partners.yaml", PARTNERS),
        ("contracts.yaml", CONTRACTS),
        ("expectations.json", expectation(*promises)),
    ]


def broken(*promises: dict[str, Any]) -> list[Finding]:
    result = load_texts(files(*promises))
    assert result.errors == [], [str(e) for e in result.errors]
    report = audit(result.bundles["metro-home"], AS_OF)
    return [f for f in report.findings if f.rule == "expectation-failed"]


# (the promise but its name, the fields it breaks; [] when it is kept)
CASES = [
    ({"where": OUTAGE, "status": "owned"}, []),
    ({"where": OUTAGE, "status": "unowned"}, ["status: expected unowned, got owned"]),
    ({"where": OUTAGE, "owner": "fastnet"}, []),
    ({"where": OUTAGE, "owner": "metro"}, ["owner: expected metro, got fastnet"]),
    ({"where": OUTAGE, "face": "metro"}, []),
    ({"where": OUTAGE, "face": "fastnet"}, ["face: expected fastnet, got metro"]),
    ({"where": OUTAGE, "handoff": {"mode": "retain"}}, []),
    (
        {"where": OUTAGE, "handoff": {"mode": "transfer"}},
        ["handoff.mode: expected transfer, got retain"],
    ),
    ({"where": OUTAGE, "handoff": {"endpoint": "tickets"}}, []),
    (
        {"where": {"category": "refund"}, "handoff": {"mode": "retain", "endpoint": "tickets"}},
        [
            "handoff.mode: expected retain, got no handoff",
            "handoff.endpoint: expected tickets, got no handoff",
        ],
    ),
    ({"where": OUTAGE, "consulted": []}, []),
    ({"where": OUTAGE, "consulted": ["metro"]}, ["consulted: expected metro, got none"]),
    ({"where": OUTAGE, "escalatesTo": "board"}, []),
    ({"where": OUTAGE, "escalatesTo": "ombudsman"}, ["escalatesTo: expected ombudsman, got board"]),
    # After fastnet's contract ends, nobody owns outages; the authority takes them.
    (
        {"where": OUTAGE, "at": "2028-06-01", "owner": "fastnet", "status": "owned"},
        ["status: expected owned, got unowned", "owner: expected fastnet, got none (unowned)"],
    ),
    ({"where": OUTAGE, "at": "2028-06-01", "escalatesTo": "board"}, []),
    # A node stands for every cell under it: internet is fastnet's, a region is not one's.
    ({"where": {"category": "internet"}, "status": "owned", "owner": "fastnet"}, []),
    (
        {"where": {"region": "north"}, "owner": "metro"},
        ["owner: expected metro, got none (ambiguous)"],
    ),
    # Fields in the documented order, every one that differs.
    (
        {
            "where": OUTAGE,
            "escalatesTo": "ombudsman",
            "consulted": ["metro"],
            "face": "fastnet",
            "owner": "metro",
        },
        [
            "owner: expected metro, got fastnet",
            "face: expected fastnet, got metro",
            "consulted: expected metro, got none",
            "escalatesTo: expected ombudsman, got board",
        ],
    ),
]


@pytest.mark.parametrize(("promise", "fields"), CASES)
def test_each_field_kept_and_broken(promise: dict[str, Any], fields: list[str]) -> None:
    found = broken(promise)
    if not fields:
        assert found == []
        return
    (finding,) = found
    where = ", ".join(f"{d}={n}" for d, n in promise["where"].items())
    day = promise.get("at", AS_OF.isoformat())
    assert finding.message == f"promise 'p0' ({where} on {day}) is broken: " + "; ".join(fields)
    assert finding.severity == "error"
    assert finding.documents == ["Expectation/promises"]
    assert finding.date == promise.get("at")


def test_a_broken_promise_names_its_cells_and_the_owner_found() -> None:
    (finding,) = broken({"where": OUTAGE, "owner": "metro"})
    assert finding.message == (
        "promise 'p0' (category=outage, region=north on 2026-11-22) is broken: "
        "owner: expected metro, got fastnet"
    )
    assert finding.partners == ["fastnet"]
    assert finding.region == {"category": ["outage"], "region": ["north"]}
    assert finding.cells == 1
    assert finding.example == OUTAGE
    (box,) = broken({"where": {"region": "north"}, "status": "owned"})
    assert box.partners == ["fastnet", "metro"]  # the candidates
    assert box.region == {"region": ["north"]}
    assert box.cells == 5


def test_each_broken_promise_is_a_finding_of_its_own() -> None:
    found = broken(
        {"where": OUTAGE, "owner": "metro"},
        {"where": OUTAGE, "owner": "fastnet"},
        {"where": {"category": "refund", "region": "north"}, "owner": "fastnet"},
    )
    assert [f.message.split(")")[0] for f in found] == [
        "promise 'p0' (category=outage, region=north on 2026-11-22",
        "promise 'p2' (category=refund, region=north on 2026-11-22",
    ]


def load_errors(*promises: dict[str, Any]) -> list[str]:
    errors = load_texts(files(*promises)).errors
    return [f"{e.file}: {e.path}: {e.message}" for e in errors]


def test_a_promise_references_what_the_alliance_has() -> None:
    errors = load_errors(
        {"where": {"category": "outgae"}, "owner": "fastnett"},
        {"where": OUTAGE, "face": "cablenet", "consulted": ["metr"]},
        {"where": OUTAGE, "owner": "fastnet", "handoff": {"endpoint": "ticket"}},
        {"where": OUTAGE, "escalatesTo": "bored"},
        {"where": {"regoin": "north"}},
    )
    assert errors == [
        "expectations.json: $.spec.promises[0].where.category: unknown category 'outgae' "
        "(did you mean 'outage'?)",
        "expectations.json: $.spec.promises[0].owner: unknown partner 'fastnett' in alliance "
        "'metro-home' (did you mean 'fastnet'?)",
        "expectations.json: $.spec.promises[1].face: unknown partner 'cablenet' in alliance "
        "'metro-home'; choose from: fastnet, metro",
        "expectations.json: $.spec.promises[1].consulted[0]: unknown partner 'metr' in "
        "alliance 'metro-home' (did you mean 'metro'?)",
        "expectations.json: $.spec.promises[2].handoff.endpoint: unknown endpoint 'ticket' of "
        "partner 'fastnet' (did you mean 'tickets'?)",
        "expectations.json: $.spec.promises[3].escalatesTo: unknown authority 'bored' "
        "(did you mean 'board'?)",
        "expectations.json: $.spec.promises[4].where.regoin: unknown dimension 'regoin' "
        "(did you mean 'region'?)",
    ]


def test_promise_names_are_unique_and_where_is_one_node_per_dimension() -> None:
    assert load_errors({"where": OUTAGE}, {"where": OUTAGE, "name": "p0"}) == [
        "expectations.json: $.spec.promises[1].name: duplicate promise 'p0'; rename or remove one"
    ]
    assert load_errors({"where": {"category": ["outage"]}}) == [
        "expectations.json: $.spec.promises[0].where.category: expected a string, got a list"
    ]


def write(folder: Path, *promises: dict[str, Any]) -> list[str]:
    for name, text in files(*promises):
        (folder / name).write_text(text, encoding="utf-8")
    return [str(folder / name) for name, _ in files(*promises)]


def test_registry_test_runs_only_the_promises(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = write(
        tmp_path, {"where": OUTAGE, "owner": "fastnet"}, {"where": OUTAGE, "face": "fastnet"}
    )
    assert main(["test", *paths, "--as-of", "2026-11-22"]) == 1
    assert capsys.readouterr().out == (
        "metro-home as of 2026-11-22: 2 promises, 1 kept, 1 broken\n"
        "  ✓ promises/p0\n"
        "  ✗ promises/p1: face: expected fastnet, got metro\n"
    )
    assert main(["test", *paths[:3], "--as-of", "2026-11-22"]) == 2
    assert capsys.readouterr().err == (
        "registry: the paths hold no Expectation document; nothing to test\n"
    )


def test_registry_test_as_junit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    paths = write(
        tmp_path, {"where": OUTAGE, "owner": "fastnet"}, {"where": OUTAGE, "face": "fastnet"}
    )
    assert main(["test", *paths, "--as-of", "2026-11-22", "--format", "junit"]) == 1
    out = capsys.readouterr().out
    assert '<testsuite name="metro-home as of 2026-11-22"' in out
    assert 'tests="2"' in out and 'failures="1"' in out
    assert '<testcase name="p0" classname="metro-home.promises" />' in out
    assert (
        '<failure message="face: expected fastnet, got metro" type="expectation-failed">'
        "promise 'p1' (category=outage, region=north on 2026-11-22) is broken: "
        "face: expected fastnet, got metro</failure>"
    ) in out


def test_a_write_that_breaks_a_promise_is_refused_with_409(
    client: TestClient[Litestar], tokens: dict[str, str]
) -> None:
    manager = bearer(tokens["manager"]) | {"Content-Type": "application/yaml"}
    url = "/v1/alliances/metro-home"
    kept = expectation({"where": OUTAGE, "owner": "fastnet"}, name="internet")
    response = client.put(f"{url}/documents/Expectation/internet", content=kept, headers=manager)
    assert response.status_code == 201, response.text
    # Moving outages to metro breaks it: refused, with the finding in the plan.
    moved = CONTRACTS.replace(
        "    - where: {category: [billing, installation]}",
        "    - where: {category: [billing, installation, outage]}",
    ).replace(
        "    - where: {category: [internet]}\n  handoffs",
        "    - where: {category: [slow-speed]}\n  handoffs",
    )
    response = client.post(f"{url}/apply?asOf=2026-11-22", content=moved, headers=manager)
    assert response.status_code == 409, response.text
    problem = response.json()
    assert problem["detail"].startswith("the change adds 1 error finding; nothing was written")
    added = {(f["rule"], f["message"]) for f in problem["plan"]["added"]}
    assert (
        "expectation-failed",
        "promise 'p0' (category=outage, region=north on 2026-11-22) is broken: "
        "owner: expected fastnet, got metro",
    ) in added
    # A broken promise written on its own is refused the same way.
    wrong = expectation({"where": OUTAGE, "owner": "metro"}, name="wrong")
    response = client.put(
        f"{url}/documents/Expectation/wrong?asOf=2026-11-22", content=wrong, headers=manager
    )
    assert response.status_code == 409, response.text
    (finding,) = response.json()["plan"]["added"]
    assert finding["message"] == (
        "promise 'p0' (category=outage, region=north on 2026-11-22) is broken: "
        "owner: expected metro, got fastnet"
    )
