"""Every error status of the API as exact problem details, on SQLite and PostgreSQL:
400, 401, 403, 404, 409, 412, 413, 422 and 428. A refused write leaves every table
as it was."""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Iterator

import httpx
import pytest
from litestar import Litestar
from litestar.testing import TestClient

from registry.server import create_app
from registry.settings import Settings
from registry.store import Store
from tests.apitools import (
    AS_OF,
    CABLENET_CONTRACT,
    CABLENET_PARTNER,
    FASTNET_CONTRACT,
    FASTNET_NARROWED,
    FASTNET_PARTNER,
    METRO_NORTH_CONTRACT,
    METRO_PARTNER,
    SLOW_SPEED_GAP,
    UNAUTHORIZED,
    YAML,
    A,
    doc_error,
    heard,
    problem,
    tables,
)
from tests.conftest import ALLIANCE, bearer

Client = TestClient[Litestar]
KINDS = "Alliance, Partner, Contract, Waiver, PolicySet, Expectation"


@pytest.fixture
def unchanged(seeded: Store, tokens: dict[str, str]) -> Iterator[None]:
    """The test refuses writes only: the alliances, documents and log end as they began
    (tokens the test creates aside)."""
    before = tables(seeded)
    yield
    after = tables(seeded)
    for table in ("alliances", "documents", "changes"):
        assert after[table] == before[table]


def etag_of(seeded: Store, kind: str, name: str) -> str:
    stored = seeded.document("metro-home", kind, name)
    assert stored is not None
    return stored.etag


# -- 400 ------------------------------------------------------------------------------


def test_400_malformed_parameters(client: Client, tokens: dict[str, str], unchanged: None) -> None:
    m = bearer(tokens["manager"])
    r = client.get(f"{A}/documents?revision=0", headers=m)
    problem(
        r,
        400,
        f"Validation failed for GET {A}/documents?revision=0",
        [{"path": "$.query.revision", "message": "Expected `int` >= 1"}],
    )
    r = client.get(f"{A}/owner?category=outage&at=someday", headers=bearer(tokens["resolver"]))
    problem(
        r,
        400,
        "the query names what the alliance does not have",
        [
            {
                "path": "$.query.at",
                "message": "'someday' is not a date of the form YYYY-MM-DD, such as 2026-11-22",
            }
        ],
    )
    r = client.put(
        f"{A}/documents/Partner/cablenet?asOf=junk", headers={**m, **YAML}, content=CABLENET_PARTNER
    )
    problem(
        r,
        400,
        f"Validation failed for PUT {A}/documents/Partner/cablenet?asOf=junk",
        [{"path": "$.query.asOf", "message": "Invalid RFC3339 encoded date"}],
    )
    r = client.get(f"{A}/history?limit=1001", headers=m)
    problem(
        r,
        400,
        f"Validation failed for GET {A}/history?limit=1001",
        [{"path": "$.query.limit", "message": "Expected `int` <= 1000"}],
    )
    r = client.get(f"{A}/audit?format=html", headers=m)
    problem(
        r,
        400,
        f"Validation failed for GET {A}/audit?format=html",
        [
            {
                "path": "$.query.format",
                "message": "Invalid enum value 'html': the choices are json, sarif, csv",
            }
        ],
    )


def test_400_a_body_not_in_utf8(client: Client, tokens: dict[str, str], unchanged: None) -> None:
    r = client.post(
        f"{A}/apply",
        headers={**bearer(tokens["manager"]), **YAML},
        content=b"kind: Partner\nspec: \xff\xfe\n",
    )
    problem(
        r,
        400,
        "the request body is not UTF-8",
        [doc_error("$", "the file is not UTF-8 (byte 0xff at offset 20); save it as UTF-8", 2, 7)],
    )


def test_400_owner_queries(client: Client, tokens: dict[str, str]) -> None:
    r = client.get(
        f"{A}/owner?category=bogus&region=east&colour=red", headers=bearer(tokens["resolver"])
    )
    problem(
        r,
        400,
        "the query names what the alliance does not have",
        [
            {
                "path": "$.query.category",
                "message": "unknown category 'bogus'; choose from: billing, invoice-error, "
                "refund, connectivity, internet, outage, slow-speed, installation",
            },
            {
                "path": "$.query.region",
                "message": "unknown region 'east'; choose from: north, south",
            },
            {
                "path": "$.query.colour",
                "message": "unknown dimension 'colour'; choose from: category, region",
            },
        ],
    )
    r = client.post(
        f"{A}/owner:batch",
        headers=bearer(tokens["resolver"]),
        json={"queries": [{"where": {"category": "refund"}, "colour": "red"}]},
    )
    problem(
        r,
        400,
        f"Validation failed for POST {A}/owner:batch",
        [{"path": "$.body.queries[0]", "message": "Object contains unknown field `colour`"}],
    )
    r = client.post(f"{A}/owner:batch", headers=bearer(tokens["resolver"]), content=b"{nope")
    problem(r, 400, "JSON is malformed: object keys must be strings (byte 1)")


# -- 401 ------------------------------------------------------------------------------

ROUTES = [
    ("GET", "/v1/alliances"),
    ("GET", f"{A}/documents"),
    ("GET", f"{A}/documents/Partner/fastnet"),
    ("PUT", f"{A}/documents/Partner/fastnet"),
    ("DELETE", f"{A}/documents/Partner/fastnet"),
    ("POST", f"{A}/apply"),
    ("POST", f"{A}/plan"),
    ("GET", f"{A}/owner?category=outage&region=north"),
    ("POST", f"{A}/owner:batch"),
    ("POST", f"{A}/tickets:route"),
    ("GET", f"{A}/audit"),
    ("GET", f"{A}/history"),
    ("GET", f"{A}/history/verify"),
]


def send(client: Client, method: str, url: str, headers: dict[str, str]) -> httpx.Response:
    if method == "POST" and url.endswith("owner:batch"):
        return client.post(url, headers=headers, json={"queries": []})
    if method == "POST" and url.endswith("tickets:route"):
        return client.post(url, headers=headers, json={"ticketType": "Internet Outage"})
    return client.request(method, url, headers={**headers, **YAML}, content=FASTNET_PARTNER)


@pytest.mark.parametrize(("method", "url"), ROUTES)
def test_401_without_a_valid_token(
    client: Client, seeded: Store, method: str, url: str, unchanged: None
) -> None:
    token_id, revoked = seeded.create_token("admin", None, None, "soon revoked")
    assert seeded.revoke_token(token_id)
    heard(client, seeded)
    for headers in (
        {},
        {"Authorization": "Bearer ar_nothing"},
        {"Authorization": "Bearer "},
        {"Authorization": f"Basic {revoked}"},
        bearer(revoked),
    ):
        r = send(client, method, url, headers)
        problem(r, 401, UNAUTHORIZED)
        assert r.headers["www-authenticate"] == 'Bearer realm="alliance-registry"'


def test_401_a_revoked_token_stops_once_heard(client: Client, seeded: Store) -> None:
    """Revoked by another process (`registry token revoke`): the next request after the
    server hears of it is refused (heard: docs/replicas.md)."""
    token_id, secret = seeded.create_token("auditor", "metro-home", None, None)
    assert client.get(f"{A}/audit?asOf={AS_OF}", headers=bearer(secret)).status_code == 200
    assert seeded.revoke_token(token_id)
    heard(client, seeded)
    r = client.get(f"{A}/audit?asOf={AS_OF}", headers=bearer(secret))
    problem(r, 401, UNAUTHORIZED)
    assert r.headers["www-authenticate"] == 'Bearer realm="alliance-registry"'
    r = client.get("/health", headers=bearer(secret))
    problem(r, 401, UNAUTHORIZED)


def test_tokens_padded_with_spaces_do_not_grow_the_memory(
    client: Client, tokens: dict[str, str]
) -> None:
    """Each variant of a token padded with spaces is its holder (`registry serve`
    refuses headers over 16 KiB before the app sees them), but none is kept: they
    once stayed cached, each as long as it was."""
    token = tokens["auditor"]
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for i in range(20):
            padded = {"Authorization": "Bearer" + " " * (200_000 + i) + token}
            r = client.get("/health", headers=padded)
            assert r.json()["alliances"] == {"metro-home": 1}
        del r, padded
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 1_000_000, f"{grown:,} bytes kept"
    # The plain header is answered as ever.
    assert client.get("/health", headers=bearer(token)).json()["alliances"] == {"metro-home": 1}


# -- 403 ------------------------------------------------------------------------------


def test_403_roles(client: Client, tokens: dict[str, str], seeded: Store, unchanged: None) -> None:
    resolver, partner, auditor = (bearer(tokens[r]) for r in ("resolver", "partner", "auditor"))
    metro = etag_of(seeded, "Partner", "metro")
    fastnet = etag_of(seeded, "Partner", "fastnet")
    contract = etag_of(seeded, "Contract", "fastnet-internet")
    cases = [
        (client.get(f"{A}/documents", headers=resolver), "a resolver token may not read documents"),
        (
            client.get(f"{A}/documents/Partner/metro", headers=resolver),
            "a resolver token may not read documents",
        ),
        (client.get(f"{A}/audit", headers=resolver), "a resolver token may not run audits"),
        (
            client.get(f"{A}/history", headers=partner),
            "a partner token may not read the change log",
        ),
        (
            client.get(f"{A}/history/verify", headers=resolver),
            "a resolver token may not read the change log",
        ),
        (
            client.put(
                f"{A}/documents/Partner/metro",
                headers={**partner, **YAML, "If-Match": metro},
                content=METRO_PARTNER.replace("Metro Home plc", "Metro Home Ltd"),
            ),
            "this token may not write Partner/metro",
        ),
        (
            client.delete(f"{A}/documents/Partner/metro", headers={**partner, "If-Match": metro}),
            "this token may not delete Partner/metro",
        ),
        (
            client.post(
                f"{A}/apply",
                headers={**partner, **YAML},
                content=FASTNET_PARTNER + "---\n" + FASTNET_NARROWED,
            ),
            "this token may not write Contract/fastnet-internet",
        ),
        (
            client.post(f"{A}/apply", headers={**auditor, **YAML}, content=FASTNET_PARTNER),
            "an auditor token may not write documents",
        ),
        (
            client.post(f"{A}/plan", headers={**auditor, **YAML}, content=FASTNET_PARTNER),
            "an auditor token may not write documents",
        ),
        (
            client.put(
                f"{A}/documents/Partner/fastnet",
                headers={**resolver, **YAML, "If-Match": fastnet},
                content=FASTNET_PARTNER,
            ),
            "a resolver token may not write documents",
        ),
        (
            client.put(
                f"{A}/documents/Partner/fastnet?force=true",
                headers={**partner, **YAML, "If-Match": fastnet},
                content=FASTNET_PARTNER,
            ),
            "a partner token may not force a write",
        ),
        (
            client.put(
                f"{A}/documents/Contract/fastnet-internet?force=true",
                headers={**partner, **YAML, "If-Match": contract},
                content=FASTNET_NARROWED,
            ),
            "a partner token may not force a write",
        ),
    ]
    for response, detail in cases:
        problem(response, 403, detail)


def test_403_comes_before_the_documents_are_judged(
    client: Client, tokens: dict[str, str], seeded: Store, unchanged: None
) -> None:
    """A partner sending a Contract it may not write learns nothing of what is wrong
    with it: an unknown field and a bad date are not reported, the refusal is."""
    broken = FASTNET_NARROWED.replace("spec:\n", "spec:\n  colour: blue\n", 1).replace(
        "2026-01-01", "2026-12-32"
    )
    assert "colour: blue" in broken and "2026-12-32" in broken
    contract = etag_of(seeded, "Contract", "fastnet-internet")
    partner = bearer(tokens["partner"])
    for response in (
        client.put(
            f"{A}/documents/Contract/fastnet-internet",
            headers={**partner, **YAML, "If-Match": contract},
            content=broken,
        ),
        client.post(f"{A}/apply", headers={**partner, **YAML}, content=broken),
        client.post(f"{A}/plan", headers={**partner, **YAML}, content=broken),
    ):
        problem(response, 403, "this token may not write Contract/fastnet-internet")


def test_a_partner_edits_its_own_partner_document(
    client: Client, tokens: dict[str, str], seeded: Store
) -> None:
    r = client.put(
        f"{A}/documents/Partner/fastnet?asOf={AS_OF}",
        headers={
            **bearer(tokens["partner"]),
            **YAML,
            "If-Match": etag_of(seeded, "Partner", "fastnet"),
        },
        content=FASTNET_PARTNER.replace("FastNet Ltd", "FastNet Limited"),
    )
    assert r.status_code == 200, r.text
    assert (r.json()["revision"], r.json()["documents"][0]["action"]) == (2, "updated")
    [entry] = seeded.history("metro-home", after=1)
    assert entry.actor == "test partner (partner)"


# -- 404 ------------------------------------------------------------------------------


def test_404_no_such_alliance_or_not_the_tokens(
    client: Client, tokens: dict[str, str], seeded: Store, unchanged: None
) -> None:
    _, other = seeded.create_token("manager", "other-home", None, None)
    for headers, alliance in (
        (bearer(tokens["manager"]), "nowhere"),
        (bearer(other), "metro-home"),  # exists, but not this token's: 404, not 403
    ):
        base = f"/v1/alliances/{alliance}"
        for method, url in ROUTES[1:]:
            r = send(client, method, url.replace(A, base), headers)
            problem(r, 404, f"no alliance '{alliance}'")
    r = client.get("/v1/alliances", headers=bearer(other))
    assert r.json() == []
    # An admin may create any alliance, so its writes get as far as the documents.
    admin = bearer(tokens["admin"])
    for method, url in ROUTES[1:]:
        if method == "GET" or url.endswith(("owner:batch", "tickets:route")):
            r = send(client, method, url.replace(A, "/v1/alliances/nowhere"), admin)
            problem(r, 404, "no alliance 'nowhere'")
    r = client.delete("/v1/alliances/nowhere/documents/Partner/fastnet", headers=admin)
    problem(r, 404, "no alliance 'nowhere'; create it by sending its Alliance document")


def test_404_no_such_document_or_kind(
    client: Client, tokens: dict[str, str], unchanged: None
) -> None:
    m = bearer(tokens["manager"])
    r = client.get(f"{A}/documents/Partner/nobody", headers=m)
    problem(r, 404, "no document Partner/nobody in alliance 'metro-home'")
    r = client.get(f"{A}/documents/Widget/x", headers=m)
    problem(r, 404, "no document Widget/x in alliance 'metro-home'")
    r = client.put(f"{A}/documents/Widget/x", headers={**m, **YAML}, content=FASTNET_PARTNER)
    problem(r, 404, f"no kind 'Widget'; the kinds are {KINDS}")
    r = client.delete(f"{A}/documents/Widget/x", headers={**m, "If-Match": "*"})
    problem(r, 404, f"no kind 'Widget'; the kinds are {KINDS}")
    r = client.delete(f"{A}/documents/Partner/nobody", headers={**m, "If-Match": "*"})
    problem(r, 404, "no document Partner/nobody in alliance 'metro-home'")
    r = client.post(
        f"{A}/apply?delete=Contract/nothing", headers={**m, **YAML}, content=FASTNET_PARTNER
    )
    problem(r, 404, "no document Contract/nothing in alliance 'metro-home'")
    r = client.get("/v1/nothing", headers=m)
    problem(r, 404, "Not Found")


def test_404_an_earlier_revision_without_the_document(
    client: Client, tokens: dict[str, str]
) -> None:
    m = bearer(tokens["manager"])
    r = client.put(
        f"{A}/documents/Partner/cablenet", headers={**m, **YAML}, content=CABLENET_PARTNER
    )
    assert r.status_code == 201
    r = client.get(f"{A}/documents/Partner/cablenet?revision=1", headers=m)
    problem(r, 404, "no document Partner/cablenet in alliance 'metro-home' at revision 1")


# -- 409, then forced -------------------------------------------------------------------

ADDS_ONE_ERROR = (
    "the change adds 1 error finding; nothing was written. Fix the documents, or send "
    "force=true as a manager to write anyway"
)


def test_409_a_coverage_gap_then_forced(
    client: Client, tokens: dict[str, str], seeded: Store
) -> None:
    m = bearer(tokens["manager"])
    before = tables(seeded)
    etag = etag_of(seeded, "Contract", "fastnet-internet")
    url = f"{A}/documents/Contract/fastnet-internet?asOf={AS_OF}"
    r = client.put(url, headers={**m, **YAML, "If-Match": etag}, content=FASTNET_NARROWED)
    body = problem(r, 409, ADDS_ONE_ERROR)
    plan = body["plan"]
    assert (plan["alliance"], plan["asOf"]) == ("metro-home", AS_OF)
    assert [f for f in plan["added"] if f["severity"] == "error"] == [SLOW_SPEED_GAP]
    assert plan["moves"] == [
        {
            "region": {"category": ["slow-speed"]},
            "cells": 2,
            "example": {"category": "slow-speed", "region": "north"},
            "before": ["fastnet"],
            "after": [],
        }
    ]
    assert tables(seeded) == before
    # The manager forces it: it lands, and the log says it was forced.
    r = client.put(
        f"{url}&force=true", headers={**m, **YAML, "If-Match": etag}, content=FASTNET_NARROWED
    )
    assert r.status_code == 200, r.text
    assert (r.json()["revision"], r.json()["applied"], r.json()["forced"]) == (2, True, True)
    assert r.json()["plan"] == plan
    r = client.get(f"{A}/history?after=1", headers=m)
    [entry] = r.json()["entries"]
    assert (entry["revision"], entry["actor"], entry["action"], entry["forced"]) == (
        2,
        "test manager (manager)",
        "put",
        True,
    )
    r = client.get(f"{A}/history/verify", headers=m)
    assert r.json() == {"alliance": "metro-home", "ok": True, "problems": []}
    r = client.get(f"{A}/owner?category=slow-speed&region=south&at={AS_OF}", headers=m)
    assert (r.json()["status"], r.json()["owner"], r.json()["revision"]) == ("unowned", None, 2)
    # Forcing a change that adds no error is not marked forced.
    r = client.put(
        f"{A}/documents/Partner/cablenet?force=true&asOf={AS_OF}",
        headers={**m, **YAML},
        content=CABLENET_PARTNER,
    )
    assert (r.status_code, r.json()["forced"]) == (201, False)


def test_409_an_overlap_through_apply(
    client: Client, tokens: dict[str, str], seeded: Store, unchanged: None
) -> None:
    r = client.post(
        f"{A}/apply?asOf={AS_OF}",
        headers={**bearer(tokens["manager"]), **YAML},
        content=METRO_NORTH_CONTRACT,
    )
    body = problem(r, 409, ADDS_ONE_ERROR)
    assert body["plan"]["added"] == [
        {
            "rule": "coverage-overlap",
            "severity": "error",
            "message": "2 partners are accountable for 2 cells",
            "partners": ["fastnet", "metro"],
            "documents": ["Contract/fastnet-internet", "Contract/metro-north-internet"],
            "region": {"category": ["connectivity"], "region": ["north"]},
            "cells": 2,
            "example": {"category": "outage", "region": "north"},
            "date": None,
        }
    ]


# -- 412 and 428 ----------------------------------------------------------------------


def test_412_stale_preconditions(
    client: Client, tokens: dict[str, str], seeded: Store, unchanged: None
) -> None:
    m = bearer(tokens["manager"])
    etag = etag_of(seeded, "Contract", "fastnet-internet")
    r = client.put(
        f"{A}/documents/Contract/fastnet-internet",
        headers={**m, **YAML, "If-Match": '"0123"'},
        content=FASTNET_CONTRACT,
    )
    body = problem(
        r,
        412,
        f"Contract/fastnet-internet has changed since you read it (it is now {etag}); read it "
        "again and retry",
    )
    assert body["etag"] == etag
    # The same words on DELETE:
    r = client.delete(
        f"{A}/documents/Contract/fastnet-internet", headers={**m, "If-Match": '"0123"'}
    )
    assert problem(r, 412, body["detail"])["etag"] == etag
    r = client.put(
        f"{A}/documents/Contract/fastnet-internet",
        headers={**m, **YAML, "If-None-Match": "*"},
        content=FASTNET_CONTRACT,
    )
    assert problem(r, 412, "Contract/fastnet-internet exists already")["etag"] == etag
    r = client.post(
        f"{A}/apply", headers={**m, **YAML, "If-Match": '"r0"'}, content=FASTNET_CONTRACT
    )
    body = problem(r, 412, 'the alliance is at revision 1, not "r0"; read it again and retry')
    assert body["etag"] == '"r1"'
    # A document that does not exist has no ETag to match.
    r = client.put(
        f"{A}/documents/Partner/cablenet",
        headers={**m, **YAML, "If-Match": etag},
        content=CABLENET_PARTNER,
    )
    body = problem(
        r,
        412,
        "Partner/cablenet has changed since you read it (it is now absent); read it again and "
        "retry",
    )
    assert "etag" not in body


def test_428_an_existing_document_needs_if_match(
    client: Client, tokens: dict[str, str], seeded: Store, unchanged: None
) -> None:
    m = bearer(tokens["manager"])
    etag = etag_of(seeded, "Partner", "fastnet")
    detail = (
        f"Partner/fastnet exists; send If-Match with its ETag {etag} so a change made since "
        "you read it is not overwritten"
    )
    r = client.put(f"{A}/documents/Partner/fastnet", headers={**m, **YAML}, content=FASTNET_PARTNER)
    problem(r, 428, detail)
    r = client.delete(f"{A}/documents/Partner/fastnet", headers=m)
    problem(r, 428, detail)


# -- 413 ------------------------------------------------------------------------------


def over_the_limit(limit: int) -> str:
    return (
        f"the request body is over the size limit of {limit:,} bytes; send fewer documents "
        "or queries per request (the server's REGISTRY_MAX_BODY_BYTES sets it)"
    )


def test_413_a_body_over_the_limit(
    seeded: Store, database_url: str, tokens: dict[str, str]
) -> None:
    before = tables(seeded)
    app = create_app(Settings(database_url=database_url, max_body_bytes=200), seeded)
    with TestClient(app) as small:
        headers = {**bearer(tokens["manager"]), **YAML}
        r = small.post(
            f"{A}/apply", headers=headers, content=CABLENET_PARTNER.encode() + b" " * 200
        )
        problem(r, 413, over_the_limit(200))
        r = small.put(
            f"{A}/documents/Partner/cablenet", headers=headers, content=CABLENET_PARTNER + " " * 200
        )
        problem(r, 413, over_the_limit(200))
        # At the limit it is read.
        r = small.post(f"{A}/plan", headers=bearer(tokens["manager"]), content=b"[1]" + b" " * 197)
        problem(
            r,
            422,
            "1 error in the documents; nothing was written",
            [
                doc_error(
                    "$[0]",
                    "expected a document (a mapping with apiVersion, kind, metadata and spec), "
                    "got the number 1",
                    1,
                    2,
                    "request.json",
                )
            ],
        )
        # The JSON-body routes too: a batch of owner queries, a ticket.
        resolver = {**bearer(tokens["resolver"]), "Content-Type": "application/json"}
        big = b'{"queries": [' + b" " * 200 + b"]}"
        for route in ("owner:batch", "tickets:route"):
            r = small.post(f"{A}/{route}", headers=resolver, content=big)
            problem(r, 413, over_the_limit(200))
    assert tables(seeded) == before


def test_413_the_default_limit_is_5_mib(
    client: TestClient[Litestar], tokens: dict[str, str]
) -> None:
    headers = {**bearer(tokens["manager"]), **YAML}
    over = CABLENET_PARTNER.encode() + b"#" * (5 * 1024 * 1024)
    r = client.post(f"{A}/apply?dryRun=true", headers=headers, content=over)
    problem(r, 413, over_the_limit(5 * 1024 * 1024))


# -- 422 ------------------------------------------------------------------------------

INVALID = "{n} errors in the documents; nothing was written"


def test_422_every_error_located_yaml(
    client: Client, tokens: dict[str, str], unchanged: None
) -> None:
    """Every error of every document at once: the schema errors, and the references
    broken by the documents that pass it (a document that fails its schema is not
    checked for references, so its mistakes are not reported twice)."""
    partner = CABLENET_PARTNER.replace("legalName: CableNet AG", "legalName: 3\n  bogus: 1")
    keep = CABLENET_CONTRACT.replace("mode: retain", "mode: keep")
    typo = CABLENET_CONTRACT.replace("partner: cablenet", "partner: cabelnet").replace(
        "name: cablenet-internet", "name: cablenet-tv"
    )
    r = client.post(
        f"{A}/apply",
        headers={**bearer(tokens["manager"]), **YAML},
        content="---\n".join([partner, keep, typo]),
    )
    problem(
        r,
        422,
        INVALID.format(n=4),
        [
            doc_error(
                "$.spec.bogus",
                "unknown field 'bogus'; remove it (allowed here: legalName, contacts, endpoints)",
                6,
                3,
            ),
            doc_error("$.spec.legalName", "expected a string, got the number 3", 5, 3),
            doc_error(
                "$.spec.handoffs[0].mode",
                "unknown handoff mode 'keep'; choose from: consult, retain, transfer",
                23,
                27,
            ),
            doc_error(
                "$.spec.partner",
                "unknown partner 'cabelnet' in alliance 'metro-home'; choose from: fastnet, metro",
                30,
                3,
            ),
        ],
    )


def test_422_every_error_located_json(
    client: Client, tokens: dict[str, str], unchanged: None
) -> None:
    body = (
        "{\n"
        '  "apiVersion": "alliance-registry/v1",\n'
        '  "kind": "Partner",\n'
        '  "metadata": {"name": "cablenet", "alliance": "metro-home"},\n'
        '  "spec": {"legalName": 3, "contacts": "none"}\n'
        "}\n"
    )
    r = client.put(
        f"{A}/documents/Partner/cablenet",
        headers={**bearer(tokens["manager"]), "Content-Type": "application/json"},
        content=body,
    )
    problem(
        r,
        422,
        INVALID.format(n=2),
        [
            doc_error(
                "$.spec.legalName", "expected a string, got the number 3", 5, 12, "request.json"
            ),
            doc_error(
                "$.spec.contacts",
                "expected a list, got the string 'none'; write it as a list: [none]",
                5,
                28,
                "request.json",
            ),
        ],
    )
    r = client.post(f"{A}/apply", headers=bearer(tokens["manager"]), content="[1, ")
    problem(
        r,
        422,
        "1 error in the documents; nothing was written",
        [
            doc_error(
                "$",
                "JSON syntax error: the text ends before the JSON does; close every '{' and '['",
                1,
                4,
                "request.json",
            )
        ],
    )


@pytest.mark.parametrize(
    ("headers", "why"),
    [
        ({}, "no Content-Type was sent"),
        (
            # what curl --data-binary sends unless told otherwise
            {"Content-Type": "application/x-www-form-urlencoded"},
            "the Content-Type application/x-www-form-urlencoded is neither JSON nor YAML",
        ),
    ],
)
def test_422_yaml_without_its_content_type_says_how_to_send_it(
    client: Client, tokens: dict[str, str], unchanged: None, headers: dict[str, str], why: str
) -> None:
    r = client.post(
        f"{A}/apply?dryRun=true",
        headers={**bearer(tokens["manager"]), **headers},
        content=CABLENET_PARTNER,
    )
    problem(
        r,
        422,
        "1 error in the documents; nothing was written",
        [
            doc_error(
                "$",
                "JSON syntax error: invalid character; fix the JSON here "
                f"({why}, so the body was read as JSON; send YAML with "
                "'Content-Type: application/yaml')",
                1,
                1,
                "request.json",
            )
        ],
    )
    # Sent as JSON, a JSON error is only that.
    r = client.post(
        f"{A}/apply",
        headers={**bearer(tokens["manager"]), "Content-Type": "application/json"},
        content=CABLENET_PARTNER,
    )
    assert (
        r.json()["errors"][0]["message"]
        == "JSON syntax error: invalid character; fix the JSON here"
    )


def test_422_sent_to_the_wrong_alliance_or_url(
    client: Client, tokens: dict[str, str], unchanged: None
) -> None:
    m = {**bearer(tokens["manager"]), **YAML}
    one = "1 error in the documents; nothing was written"
    r = client.put(
        f"{A}/documents/Partner/fastnet",
        headers={**m, "If-Match": "*"},
        content=FASTNET_PARTNER.replace("alliance: metro-home", "alliance: other-home"),
    )
    problem(
        r,
        422,
        one,
        [
            doc_error(
                "$.metadata.alliance",
                "the document belongs to alliance 'other-home' but was sent to alliance "
                "'metro-home'; fix metadata.alliance or the URL",
                3,
                27,
            )
        ],
    )
    r = client.put(
        f"{A}/documents/Partner/metro", headers={**m, "If-Match": "*"}, content=FASTNET_PARTNER
    )
    problem(
        r,
        422,
        one,
        [
            doc_error(
                "$.metadata.name",
                "the URL names 'metro', the document 'fastnet'; make them the same",
                3,
                12,
            )
        ],
    )
    r = client.put(
        f"{A}/documents/Contract/fastnet", headers={**m, "If-Match": "*"}, content=FASTNET_PARTNER
    )
    problem(
        r,
        422,
        one,
        [
            doc_error(
                "$.kind",
                "this URL holds a Contract, not a Partner; send the Partner to "
                ".../documents/Partner/fastnet",
                2,
                1,
            )
        ],
    )
    r = client.put(
        f"{A}/documents/Alliance/metro-home",
        headers={**m, "If-Match": "*"},
        content=ALLIANCE.replace("name: metro-home", "name: other-home"),
    )
    problem(
        r,
        422,
        INVALID.format(n=2),
        [
            doc_error(
                "$.metadata.name",
                "the URL names 'metro-home', the document 'other-home'; make them the same",
                4,
                3,
            ),
            doc_error(
                "$.metadata.name",
                "the Alliance 'other-home' was sent to alliance 'metro-home'; send it to its "
                "own URL",
                4,
                3,
            ),
        ],
    )
    r = client.post(
        f"{A}/apply",
        headers=m,
        content=CABLENET_PARTNER.replace("alliance: metro-home", "alliance: other-home"),
    )
    problem(
        r,
        422,
        one,
        [
            doc_error(
                "$.metadata.alliance",
                "the document belongs to alliance 'other-home' but was sent to alliance "
                "'metro-home'; fix metadata.alliance or the URL",
                3,
                28,
            )
        ],
    )


def test_422_a_change_that_breaks_a_stored_document(
    client: Client, tokens: dict[str, str], seeded: Store, unchanged: None
) -> None:
    """The error names the stored document, at its line in GET .../documents/Kind/name."""
    m = bearer(tokens["manager"])
    r = client.delete(
        f"{A}/documents/Partner/fastnet",
        headers={**m, "If-Match": etag_of(seeded, "Partner", "fastnet")},
    )
    problem(
        r,
        422,
        "1 error in the documents; nothing was written",
        [
            doc_error(
                "$.spec.partner",
                "unknown partner 'fastnet' in alliance 'metro-home'; choose from: metro",
                9,
                5,
                "Contract/fastnet-internet.json",
            )
        ],
    )
    text = client.get(f"{A}/documents/Contract/fastnet-internet", headers=m).text
    assert text.splitlines()[8] == '    "partner": "fastnet",'
