"""Every role on every route, on SQLite and PostgreSQL: allowed, or 403 with the
reason, exactly as `registry/access.py` grants; and a token of another alliance gets
404 everywhere, as for an alliance that does not exist. Every write here is a dry run
or sends what is stored, so nothing changes. "Every route" is the OpenAPI description's
operations: each has an entry in the table, and each entry names the one it sends."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import text

from registry.access import GRANTS, ROLES, Action, Principal, Role
from registry.server import create_app
from registry.service import Filters, Registry
from registry.service.decisions import new_id, now, record_of
from registry.service.writes import Request, write
from registry.settings import Settings
from registry.store import Store
from registry.store.tables import SubscriptionRow
from tests.apitools import (
    AS_OF,
    CABLENET_PARTNER,
    FASTNET_CONTRACT,
    FASTNET_PARTNER,
    METRO_CONTRACT,
    METRO_PARTNER,
    YAML,
    A,
    problem,
    tables,
)
from tests.conftest import ALLIANCE, ROLE_SCOPES, bearer

Client = TestClient[Litestar]
Send = Callable[[Client, dict[str, str], Store], httpx.Response]

# The words of a 403 for each action a role lacks (registry/service/live.py).
VERBS: dict[Action, str] = {
    "read": "read documents",
    "resolve": "ask owner queries",
    "audit": "run audits",
    "history": "read the change log",
    "decisions": "read the decision log",
    "write": "write documents",
    "subscribe": "manage event subscriptions",
}


def etag(store: Store, ref: str) -> str:
    kind, _, name = ref.partition("/")
    stored = store.document("metro-home", kind, name)
    assert stored is not None
    return stored.etag


def put(ref: str, text: str) -> Send:
    """PUT of what is stored already, with its ETag: answered 'unchanged'."""

    def send(client: Client, headers: dict[str, str], store: Store) -> httpx.Response:
        return client.put(
            f"{A}/documents/{ref}?asOf={AS_OF}",
            headers={**headers, **YAML, "If-Match": etag(store, ref)},
            content=text,
        )

    return send


def post(url: str, text: str) -> Send:
    def send(client: Client, headers: dict[str, str], store: Store) -> httpx.Response:
        return client.post(url, headers={**headers, **YAML}, content=text)

    return send


def get(url: str) -> Send:
    def send(client: Client, headers: dict[str, str], store: Store) -> httpx.Response:
        return client.get(url, headers=headers)

    return send


def delete_dry_run(client: Client, headers: dict[str, str], store: Store) -> httpx.Response:
    return client.delete(
        f"{A}/documents/Partner/cablenet?dryRun=true&asOf={AS_OF}",
        headers={**headers, "If-Match": etag(store, "Partner/cablenet")},
    )


def ticket(client: Client, headers: dict[str, str], store: Store) -> httpx.Response:
    data = {"ticketType": "Internet Outage", "creationDate": "2026-11-22T10:00:00Z"}
    return client.post(f"{A}/tickets:route", headers=headers, json=data)


S = f"{A}/subscriptions"
PUBLIC_CALLBACK = "https://93.184.215.14/hooks"  # an address literal: nothing to resolve


def subscription(store: Store) -> tuple[str, str]:
    """A subscription of fastnet's (every role that may subscribe sees it) with one
    delivery: their ids."""
    row = SubscriptionRow(
        id=f"sub_{uuid.uuid4().hex}",
        alliance="metro-home",
        partner="fastnet",
        callback=PUBLIC_CALLBACK,
        events='["ownership.moved"]',
        secret="whsec_" + "A" * 32,
        created="2026-11-22T10:00:00.000+00:00",
        created_by="test",
    )
    store.outbox.subscribe(row)
    delivery = f"msg_{uuid.uuid4().hex}"
    with store.engine.begin() as connection:
        seq = connection.execute(
            text(
                "INSERT INTO events (id, alliance, type, revision, at, body) VALUES "
                "(:id, 'metro-home', 'ownership.moved', 1, '', '{}') RETURNING seq"
            ),
            {"id": f"evt_{uuid.uuid4().hex}"},
        ).scalar()
        connection.execute(
            text(
                "INSERT INTO deliveries (id, subscription, event, status, attempts, created) "
                "VALUES (:id, :s, :e, 'delivered', 1, 0)"
            ),
            {"id": delivery, "s": row.id, "e": seq},
        )
    return row.id, delivery


def on_subscription(method: str, suffix: str = "") -> Send:
    def send(client: Client, headers: dict[str, str], store: Store) -> httpx.Response:
        sub, delivery = subscription(store)
        url = f"{S}/{sub}" + suffix.replace("{delivery}", delivery)
        return client.request(method, url, headers=headers)

    return send


def subscribe(client: Client, headers: dict[str, str], store: Store) -> httpx.Response:
    body = {"callback": PUBLIC_CALLBACK, "events": ["ownership.moved"]}
    return client.post(S, headers=headers, json=body)


def batch(client: Client, headers: dict[str, str], store: Store) -> httpx.Response:
    query = {"where": {"category": "outage", "region": "north"}}
    return client.post(f"{A}/owner:batch", headers=headers, json={"at": AS_OF, "queries": [query]})


def ticket_at_revision(client: Client, headers: dict[str, str], store: Store) -> httpx.Response:
    data = {"ticketType": "Internet Outage", "creationDate": "2026-11-22T10:00:00Z"}
    return client.post(f"{A}/tickets:route?revision=2", headers=headers, json=data)


def batch_as_known(client: Client, headers: dict[str, str], store: Store) -> httpx.Response:
    query = {"where": {"category": "outage", "region": "north"}}
    return client.post(
        f"{A}/owner:batch?asKnownAt=2999-01-01T00:00:00Z",
        headers=headers,
        json={"at": AS_OF, "queries": [query]},
    )


def a_decision(store: Store) -> str:
    """The id of a decision of metro-home naming fastnet, written straight to the log."""
    found = store.decisions.page("metro-home", Filters(partner="fastnet"), 1)
    if found:
        return found[0].id
    registry = Registry(store)
    registry.refresh()
    view = registry.view("metro-home")
    answer = view.index.owner({"category": "outage", "region": "north"}, dt.date(2026, 11, 22))
    decision = record_of(answer, new_id(), now(), Principal(1, "admin"), kind="owner")
    store.decisions.append([decision])
    return decision.id


def decision_url(suffix: str = "") -> Send:
    def send(client: Client, headers: dict[str, str], store: Store) -> httpx.Response:
        url = f"{A}/decisions/{a_decision(store)}{suffix}"
        return client.post(url, headers=headers) if suffix else client.get(url, headers=headers)

    return send


@dataclass(frozen=True)
class Route:
    send: Send
    # The OpenAPI operation it exercises, "METHOD /path/{param}" as /schema/openapi.json
    # names it; several entries may exercise one operation.
    operation: str = field(kw_only=True)
    # The actions the route checks, in its order; none: any valid token (or none).
    needs: tuple[Action, ...] = ()
    # Documents it writes or deletes: a partner may touch its own Partner document only.
    writes: tuple[str, ...] = ()
    deletes: tuple[str, ...] = ()
    # Scoped to metro-home: other alliances' tokens get 404.
    scoped: bool = True
    # The status of an answer that is allowed.
    ok: int = field(default=200, kw_only=True)


ROUTES: dict[str, Route] = {
    "GET /health": Route(get("/health"), scoped=False, operation="GET /health"),
    "GET /health/live": Route(get("/health/live"), scoped=False, operation="GET /health/live"),
    "GET /health/ready": Route(get("/health/ready"), scoped=False, operation="GET /health/ready"),
    "GET /v1/alliances": Route(get("/v1/alliances"), scoped=False, operation="GET /v1/alliances"),
    "GET /metrics": Route(get("/metrics"), scoped=False, operation="GET /metrics"),
    "GET snapshot": Route(
        get(f"{A}/snapshot"), ("resolve",), operation="GET /v1/alliances/{alliance}/snapshot"
    ),
    "GET documents": Route(
        get(f"{A}/documents"), ("read",), operation="GET /v1/alliances/{alliance}/documents"
    ),
    "GET documents at a revision": Route(
        get(f"{A}/documents?revision=1"),
        ("read",),
        operation="GET /v1/alliances/{alliance}/documents",
    ),
    "GET a document": Route(
        get(f"{A}/documents/Partner/metro"),
        ("read",),
        operation="GET /v1/alliances/{alliance}/documents/{kind}/{name}",
    ),
    "GET a document at a revision": Route(
        get(f"{A}/documents/Contract/metro-rest?revision=1"),
        ("read",),
        operation="GET /v1/alliances/{alliance}/documents/{kind}/{name}",
    ),
    "PUT its own Partner": Route(
        put("Partner/fastnet", FASTNET_PARTNER),
        ("write",),
        ("Partner/fastnet",),
        operation="PUT /v1/alliances/{alliance}/documents/{kind}/{name}",
    ),
    "PUT another Partner": Route(
        put("Partner/metro", METRO_PARTNER),
        ("write",),
        ("Partner/metro",),
        operation="PUT /v1/alliances/{alliance}/documents/{kind}/{name}",
    ),
    "PUT a Contract": Route(
        put("Contract/metro-rest", METRO_CONTRACT),
        ("write",),
        ("Contract/metro-rest",),
        operation="PUT /v1/alliances/{alliance}/documents/{kind}/{name}",
    ),
    "DELETE (dry run)": Route(
        delete_dry_run,
        ("write",),
        deletes=("Partner/cablenet",),
        operation="DELETE /v1/alliances/{alliance}/documents/{kind}/{name}",
    ),
    "apply its own Partner (dry run)": Route(
        post(f"{A}/apply?dryRun=true&asOf={AS_OF}", FASTNET_PARTNER),
        ("write",),
        ("Partner/fastnet",),
        operation="POST /v1/alliances/{alliance}/apply",
    ),
    "apply a Contract (dry run)": Route(
        post(f"{A}/apply?dryRun=true&asOf={AS_OF}", FASTNET_CONTRACT),
        ("write",),
        ("Contract/fastnet-internet",),
        operation="POST /v1/alliances/{alliance}/apply",
    ),
    "apply forced": Route(
        post(f"{A}/apply?force=true&asOf={AS_OF}", FASTNET_PARTNER),
        ("write", "force"),
        ("Partner/fastnet",),
        operation="POST /v1/alliances/{alliance}/apply",
    ),
    "plan its own Partner": Route(
        post(f"{A}/plan?asOf={AS_OF}", FASTNET_PARTNER),
        ("write",),
        ("Partner/fastnet",),
        operation="POST /v1/alliances/{alliance}/plan",
    ),
    "plan a Contract": Route(
        post(f"{A}/plan?asOf={AS_OF}", FASTNET_CONTRACT),
        ("write",),
        ("Contract/fastnet-internet",),
        operation="POST /v1/alliances/{alliance}/plan",
    ),
    "GET owner": Route(
        get(f"{A}/owner?category=outage&region=north&at={AS_OF}"),
        ("resolve",),
        operation="GET /v1/alliances/{alliance}/owner",
    ),
    "POST owner:batch": Route(
        batch, ("resolve",), operation="POST /v1/alliances/{alliance}/owner:batch"
    ),
    "POST tickets:route": Route(
        ticket, ("resolve",), operation="POST /v1/alliances/{alliance}/tickets:route"
    ),
    "GET owner at a revision": Route(
        get(f"{A}/owner?category=outage&region=north&at={AS_OF}&revision=1"),
        ("resolve",),
        operation="GET /v1/alliances/{alliance}/owner",
    ),
    "GET owner as known at": Route(
        get(f"{A}/owner?category=outage&region=north&at={AS_OF}&asKnownAt=2999-01-01T00:00:00Z"),
        ("resolve",),
        operation="GET /v1/alliances/{alliance}/owner",
    ),
    "POST owner:batch as known at": Route(
        batch_as_known, ("resolve",), operation="POST /v1/alliances/{alliance}/owner:batch"
    ),
    "POST tickets:route at a revision": Route(
        ticket_at_revision, ("resolve",), operation="POST /v1/alliances/{alliance}/tickets:route"
    ),
    "GET audit": Route(
        get(f"{A}/audit?asOf={AS_OF}"), ("audit",), operation="GET /v1/alliances/{alliance}/audit"
    ),
    "GET audit as SARIF": Route(
        get(f"{A}/audit?asOf={AS_OF}&format=sarif"),
        ("audit",),
        operation="GET /v1/alliances/{alliance}/audit",
    ),
    "GET history": Route(
        get(f"{A}/history"), ("history",), operation="GET /v1/alliances/{alliance}/history"
    ),
    "GET history/verify": Route(
        get(f"{A}/history/verify"),
        ("history",),
        operation="GET /v1/alliances/{alliance}/history/verify",
    ),
    "GET history/checkpoint": Route(
        get(f"{A}/history/checkpoint"),
        ("history",),
        operation="GET /v1/alliances/{alliance}/history/checkpoint",
    ),
    "POST subscriptions": Route(
        subscribe,
        ("subscribe",),
        ok=201,
        operation="POST /v1/alliances/{alliance}/subscriptions",
    ),
    "GET subscriptions": Route(
        get(S), ("subscribe",), operation="GET /v1/alliances/{alliance}/subscriptions"
    ),
    "GET a subscription": Route(
        on_subscription("GET"),
        ("subscribe",),
        operation="GET /v1/alliances/{alliance}/subscriptions/{subscription}",
    ),
    "DELETE a subscription": Route(
        on_subscription("DELETE"),
        ("subscribe",),
        ok=204,
        operation="DELETE /v1/alliances/{alliance}/subscriptions/{subscription}",
    ),
    "GET deliveries": Route(
        on_subscription("GET", "/deliveries"),
        ("subscribe",),
        operation="GET /v1/alliances/{alliance}/subscriptions/{subscription}/deliveries",
    ),
    "POST redeliver": Route(
        on_subscription("POST", "/deliveries/{delivery}/redeliver"),
        ("subscribe",),
        ok=202,
        operation="POST /v1/alliances/{alliance}/subscriptions/{subscription}/deliveries/"
        "{delivery}/redeliver",
    ),
    "GET audit at a revision": Route(
        get(f"{A}/audit?asOf={AS_OF}&revision=1"),
        ("audit",),
        operation="GET /v1/alliances/{alliance}/audit",
    ),
    "GET documents as known at": Route(
        get(f"{A}/documents?asKnownAt=2999-01-01T00:00:00Z"),
        ("read",),
        operation="GET /v1/alliances/{alliance}/documents",
    ),
    "GET decisions": Route(
        get(f"{A}/decisions?status=owned"),
        ("decisions",),
        operation="GET /v1/alliances/{alliance}/decisions",
    ),
    "GET a decision": Route(
        decision_url(),
        ("decisions",),
        operation="GET /v1/alliances/{alliance}/decisions/{decision_id}",
    ),
    "POST a decision's replay": Route(
        decision_url(":replay"),
        ("decisions",),
        operation="POST /v1/alliances/{alliance}/decisions/{action}",
    ),
    "GET evidence": Route(
        get(f"{A}/evidence?revision=2&asOf={AS_OF}"),
        ("audit", "history"),
        operation="GET /v1/alliances/{alliance}/evidence",
    ),
    "GET evidence with decisions": Route(
        get(f"{A}/evidence?asOf={AS_OF}&decisions=2000-01-01T00:00:00Z/2999-01-01T00:00:00Z"),
        ("audit", "history", "decisions"),
        operation="GET /v1/alliances/{alliance}/evidence",
    ),
}


def expected(role: Role, route: Route) -> str | None:
    """None when the role may use the route, else the detail of its 403."""
    scope = ROLE_SCOPES[role]
    principal = Principal(0, role, scope[0], scope[1])
    for action in route.needs:
        if not principal.may(action, "metro-home"):
            if action == "force":
                return f"a {role} token may not force a write"
            article = "an" if role[0] in "aeiou" else "a"
            return f"{article} {role} token may not {VERBS[action]}"
    for verb, refs in (("write", route.writes), ("delete", route.deletes)):
        for ref in refs:
            kind, _, name = ref.partition("/")
            if not principal.may_write("metro-home", kind, name):
                return f"this token may not {verb} {ref}"
    return None


def test_the_table_follows_the_grants() -> None:
    """The expectations come from GRANTS: spot-check that they say what the README says."""
    allowed = {
        role: [name for name, r in ROUTES.items() if expected(role, r) is None] for role in ROLES
    }
    assert allowed["admin"] == allowed["manager"] == list(ROUTES)
    assert GRANTS["resolver"] == {"resolve"}
    assert allowed["resolver"] == [
        "GET /health",
        "GET /health/live",
        "GET /health/ready",
        "GET /v1/alliances",
        "GET /metrics",
        "GET snapshot",
        "GET owner",
        "POST owner:batch",
        "POST tickets:route",
        "GET owner at a revision",
        "GET owner as known at",
        "POST owner:batch as known at",
        "POST tickets:route at a revision",
    ]
    assert [r for r in ROUTES if r not in allowed["partner"]] == [
        "PUT another Partner",
        "PUT a Contract",
        "DELETE (dry run)",
        "apply a Contract (dry run)",
        "apply forced",
        "plan a Contract",
        "GET history",
        "GET history/verify",
        "GET history/checkpoint",
        "GET evidence",
        "GET evidence with decisions",
    ]
    assert [r for r in ROUTES if r not in allowed["auditor"]] == [
        "PUT its own Partner",
        "PUT another Partner",
        "PUT a Contract",
        "DELETE (dry run)",
        "apply its own Partner (dry run)",
        "apply a Contract (dry run)",
        "apply forced",
        "plan its own Partner",
        "plan a Contract",
        "POST subscriptions",
        "GET subscriptions",
        "GET a subscription",
        "DELETE a subscription",
        "GET deliveries",
        "POST redeliver",
    ]


METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


def test_the_table_holds_every_operation_the_api_describes(tmp_path: Path) -> None:
    """An operation missing from ROUTES would go untested for every role, and an entry
    naming an operation the API dropped tests nothing: the OpenAPI description decides."""
    url = f"sqlite:///{tmp_path}/registry.db"
    store = Store(url)
    try:
        schema = create_app(Settings(database_url=url), store).openapi_schema.to_schema()
    finally:
        store.close()
    described = {
        f"{method.upper()} {path}"
        for path, item in schema["paths"].items()
        for method in item
        if method in METHODS
    }
    missing = sorted(described - {route.operation for route in ROUTES.values()})
    assert not missing, f"ROUTES has no entry for {', '.join(missing)}"
    gone = [
        f"{name!r} ({r.operation})" for name, r in ROUTES.items() if r.operation not in described
    ]
    assert not gone, f"ROUTES names operations the API does not describe: {', '.join(gone)}"


def exercises(r: httpx.Response, operation: str) -> bool:
    """Whether the request behind `r` is one of `operation`, "METHOD /path/{param}"."""
    method, _, template = operation.partition(" ")
    path = "[^/]+".join(re.escape(part) for part in re.split(r"\{\w+\}", template))
    return r.request.method == method and re.fullmatch(path, r.request.url.path) is not None


@pytest.fixture
def strangers(seeded: Store) -> dict[str, str]:
    """A token per role bound to another alliance (the admin's sees every alliance)."""
    return {
        role: seeded.create_token(role, "other-home", partner, None)[1]  # type: ignore[arg-type]
        for role, (_, partner) in ROLE_SCOPES.items()
        if role != "admin"
    }


# The minimal Alliance, mapping TMF621 tickets to its dimensions.
MAPPED = (
    ALLIANCE
    + """\
  tickets:
    dimensions:
      category: {field: ticketType, values: {Internet Outage: outage}}
      region: {relatedEntity: serviceArea, default: north}
"""
)


@pytest.fixture
def with_cablenet(seeded: Store) -> Store:
    """metro-home at revision 2, mapping tickets, with an unreferenced Partner document
    to delete."""
    texts = [("cablenet.yaml", CABLENET_PARTNER), ("alliance.yaml", MAPPED)]
    write(seeded, Request("metro-home", texts), "test", "apply")
    return seeded


@pytest.mark.parametrize("name", list(ROUTES))
def test_every_role_on_every_route(
    client: Client,
    tokens: dict[str, str],
    strangers: dict[str, str],
    with_cablenet: Store,
    name: str,
) -> None:
    route = ROUTES[name]
    before = tables(with_cablenet)
    for role in ROLES:
        r = route.send(client, bearer(tokens[role]), with_cablenet)
        assert exercises(r, route.operation), (r.request.method, r.request.url.path)
        detail = expected(role, route)
        if detail is None:
            assert r.status_code == route.ok, (role, r.text)
        else:
            problem(r, 403, detail)
    for role, token in strangers.items():
        r = route.send(client, bearer(token), with_cablenet)
        if route.scoped:
            problem(r, 404, "no alliance 'metro-home'")
        else:
            assert r.status_code == 200, (role, r.text)
            assert "metro-home" not in r.text
    # Dry runs and unchanged documents: nothing was written, by anyone.
    assert tables(with_cablenet) == before
