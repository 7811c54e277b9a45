"""The question routes on SQLite and PostgreSQL: owner (full cells, inner nodes,
omitted dimensions; owned, unowned, conflict, ambiguous), owner:batch, audit (json,
sarif, csv), history pages and verify, /health, and the OpenAPI description
(tickets:route has its own tests in test_tickets.py)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from litestar import Litestar
from litestar._parsers import parse_query_string
from litestar.routes import HTTPRoute
from litestar.testing import TestClient
from sqlalchemy import text

from registry.api.queries import split_plain_query
from registry.store import Store
from tests.apitools import (
    AS_OF,
    CABLENET_PARTNER,
    METRO_NORTH_CONTRACT,
    UNAUTHORIZED,
    YAML,
    A,
    problem,
)
from tests.conftest import bearer

Client = TestClient[Litestar]

AUTHORITY = {"name": "board", "email": "board@metro.example"}
TO_THE_AUTHORITY = [{"after": "PT0S", "to": {"authority": "board", "email": "board@metro.example"}}]
FASTNET = {
    "status": "owned",
    "owner": {"partner": "fastnet", "contract": "fastnet-internet"},
    "candidates": [],
    "waivers": [],
    "face": {"partner": "metro"},
    "handoff": {
        "endpoint": {"name": "tickets", "type": "tmf621", "address": "https://fastnet.example/tmf"},
        "mode": "retain",
        "acknowledgeWithin": "PT1H",
        "resolveWithin": "P2D",
    },
    "consulted": [],
    "escalation": [
        {"after": "PT4H", "to": {"contact": "duty-manager", "email": "noc@fastnet.example"}},
        {"after": "P1D", "to": {"authority": "board", "email": "board@metro.example"}},
    ],
    "authority": AUTHORITY,
}
METRO = {
    "status": "owned",
    "owner": {"partner": "metro", "contract": "metro-rest"},
    "candidates": [],
    "waivers": [],
    "face": {"partner": "metro"},
    "handoff": None,
    "consulted": [],
    "escalation": [
        {"after": "PT4H", "to": {"contact": "duty-manager", "email": "duty@metro.example"}},
        {"after": "P1D", "to": {"authority": "board", "email": "board@metro.example"}},
    ],
    "authority": AUTHORITY,
}


def unresolved(status: str, candidates: list[str]) -> dict[str, Any]:
    """The answer when no single partner owns the complaint: to the authority at once."""
    return {
        "status": status,
        "owner": None,
        "candidates": candidates,
        "waivers": [],
        "face": {"partner": "metro"},
        "handoff": None,
        "consulted": [],
        "escalation": TO_THE_AUTHORITY,
        "authority": AUTHORITY,
    }


def answer(
    query: dict[str, str], at: str, verdict: dict[str, Any], revision: int = 1
) -> dict[str, Any]:
    return {"alliance": "metro-home", "at": at, "revision": revision, "query": query, **verdict}


def today() -> set[str]:
    """Today in UTC, or tomorrow should the test run across midnight."""
    now = dt.datetime.now(dt.UTC).date()
    return {now.isoformat(), (now + dt.timedelta(days=1)).isoformat()}


# -- owner ------------------------------------------------------------------------------

OWNER_CASES = [
    # a full cell
    ({"category": "outage", "region": "north"}, AS_OF, FASTNET),
    ({"category": "refund", "region": "south"}, AS_OF, METRO),
    # inner nodes
    ({"category": "internet", "region": "north"}, AS_OF, FASTNET),
    ({"category": "billing", "region": "south"}, AS_OF, METRO),
    # a dimension left out
    ({"category": "outage"}, AS_OF, FASTNET),
    ({"category": "installation"}, AS_OF, METRO),
    # before fastnet's contract begins, after it ends
    ({"category": "outage", "region": "north"}, "2025-06-01", unresolved("unowned", [])),
    ({"category": "connectivity"}, "2028-06-01", unresolved("unowned", [])),
    # cells of different owners
    ({"region": "north"}, AS_OF, unresolved("ambiguous", ["fastnet", "metro"])),
    ({}, AS_OF, unresolved("ambiguous", ["fastnet", "metro"])),
    ({"category": "connectivity"}, "2025-06-01", unresolved("unowned", [])),
    ({"region": "south"}, "2025-06-01", unresolved("ambiguous", ["metro"])),
]


@pytest.mark.parametrize(("query", "at", "verdict"), OWNER_CASES)
def test_owner(
    client: Client,
    tokens: dict[str, str],
    query: dict[str, str],
    at: str,
    verdict: dict[str, Any],
) -> None:
    r = client.get(f"{A}/owner", params={**query, "at": at}, headers=bearer(tokens["resolver"]))
    assert r.status_code == 200, r.text
    assert r.json() == answer(query, at, verdict)


def test_owner_conflict(client: Client, tokens: dict[str, str]) -> None:
    """metro made accountable for internet in the north too (forced by the manager)."""
    r = client.post(
        f"{A}/apply?force=true&asOf={AS_OF}",
        headers={**bearer(tokens["manager"]), **YAML},
        content=METRO_NORTH_CONTRACT,
    )
    assert (r.status_code, r.json()["forced"]) == (200, True)
    resolver = bearer(tokens["resolver"])
    cases = [
        ({"category": "outage", "region": "north"}, unresolved("conflict", ["fastnet", "metro"])),
        ({"category": "internet", "region": "north"}, unresolved("conflict", ["fastnet", "metro"])),
        ({"category": "outage", "region": "south"}, FASTNET),
        ({"category": "outage"}, unresolved("ambiguous", ["fastnet", "metro"])),
    ]
    for query, verdict in cases:
        r = client.get(f"{A}/owner", params={**query, "at": AS_OF}, headers=resolver)
        assert r.json() == answer(query, AS_OF, verdict, revision=2)


def test_owner_today_by_default(client: Client, tokens: dict[str, str]) -> None:
    r = client.get(f"{A}/owner?category=refund&region=north", headers=bearer(tokens["resolver"]))
    assert r.status_code == 200
    assert r.json()["at"] in today()
    assert r.json()["owner"] == METRO["owner"]


# -- owner:batch ------------------------------------------------------------------------


def test_owner_batch(client: Client, tokens: dict[str, str]) -> None:
    resolver = bearer(tokens["resolver"])
    queries = [
        {"where": {"category": "outage", "region": "north"}},
        {"where": {"category": "outage", "region": "north"}, "at": "2025-06-01"},
        {"where": {"category": "billing"}},
        {"where": {}},
    ]
    r = client.post(f"{A}/owner:batch", headers=resolver, json={"at": AS_OF, "queries": queries})
    assert r.status_code == 200, r.text
    assert r.json() == {
        "alliance": "metro-home",
        "revision": 1,
        "answers": [
            answer(queries[0]["where"], AS_OF, FASTNET),
            answer(queries[1]["where"], "2025-06-01", unresolved("unowned", [])),
            answer(queries[2]["where"], AS_OF, METRO),
            answer({}, AS_OF, unresolved("ambiguous", ["fastnet", "metro"])),
        ],
    }
    # Each answer is the one GET .../owner gives.
    for query, single in zip(queries, r.json()["answers"], strict=True):
        params = {**query["where"], "at": query.get("at", AS_OF)}
        assert client.get(f"{A}/owner", params=params, headers=resolver).json() == single
    # Without `at` anywhere: today.
    r = client.post(f"{A}/owner:batch", headers=resolver, json={"queries": queries[:1]})
    assert r.json()["answers"][0]["at"] in today()
    r = client.post(f"{A}/owner:batch", headers=resolver, json={"queries": []})
    assert r.json() == {"alliance": "metro-home", "revision": 1, "answers": []}


def test_owner_batch_errors_name_their_query(client: Client, tokens: dict[str, str]) -> None:
    queries = [
        {"where": {"category": "outage", "region": "north"}},
        {"where": {"category": "outage", "region": "east"}},
        {"where": {"category": "refund"}},
        {"where": {"categroy": "refund"}},
    ]
    r = client.post(
        f"{A}/owner:batch", headers=bearer(tokens["resolver"]), json={"queries": queries}
    )
    problem(
        r,
        400,
        "2 error(s) in the queries; nothing answered",
        [
            {
                "path": "$.queries[1].where.region",
                "message": "unknown region 'east'; choose from: north, south",
            },
            {
                "path": "$.queries[3].where.categroy",
                "message": "unknown dimension 'categroy' (did you mean 'category'?)",
            },
        ],
    )


def test_owner_batch_limit(client: Client, tokens: dict[str, str]) -> None:
    resolver = bearer(tokens["resolver"])
    cell = {"where": {"category": "outage", "region": "north"}}
    r = client.post(
        f"{A}/owner:batch", headers=resolver, json={"at": AS_OF, "queries": [cell] * 10_000}
    )
    assert r.status_code == 200
    answers = r.json()["answers"]
    assert len(answers) == 10_000
    assert answers[0] == answers[-1] == answer(cell["where"], AS_OF, FASTNET)
    r = client.post(
        f"{A}/owner:batch", headers=resolver, json={"at": AS_OF, "queries": [cell] * 10_001}
    )
    problem(
        r,
        400,
        f"Validation failed for POST {A}/owner:batch",
        [{"path": "$.body.queries", "message": "Expected `array` of length <= 10000"}],
    )


# -- audit ------------------------------------------------------------------------------

GRAY_ZONE = {
    "rule": "gray-zone",
    "severity": "warning",
    "message": "metro has scope where fastnet is accountable but is not in its consulted team "
    "(4 cells)",
    "partners": ["fastnet", "metro"],
    "documents": ["Contract/fastnet-internet"],
    "region": {"category": ["connectivity"]},
    "cells": 4,
    "example": {"category": "outage", "region": "north"},
    "date": None,
}


def test_audit_json(client: Client, tokens: dict[str, str]) -> None:
    r = client.get(f"{A}/audit?asOf={AS_OF}", headers=bearer(tokens["auditor"]))
    assert (r.status_code, r.headers["content-type"]) == (200, "application/json")
    assert r.json() == {
        "alliance": "metro-home",
        "asOf": AS_OF,
        "horizon": "P90D",
        "revision": 1,
        "summary": {
            "cells": 10,
            "owned": 10,
            "error": 0,
            "warning": 1,
            "info": 0,
            "waivedCells": 0,
        },
        "findings": [GRAY_ZONE],
    }
    # After fastnet's contract: the gap.
    r = client.get(f"{A}/audit?asOf=2028-02-01", headers=bearer(tokens["auditor"]))
    assert r.json()["summary"] == {
        "cells": 10,
        "owned": 6,
        "error": 1,
        "warning": 0,
        "info": 0,
        "waivedCells": 0,
    }
    assert r.json()["findings"] == [
        {
            "rule": "coverage-gap",
            "severity": "error",
            "message": "no partner is accountable for 4 cells",
            "partners": [],
            "documents": ["Alliance/metro-home"],
            "region": {"category": ["connectivity"]},
            "cells": 4,
            "example": {"category": "outage", "region": "north"},
            "date": None,
        }
    ]


def test_audit_today_by_default_and_of_the_current_revision(
    client: Client, tokens: dict[str, str]
) -> None:
    auditor = bearer(tokens["auditor"])
    r = client.get(f"{A}/audit", headers=auditor)
    assert (r.json()["asOf"] in today(), r.json()["revision"]) == (True, 1)
    r = client.put(
        f"{A}/documents/Partner/cablenet",
        headers={**bearer(tokens["manager"]), **YAML},
        content=CABLENET_PARTNER,
    )
    assert r.status_code == 201
    r = client.get(f"{A}/audit?asOf={AS_OF}", headers=auditor)
    assert r.json()["revision"] == 2


def test_audit_sarif(client: Client, tokens: dict[str, str]) -> None:
    r = client.get(f"{A}/audit?asOf={AS_OF}&format=sarif", headers=bearer(tokens["auditor"]))
    assert (r.status_code, r.headers["content-type"]) == (200, "application/sarif+json")
    sarif = r.json()
    assert sarif["version"] == "2.1.0"
    [run] = sarif["runs"]
    assert run["tool"]["driver"]["name"] == "alliance-registry"
    assert run["results"] == [
        {
            "ruleId": "gray-zone",
            "level": "warning",
            "message": {
                "text": "metro-home: metro has scope where fastnet is accountable but is not in "
                "its consulted team (4 cells) (category=connectivity)"
            },
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": "Contract/fastnet-internet.json"},
                        "region": {"startLine": 1, "startColumn": 1},
                    },
                    "logicalLocations": [{"name": "Contract/fastnet-internet", "kind": "object"}],
                }
            ],
            # Of the alliance, rule, documents, partners, region and date: the same on
            # every run (tests/test_sarif.py).
            "partialFingerprints": {"allianceFinding/v1": "136b9c27a6de1e1820017fd74c05fa64"},
            "properties": {
                "alliance": "metro-home",
                "partners": ["fastnet", "metro"],
                "region": {"category": ["connectivity"]},
                "cells": 4,
                "date": None,
            },
        }
    ]


def test_audit_csv(client: Client, tokens: dict[str, str]) -> None:
    r = client.get(f"{A}/audit?asOf=2028-02-01&format=csv", headers=bearer(tokens["auditor"]))
    assert (r.status_code, r.headers["content-type"]) == (200, "text/csv; charset=utf-8")
    assert r.text.endswith("cells\n")  # the last row ends in a newline, as every row does
    assert r.text.splitlines() == [
        "alliance,asOf,rule,severity,partners,documents,region,cells,example,date,message",
        "metro-home,2028-02-01,coverage-gap,error,,Alliance/metro-home,category=connectivity,4,"
        "outage/north,,no partner is accountable for 4 cells",
    ]


def test_audit_format_names_the_choices(client: Client, tokens: dict[str, str]) -> None:
    r = client.get(f"{A}/audit?format=xml", headers=bearer(tokens["auditor"]))
    problem(
        r,
        400,
        f"Validation failed for GET {A}/audit?format=xml",
        [
            {
                "path": "$.query.format",
                "message": "Invalid enum value 'xml': the choices are json, sarif, csv",
            }
        ],
    )


@pytest.mark.parametrize("day", ["20261122", "2026-W47-7", "2026-11-22T00:00", "2026-11-31"])
def test_at_and_as_of_take_only_yyyy_mm_dd(
    client: Client, tokens: dict[str, str], day: str
) -> None:
    """`at` reads days as `asOf` does: 2026-11-22, not the basic or week forms that
    Python's date.fromisoformat also reads."""
    resolver = bearer(tokens["resolver"])
    r = client.get(f"{A}/owner?category=outage&at={day}", headers=resolver)
    problem(
        r,
        400,
        "the query names what the alliance does not have",
        [
            {
                "path": "$.query.at",
                "message": f"'{day}' is not a date of the form YYYY-MM-DD, such as 2026-11-22",
            }
        ],
    )
    r = client.get(f"{A}/audit?asOf={day}", headers=bearer(tokens["auditor"]))
    problem(
        r,
        400,
        f"Validation failed for GET {A}/audit?asOf={day}",
        [{"path": "$.query.asOf", "message": "Invalid RFC3339 encoded date"}],
    )
    r = client.get(f"{A}/owner?category=outage&at=2026-11-22", headers=resolver)
    assert r.json()["at"] == "2026-11-22"


ONE_NODE = "name one node: an inner node covers its subtree"


@pytest.mark.parametrize(
    ("query", "errors"),
    [
        (
            "category=refund&category=outage",
            [("category", f"given 2 times (refund, outage); {ONE_NODE}")],
        ),
        (  # escaped, so litestar's parser splits it
            "category=re%66und&region=north&category=outage",
            [("category", f"given 2 times (refund, outage); {ONE_NODE}")],
        ),
        (
            "category=outage&at=2026-11-22&at=2026-11-23&region=north&region=south",
            [
                ("at", "given 2 times (2026-11-22, 2026-11-23); ask about one day"),
                ("region", f"given 2 times (north, south); {ONE_NODE}"),
            ],
        ),
    ],
)
def test_a_repeated_query_parameter_is_refused(
    client: Client, tokens: dict[str, str], query: str, errors: list[tuple[str, str]]
) -> None:
    r = client.get(f"{A}/owner?{query}", headers=bearer(tokens["resolver"]))
    problem(
        r,
        400,
        "a query parameter is given more than once; give each once",
        [{"path": f"$.query.{name}", "message": message} for name, message in errors],
    )
    # An empty part is no repetition.
    r = client.get(f"{A}/owner?category=outage&&region=north&", headers=bearer(tokens["resolver"]))
    assert r.status_code == 200, r.text


# -- history ----------------------------------------------------------------------------


def test_history_pages(client: Client, tokens: dict[str, str]) -> None:
    manager = {**bearer(tokens["manager"]), **YAML}
    r = client.put(f"{A}/documents/Partner/cablenet", headers=manager, content=CABLENET_PARTNER)
    etag = r.headers["etag"]
    r = client.put(
        f"{A}/documents/Partner/cablenet",
        headers={**manager, "If-Match": etag},
        content=CABLENET_PARTNER.replace("CableNet AG", "CableNet SE"),
    )
    r = client.delete(
        f"{A}/documents/Partner/cablenet", headers={**manager, "If-Match": r.headers["etag"]}
    )
    assert r.json()["revision"] == 4
    auditor = bearer(tokens["auditor"])

    def page(query: str) -> tuple[list[int], int | None]:
        r = client.get(f"{A}/history{query}", headers=auditor)
        assert (r.json()["alliance"], r.json()["revision"]) == ("metro-home", 4)
        return [e["revision"] for e in r.json()["entries"]], r.json()["next"]

    assert page("") == ([1, 2, 3, 4], None)
    assert page("?limit=2") == ([1, 2], 2)
    assert page("?after=2&limit=2") == ([3, 4], None)
    assert page("?after=1&limit=2") == ([2, 3], 3)
    assert page("?after=4") == ([], None)
    entries = client.get(f"{A}/history?after=1", headers=auditor).json()["entries"]
    assert [
        (e["seq"], e["alliance"], e["revision"], e["actor"], e["action"], e["forced"])
        for e in entries
    ] == [
        (2, "metro-home", 2, "test manager (manager)", "put", False),
        (3, "metro-home", 3, "test manager (manager)", "put", False),
        (4, "metro-home", 4, "test manager (manager)", "delete", False),
    ]
    created, updated, deleted = (e["documents"] for e in entries)
    assert created[0]["before"] is None
    assert updated[0]["before"] == created[0]["after"]
    assert (deleted[0]["before"], deleted[0]["after"]) == (updated[0]["after"], None)
    assert all(len(e["hash"]) == 64 for e in entries)
    assert all(dt.datetime.fromisoformat(e["at"]).tzinfo == dt.UTC for e in entries)


def test_history_verify(client: Client, tokens: dict[str, str], seeded: Store) -> None:
    auditor = bearer(tokens["auditor"])
    r = client.get(f"{A}/history/verify", headers=auditor)
    assert (r.status_code, r.json()) == (
        200,
        {"alliance": "metro-home", "ok": True, "problems": []},
    )
    with seeded.engine.begin() as connection:
        connection.execute(
            text("UPDATE documents SET body = '{}' WHERE kind = 'Partner' AND name = 'metro'")
        )
    r = client.get(f"{A}/history/verify", headers=auditor)
    assert r.json() == {
        "alliance": "metro-home",
        "ok": False,
        "problems": [
            "metro-home entry 1 (revision 1): Partner/metro was altered after it was written"
        ],
    }


# -- health and the API description -----------------------------------------------------


def test_health(client: Client, tokens: dict[str, str], seeded: Store) -> None:
    r = client.get("/health")
    assert (r.status_code, r.json()) == (200, {"status": "ok", "database": "ok"})
    for role in ("admin", "manager", "resolver", "partner", "auditor"):
        r = client.get("/health", headers=bearer(tokens[role]))
        assert r.json() == {"status": "ok", "database": "ok", "alliances": {"metro-home": 1}}
    _, other = seeded.create_token("manager", "other-home", None, None)
    r = client.get("/health", headers=bearer(other))
    assert r.json() == {"status": "ok", "database": "ok", "alliances": {}}
    r = client.get("/health", headers={"Authorization": "Bearer ar_wrong"})
    problem(r, 401, UNAUTHORIZED)


def test_health_refuses_an_empty_authorization(client: Client) -> None:
    """A token sent must be valid, even an empty one: never silently ignored."""
    for value in ("", "Bearer", "Bearer "):
        r = client.get("/health", headers={"Authorization": value})
        problem(r, 401, UNAUTHORIZED)


def test_health_when_the_database_is_down(
    client: Client, seeded: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unreachable() -> int:
        raise ConnectionError("connection refused")

    monkeypatch.setattr(seeded, "generation", unreachable)
    r = client.get("/health")
    problem(r, 503, "the database is unreachable")


def test_openapi_lists_every_route(client: Client) -> None:
    r = client.get("/schema/openapi.json")
    assert r.status_code == 200
    paths = {path: {m.upper() for m in methods} for path, methods in r.json()["paths"].items()}
    expected = {
        "/health": {"GET"},
        "/v1/alliances": {"GET"},
        "/v1/alliances/{alliance}/documents": {"GET"},
        "/v1/alliances/{alliance}/documents/{kind}/{name}": {"GET", "PUT", "DELETE"},
        "/v1/alliances/{alliance}/apply": {"POST"},
        "/v1/alliances/{alliance}/plan": {"POST"},
        "/v1/alliances/{alliance}/owner": {"GET"},
        "/v1/alliances/{alliance}/owner:batch": {"POST"},
        "/v1/alliances/{alliance}/tickets:route": {"POST"},
        "/v1/alliances/{alliance}/audit": {"GET"},
        "/v1/alliances/{alliance}/history": {"GET"},
        "/v1/alliances/{alliance}/history/verify": {"GET"},
        "/v1/alliances/{alliance}/history/checkpoint": {"GET"},
    }
    for path, methods in expected.items():
        assert methods <= paths.get(path, set()), path
    # And every route the app documents, whatever was added since.
    app: Litestar = client.app
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or route.path.startswith("/schema"):
            continue
        path = re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path)  # {alliance:str} -> {alliance}
        for handler in route.route_handlers:
            if handler.resolve_include_in_schema():
                served = set(handler.http_methods) - {"OPTIONS", "HEAD"}
                assert served <= paths.get(path, set()), path
    # What handlers send themselves is described too: the owner answer, PUT's 201, ETags.
    described = r.json()["paths"]
    owner = described["/v1/alliances/{alliance}/owner"]["get"]["responses"]["200"]
    assert owner["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Answer"}
    one = described["/v1/alliances/{alliance}/documents/{kind}/{name}"]
    assert {"200", "201", "412", "428"} <= set(one["put"]["responses"])
    assert set(one["put"]["responses"]["200"]["headers"]) == {"ETag"}
    assert set(one["get"]["responses"]["200"]["headers"]) == {"ETag", "X-Revision"}


@settings(max_examples=500, deadline=None, derandomize=True)
@given(st.text(alphabet="ab=&%+;é 0", max_size=24))
def test_the_owner_routes_query_split_equals_litestars_parser(text: str) -> None:
    """GET owner splits a plain query string itself: it must read every one exactly as
    litestar's parser does, and hand the others to it."""
    raw = text.encode()
    split = split_plain_query(raw)
    if split is None:
        assert not raw.isascii() or b"%" in raw or b"+" in raw
    else:
        assert split == dict(parse_query_string(raw))
