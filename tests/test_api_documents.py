"""The document routes on SQLite and PostgreSQL: list, read now and at an earlier
revision, PUT and DELETE with ETags, apply (bundles, dry runs, deletions, the
alliance ETag), plan, and creating an alliance."""

from __future__ import annotations

import json
from typing import Any

from litestar import Litestar
from litestar.testing import TestClient

from registry.store import Store
from tests.apitools import (
    AS_OF,
    CABLENET_CONTRACT,
    CABLENET_PARTNER,
    FASTNET_NARROWED,
    FASTNET_PARTNER,
    SLOW_SPEED_GAP,
    YAML,
    A,
    problem,
    tables,
)
from tests.conftest import ALLIANCE, CONTRACTS, PARTNERS, bearer

Client = TestClient[Litestar]
SEEDED = [
    ("Alliance", "metro-home"),
    ("Contract", "fastnet-internet"),
    ("Contract", "metro-rest"),
    ("Partner", "fastnet"),
    ("Partner", "metro"),
]
NO_CHANGE = {"alliance": "metro-home", "asOf": AS_OF, "added": [], "removed": [], "moves": []}


def manager(tokens: dict[str, str], **headers: str) -> dict[str, str]:
    return {**bearer(tokens["manager"]), **headers}


def cablenet_json(legal_name: str) -> dict[str, Any]:
    """The cablenet Partner as a JSON document."""
    return {
        "apiVersion": "alliance-registry/v1",
        "kind": "Partner",
        "metadata": {"name": "cablenet", "alliance": "metro-home"},
        "spec": {
            "legalName": legal_name,
            "contacts": [{"name": "duty-manager", "email": "ops@cablenet.example"}],
            "endpoints": [
                {"name": "tickets", "type": "tmf621", "address": "https://cablenet.example/tmf"}
            ],
        },
    }


def test_list_alliances(client: Client, tokens: dict[str, str]) -> None:
    r = client.get("/v1/alliances", headers=manager(tokens))
    assert r.status_code == 200
    assert r.json() == [{"name": "metro-home", "revision": 1, "etag": '"r1"'}]


def test_list_documents(client: Client, tokens: dict[str, str], seeded: Store) -> None:
    r = client.get(f"{A}/documents", headers=manager(tokens))
    assert r.status_code == 200
    body = r.json()
    assert (body["alliance"], body["revision"]) == ("metro-home", 1)
    assert [(d["kind"], d["name"], d["revision"]) for d in body["documents"]] == [
        (kind, name, 1) for kind, name in SEEDED
    ]
    for d in body["documents"]:
        stored = seeded.document("metro-home", d["kind"], d["name"])
        assert stored is not None
        assert d["etag"] == stored.etag
        assert d["document"] == json.loads(stored.body)
    r = client.get(f"{A}/documents?kind=Contract", headers=manager(tokens))
    assert [d["name"] for d in r.json()["documents"]] == ["fastnet-internet", "metro-rest"]
    r = client.get(f"{A}/documents?kind=Waiver", headers=manager(tokens))
    assert r.json() == {"alliance": "metro-home", "revision": 1, "documents": []}


def test_get_document(client: Client, tokens: dict[str, str], seeded: Store) -> None:
    stored = seeded.document("metro-home", "Partner", "fastnet")
    assert stored is not None
    r = client.get(f"{A}/documents/Partner/fastnet", headers=manager(tokens))
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert (r.headers["etag"], r.headers["x-revision"]) == (stored.etag, "1")
    assert r.text == stored.body
    assert r.json() == {
        "kind": "Partner",
        "apiVersion": "alliance-registry/v1",
        "metadata": {"name": "fastnet", "alliance": "metro-home"},
        "spec": {
            "legalName": "FastNet Ltd",
            "contacts": [{"name": "duty-manager", "email": "noc@fastnet.example"}],
            "endpoints": [
                {"name": "tickets", "type": "tmf621", "address": "https://fastnet.example/tmf"}
            ],
        },
    }


def test_put_creates_replaces_and_keeps_every_version(
    client: Client, tokens: dict[str, str]
) -> None:
    url = f"{A}/documents/Partner/cablenet?asOf={AS_OF}"
    # Create (YAML), only if absent.
    r = client.put(
        url, headers=manager(tokens, **YAML, **{"If-None-Match": "*"}), content=CABLENET_PARTNER
    )
    assert r.status_code == 201
    first = r.headers["etag"]
    assert r.json() == {
        "alliance": "metro-home",
        "revision": 2,
        "applied": True,
        "forced": False,
        "documents": [{"ref": "Partner/cablenet", "action": "created", "etag": first}],
        "plan": NO_CHANGE,
    }
    r = client.get(f"{A}/documents/Partner/cablenet", headers=manager(tokens))
    assert (r.headers["etag"], r.headers["x-revision"]) == (first, "2")
    assert r.json() == cablenet_json("CableNet AG")
    # Replace (JSON), with the ETag last read.
    r = client.put(
        url, headers=manager(tokens, **{"If-Match": first}), json=cablenet_json("CableNet SE")
    )
    assert r.status_code == 200
    second = r.headers["etag"]
    assert second != first
    assert r.json() == {
        "alliance": "metro-home",
        "revision": 3,
        "applied": True,
        "forced": False,
        "documents": [{"ref": "Partner/cablenet", "action": "updated", "etag": second}],
        "plan": NO_CHANGE,
    }
    # The same content again changes nothing and writes no revision.
    r = client.put(
        url, headers=manager(tokens, **{"If-Match": second}), json=cablenet_json("CableNet SE")
    )
    assert r.status_code == 200
    assert r.headers["etag"] == second
    assert r.json() == {
        "alliance": "metro-home",
        "revision": 3,
        "applied": False,
        "forced": False,
        "documents": [{"ref": "Partner/cablenet", "action": "unchanged", "etag": second}],
        "plan": NO_CHANGE,
    }
    # Every version stays readable.
    for revision, etag, legal_name in [(2, first, "CableNet AG"), (3, second, "CableNet SE")]:
        r = client.get(
            f"{A}/documents/Partner/cablenet?revision={revision}", headers=manager(tokens)
        )
        assert (r.status_code, r.headers["etag"], r.headers["x-revision"]) == (
            200,
            etag,
            str(revision),
        )
        assert r.json()["spec"]["legalName"] == legal_name
        r = client.get(f"{A}/documents?revision={revision}", headers=manager(tokens))
        listed = {d["name"]: d for d in r.json()["documents"]}
        assert (r.json()["revision"], listed["cablenet"]["etag"]) == (revision, etag)
    r = client.get(f"{A}/documents?revision=1", headers=manager(tokens))
    assert [(d["kind"], d["name"]) for d in r.json()["documents"]] == SEEDED
    # A revision not reached yet is not there: 404 naming the current one.
    missing = "no revision 99 of alliance 'metro-home': its current revision is 3"
    problem(client.get(f"{A}/documents?revision=99", headers=manager(tokens)), 404, missing)
    r = client.get(f"{A}/documents/Partner/cablenet?revision=99", headers=manager(tokens))
    problem(r, 404, missing)
    r = client.get(f"{A}/documents/Partner/cablenet?revision=3", headers=manager(tokens))
    assert (r.status_code, r.headers["etag"], r.headers["x-revision"]) == (200, second, "3")
    r = client.get(f"{A}/history", headers=manager(tokens))
    assert [(e["revision"], e["actor"], e["action"]) for e in r.json()["entries"]] == [
        (1, "demo seed", "apply"),
        (2, "test manager (manager)", "put"),
        (3, "test manager (manager)", "put"),
    ]


def test_delete(client: Client, tokens: dict[str, str]) -> None:
    r = client.put(
        f"{A}/documents/Partner/cablenet",
        headers=manager(tokens, **YAML),
        content=CABLENET_PARTNER,
    )
    assert r.status_code == 201
    etag = r.headers["etag"]
    url = f"{A}/documents/Partner/cablenet?asOf={AS_OF}"
    r = client.delete(f"{url}&dryRun=true", headers=manager(tokens, **{"If-Match": etag}))
    assert r.status_code == 200
    assert (r.json()["revision"], r.json()["applied"]) == (2, False)
    r = client.delete(url, headers=manager(tokens, **{"If-Match": etag}))
    assert r.status_code == 200
    assert r.json() == {
        "alliance": "metro-home",
        "revision": 3,
        "applied": True,
        "forced": False,
        "documents": [{"ref": "Partner/cablenet", "action": "deleted", "etag": None}],
        "plan": NO_CHANGE,
    }
    r = client.get(f"{A}/documents/Partner/cablenet", headers=manager(tokens))
    assert (r.status_code, r.json()["detail"]) == (
        404,
        "no document Partner/cablenet in alliance 'metro-home'",
    )
    r = client.get(f"{A}/documents/Partner/cablenet?revision=2", headers=manager(tokens))
    assert (r.status_code, r.headers["etag"]) == (200, etag)
    r = client.get(f"{A}/history?after=2", headers=manager(tokens))
    [entry] = r.json()["entries"]
    assert (entry["action"], entry["documents"][0]["ref"], entry["documents"][0]["after"]) == (
        "delete",
        "Partner/cablenet",
        None,
    )


def test_apply_that_only_deletes_needs_no_body(client: Client, tokens: dict[str, str]) -> None:
    r = client.put(
        f"{A}/documents/Partner/cablenet", headers=manager(tokens, **YAML), content=CABLENET_PARTNER
    )
    assert r.status_code == 201
    # A plan and an apply with `delete` and nothing in the body (curl -X POST, no data).
    r = client.post(f"{A}/plan?asOf={AS_OF}&delete=Partner/cablenet", headers=manager(tokens))
    assert (r.status_code, r.json()["applied"], r.json()["plan"]) == (200, False, NO_CHANGE)
    r = client.post(
        f"{A}/apply?asOf={AS_OF}&delete=Partner/cablenet",
        headers=manager(tokens, **{"Content-Type": "application/json"}),
    )
    assert r.status_code == 200, r.text
    assert (r.json()["revision"], r.json()["applied"], r.json()["documents"]) == (
        3,
        True,
        [{"ref": "Partner/cablenet", "action": "deleted", "etag": None}],
    )
    r = client.get(f"{A}/documents/Partner/cablenet", headers=manager(tokens))
    assert r.status_code == 404
    # With neither documents nor `delete`, an apply has nothing to do: a clear 422.
    r = client.post(f"{A}/apply", headers=manager(tokens))
    assert r.status_code == 422
    assert r.json()["errors"] == [
        {
            "path": "$",
            "message": "the file is empty; write at least one document",
            "file": "request.json",
            "line": 1,
            "column": 1,
        }
    ]


def test_apply_a_handover_in_one_step(client: Client, tokens: dict[str, str]) -> None:
    """cablenet takes internet over from fastnet: a new partner, a new contract and a
    deleted one, in one revision."""
    question = f"{A}/owner?category=outage&region=north&at={AS_OF}"
    r = client.get(question, headers=bearer(tokens["resolver"]))
    assert r.json()["owner"] == {"partner": "fastnet", "contract": "fastnet-internet"}
    r = client.post(
        f"{A}/apply?asOf={AS_OF}&delete=Contract/fastnet-internet",
        headers=manager(tokens, **YAML, **{"If-Match": '"r1"'}),
        content=CABLENET_PARTNER + "---\n" + CABLENET_CONTRACT,
    )
    assert r.status_code == 200
    body = r.json()
    assert (body["alliance"], body["revision"], body["applied"], body["forced"]) == (
        "metro-home",
        2,
        True,
        False,
    )
    [partner, contract, deleted] = body["documents"]
    assert (partner["ref"], partner["action"]) == ("Partner/cablenet", "created")
    assert (contract["ref"], contract["action"]) == ("Contract/cablenet-internet", "created")
    assert deleted == {"ref": "Contract/fastnet-internet", "action": "deleted", "etag": None}
    r = client.get(f"{A}/documents/Contract/cablenet-internet", headers=manager(tokens))
    assert r.headers["etag"] == contract["etag"]
    assert body["plan"]["moves"] == [
        {
            "region": {"category": ["connectivity"]},
            "cells": 4,
            "example": {"category": "outage", "region": "north"},
            "before": ["fastnet"],
            "after": ["cablenet"],
        }
    ]
    assert [(f["rule"], f["message"]) for f in body["plan"]["added"]] == [
        (
            "gray-zone",
            "metro has scope where cablenet is accountable but is not in its consulted team "
            "(4 cells)",
        )
    ]
    assert [(f["rule"], f["message"]) for f in body["plan"]["removed"]] == [
        (
            "gray-zone",
            "metro has scope where fastnet is accountable but is not in its consulted team "
            "(4 cells)",
        )
    ]
    # Every worker answers from the new revision at once.
    r = client.get(question, headers=bearer(tokens["resolver"]))
    answer = r.json()
    assert (answer["revision"], answer["owner"]) == (
        2,
        {"partner": "cablenet", "contract": "cablenet-internet"},
    )
    assert answer["handoff"] == {
        "endpoint": {
            "name": "tickets",
            "type": "tmf621",
            "address": "https://cablenet.example/tmf",
        },
        "mode": "retain",
        "acknowledgeWithin": "PT2H",
    }
    r = client.get(f"{A}/history?after=1", headers=manager(tokens))
    [entry] = r.json()["entries"]
    assert (entry["action"], [d["ref"] for d in entry["documents"]]) == (
        "apply",
        ["Partner/cablenet", "Contract/cablenet-internet", "Contract/fastnet-internet"],
    )
    r = client.get("/v1/alliances", headers=manager(tokens))
    assert r.json() == [{"name": "metro-home", "revision": 2, "etag": '"r2"'}]


def test_apply_a_json_array(client: Client, tokens: dict[str, str], seeded: Store) -> None:
    documents = [json.loads(d.body) for d in seeded.documents("metro-home") if d.kind == "Partner"]
    for document in documents:
        document["spec"]["legalName"] += " (renamed)"
    documents.append(cablenet_json("CableNet AG"))
    r = client.post(f"{A}/apply?asOf={AS_OF}", headers=manager(tokens), json=documents)
    assert r.status_code == 200
    assert [(d["ref"], d["action"]) for d in r.json()["documents"]] == [
        ("Partner/fastnet", "updated"),
        ("Partner/metro", "updated"),
        ("Partner/cablenet", "created"),
    ]
    assert r.json()["revision"] == 2
    r = client.get(f"{A}/documents/Partner/metro", headers=manager(tokens))
    assert r.json()["spec"]["legalName"] == "Metro Home plc (renamed)"


def test_apply_dry_run_and_plan_write_nothing(
    client: Client, tokens: dict[str, str], seeded: Store
) -> None:
    before = tables(seeded)
    for url in (f"{A}/apply?dryRun=true&force=true&asOf={AS_OF}", f"{A}/plan?asOf={AS_OF}"):
        r = client.post(url, headers=manager(tokens, **YAML), content=FASTNET_NARROWED)
        assert r.status_code == 200, r.text
        body = r.json()
        assert (body["revision"], body["applied"], body["forced"]) == (1, False, False)
        assert body["documents"] == [
            {"ref": "Contract/fastnet-internet", "action": "updated", "etag": None}
        ]
        assert body["plan"]["added"][0] == SLOW_SPEED_GAP
        assert body["plan"]["moves"] == [
            {
                "region": {"category": ["slow-speed"]},
                "cells": 2,
                "example": {"category": "slow-speed", "region": "north"},
                "before": ["fastnet"],
                "after": [],
            }
        ]
    # A plan may delete too; and planning an unchanged document plans nothing.
    fastnet = seeded.document("metro-home", "Partner", "fastnet")
    assert fastnet is not None
    r = client.post(
        f"{A}/plan?asOf={AS_OF}&delete=Contract/metro-rest",
        headers=manager(tokens, **YAML),
        content=FASTNET_PARTNER,
    )
    assert r.status_code == 200
    assert r.json()["documents"] == [
        {"ref": "Partner/fastnet", "action": "unchanged", "etag": fastnet.etag},
        {"ref": "Contract/metro-rest", "action": "deleted", "etag": None},
    ]
    assert [(f["rule"], f["region"]) for f in r.json()["plan"]["added"]] == [
        ("coverage-gap", {"category": ["billing", "installation"]})
    ]
    assert tables(seeded) == before


def test_create_an_alliance(client: Client, tokens: dict[str, str], seeded: Store) -> None:
    bundle = "---\n".join(
        text.replace("metro-home", "other-home") for text in (ALLIANCE, PARTNERS, CONTRACTS)
    )
    _, other_manager = seeded.create_token("manager", "other-home", None, "other manager")
    # Neither a manager of another alliance nor a partner may create it: to them it is not there.
    for token in (tokens["manager"], tokens["partner"]):
        r = client.post(
            "/v1/alliances/other-home/apply", headers={**bearer(token), **YAML}, content=bundle
        )
        assert (r.status_code, r.json()["detail"]) == (404, "no alliance 'other-home'")
    # Its own manager may.
    r = client.post(
        f"/v1/alliances/other-home/apply?asOf={AS_OF}",
        headers={**bearer(other_manager), **YAML},
        content=bundle,
    )
    assert r.status_code == 200, r.text
    assert (r.json()["revision"], r.json()["applied"]) == (1, True)
    assert [(d["ref"], d["action"]) for d in r.json()["documents"]] == [
        ("Alliance/other-home", "created"),
        ("Partner/metro", "created"),
        ("Partner/fastnet", "created"),
        ("Contract/fastnet-internet", "created"),
        ("Contract/metro-rest", "created"),
    ]
    # The audit of a new alliance: everything is added.
    assert [f["rule"] for f in r.json()["plan"]["added"]] == ["gray-zone"]
    assert r.json()["plan"]["moves"] is None
    r = client.get("/v1/alliances", headers=bearer(tokens["admin"]))
    assert r.json() == [
        {"name": "metro-home", "revision": 1, "etag": '"r1"'},
        {"name": "other-home", "revision": 1, "etag": '"r1"'},
    ]
    r = client.get("/v1/alliances", headers=bearer(other_manager))
    assert r.json() == [{"name": "other-home", "revision": 1, "etag": '"r1"'}]
    r = client.get("/v1/alliances", headers=manager(tokens))
    assert r.json() == [{"name": "metro-home", "revision": 1, "etag": '"r1"'}]
    # An admin creates alliances too, but only by sending the Alliance document.
    r = client.post(
        "/v1/alliances/third-home/apply",
        headers={**bearer(tokens["admin"]), **YAML},
        content=PARTNERS.replace("metro-home", "third-home"),
    )
    assert (r.status_code, r.json()["detail"]) == (
        404,
        "no alliance 'third-home'; create it by sending its Alliance document",
    )
