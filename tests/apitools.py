"""What the storage and API tests share: the minimal alliance's documents one by one,
a few more to write, problem-details assertions, and a dump of every table."""

from __future__ import annotations

import time
from http import HTTPStatus
from typing import Any

import httpx
from sqlalchemy import text

from registry.store import Store
from tests.conftest import CONTRACTS, PARTNERS

A = "/v1/alliances/metro-home"
YAML = {"Content-Type": "application/yaml"}
PROBLEM = "application/problem+json"
AS_OF = "2026-11-22"  # a day inside every contract of the minimal alliance

METRO_PARTNER, FASTNET_PARTNER = PARTNERS.split("---\n")
FASTNET_CONTRACT, METRO_CONTRACT = CONTRACTS.split("---\n")

CABLENET_PARTNER = """\
apiVersion: alliance-registry/v1
kind: Partner
metadata: {name: cablenet, alliance: metro-home}
spec:
  legalName: CableNet AG
  contacts:
    - {name: duty-manager, email: ops@cablenet.example}
  endpoints:
    - {name: tickets, type: tmf621, address: https://cablenet.example/tmf}
"""

# Takes internet over from fastnet-internet (a handover, with that contract deleted).
CABLENET_CONTRACT = """\
apiVersion: alliance-registry/v1
kind: Contract
metadata: {name: cablenet-internet, alliance: metro-home}
spec:
  partner: cablenet
  effective: {from: 2026-01-01}
  scope:
    - where: {category: [connectivity]}
  accountable:
    - where: {category: [internet]}
  handoffs:
    - {endpoint: tickets, mode: retain, acknowledgeWithin: PT2H}
  escalation: standard
"""

# Makes metro accountable for internet in the north too: fastnet and metro overlap.
METRO_NORTH_CONTRACT = """\
apiVersion: alliance-registry/v1
kind: Contract
metadata: {name: metro-north-internet, alliance: metro-home}
spec:
  partner: metro
  scope:
    - where: {}
  accountable:
    - where: {category: [internet], region: [north]}
  escalation: standard
"""

# fastnet-internet narrowed to outages: nobody is accountable for slow-speed any more.
FASTNET_NARROWED = FASTNET_CONTRACT.replace(
    "where: {category: [internet]}", "where: {category: [outage]}"
)

# The finding the narrowed contract adds (as of AS_OF).
SLOW_SPEED_GAP = {
    "rule": "coverage-gap",
    "severity": "error",
    "message": "no partner is accountable for 2 cells",
    "partners": [],
    "documents": ["Alliance/metro-home"],
    "region": {"category": ["slow-speed"]},
    "cells": 2,
    "example": {"category": "slow-speed", "region": "north"},
    "date": None,
}

UNAUTHORIZED = (
    "a valid bearer token is required: send 'Authorization: Bearer <token>' "
    "with a token from `registry token create`"
)


def heard(client: Any, store: Store, seconds: float = 2.0) -> None:
    """Wait until the server behind the test client has heard every write committed to
    `store` by another hand (at once on SQLite, which reads on every request; within
    milliseconds by LISTEN/NOTIFY on PostgreSQL: docs/replicas.md)."""
    registry = client.app.state["registry"]
    wanted = store.generation()
    deadline = time.monotonic() + seconds
    registry.refresh()  # as the next request would: SQLite reads, a listener has heard
    while registry.generation < wanted and time.monotonic() < deadline:
        time.sleep(0.005)
        registry.refresh()
    assert registry.generation >= wanted, (registry.generation, wanted)


def problem(
    response: httpx.Response,
    status: int,
    detail: str,
    errors: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Assert that `response` is exactly this problem; returns its body for more."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    phrase = HTTPStatus(status).phrase
    assert body["type"] == "/problems/" + phrase.lower().replace(" ", "-")
    assert body["title"] == phrase
    assert body["status"] == status
    assert body["detail"] == detail
    assert body["instance"] == response.request.url.path
    assert body.get("errors", []) == (errors or [])
    return body


def doc_error(
    path: str, message: str, line: int, column: int, file: str = "request.yaml"
) -> dict[str, Any]:
    """One entry of a 422's `errors`."""
    return {"path": path, "message": message, "file": file, "line": line, "column": column}


def tables(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every registry table but the decision log's (which records every
    answer), in a fixed order: two equal dumps mean nothing was written."""
    queries = {
        "registry_state": "SELECT id, schema_version, generation FROM registry_state",
        "alliances": "SELECT name, revision, head, created FROM alliances ORDER BY name",
        "documents": "SELECT id, alliance, kind, name, revision, body, etag, deleted, current "
        "FROM documents ORDER BY id",
        "changes": "SELECT seq, alliance, revision, at, actor, action, forced, documents, "
        "previous, hash FROM changes ORDER BY seq",
        "tokens": "SELECT id, hash, role, alliance, partner, name, created, revoked "
        "FROM tokens ORDER BY id",
        "token_changes": "SELECT seq, revision, at, actor, action, token, record, previous, "
        "hash FROM token_changes ORDER BY seq",
        "checkpoints": "SELECT id, chain, size, head, at, note FROM checkpoints "
        "WHERE chain NOT LIKE 'decisions/%' ORDER BY id",
    }
    with store.engine.connect() as connection:
        return {
            name: [tuple(row) for row in connection.execute(text(sql))]
            for name, sql in queries.items()
        }
