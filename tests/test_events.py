"""Event subscriptions in process, on SQLite and PostgreSQL: the callback URL rules
refused with their exact errors, the events a write puts in the outbox in its own
transaction (and a refused write puts none), what a partner's subscription gets,
the calendar's boundaries announced once and a waiver's expiry opening findings, and
delivery through the dispatcher to a real receiver on 127.0.0.1 that verifies every
signature (a wrong secret fails). The processes are in tests/test_events_live.py."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from typing import Any

import msgspec
import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import text
from standardwebhooks import Webhook, WebhookVerificationError

from registry.events import CallbackRefused
from registry.server import create_app
from registry.service import Registry
from registry.service.dispatch import Dispatcher
from registry.service.events import Calendar
from registry.service.live import Live
from registry.settings import Settings
from registry.store import Store
from tests.apitools import (
    AS_OF,
    CABLENET_CONTRACT,
    CABLENET_PARTNER,
    FASTNET_NARROWED,
    METRO_PARTNER,
    A,
    problem,
)
from tests.conftest import ALLIANCE, bearer
from tests.receiver import Receiver

Client = TestClient[Litestar]
ALLOW = "127.0.0.1"
YAML = {"Content-Type": "application/yaml"}
HANDOVER = CABLENET_PARTNER + "---\n" + CABLENET_CONTRACT
MOVE = {
    "region": {"category": ["connectivity"]},
    "cells": 4,
    "example": {"category": "outage", "region": "north"},
    "before": ["fastnet"],
    "after": ["cablenet"],
}


@pytest.fixture
def events_client(seeded: Store, database_url: str) -> Iterator[Client]:
    """The API over the seeded store, allowing callbacks to 127.0.0.1, not dispatching."""
    app = create_app(Settings(database_url=database_url, webhook_allow=ALLOW), seeded)
    with TestClient(app) as client:
        yield client


def subscribe(
    client: Client, token: str, callback: str, events: list[str] | None = None
) -> dict[str, Any]:
    body = {"callback": callback, "events": events or ["ownership.moved"]}
    r = client.post(f"{A}/subscriptions", headers=bearer(token), json=body)
    assert r.status_code == 201, r.text
    answer: dict[str, Any] = r.json()
    return answer


def outbox(store: Store) -> list[tuple[str, int, dict[str, Any]]]:
    with store.engine.connect() as connection:
        rows = connection.execute(text("SELECT type, revision, body FROM events ORDER BY seq"))
        return [(t, r, msgspec.json.decode(b)) for t, r, b in rows]


def handover(client: Client, token: str) -> None:
    r = client.post(
        f"{A}/apply?asOf={AS_OF}&delete=Contract/fastnet-internet",
        headers={**bearer(token), **YAML},
        content=HANDOVER,
    )
    assert r.status_code == 200, r.text


REFUSED = [
    (
        "ftp://example.com/hooks",
        "the callback must be an https URL; 'ftp' is not a scheme the registry calls",
    ),
    (
        "http://example.com/hooks",
        "the callback must use https; http is allowed only to the hosts REGISTRY_WEBHOOK_ALLOW "
        "names, and 'example.com' is not one of them",
    ),
    (
        "https://10.1.2.3/hooks",
        "'10.1.2.3' resolves to 10.1.2.3, a private address; the registry calls only public "
        "addresses unless REGISTRY_WEBHOOK_ALLOW names the host",
    ),
    (
        "https://169.254.169.254/latest/meta-data",
        "'169.254.169.254' resolves to 169.254.169.254, a link-local address; the registry "
        "calls only public addresses unless REGISTRY_WEBHOOK_ALLOW names the host",
    ),
    (
        "https://127.0.0.2:8443/hooks",
        "'127.0.0.2' resolves to 127.0.0.2, a loopback address; the registry calls only "
        "public addresses unless REGISTRY_WEBHOOK_ALLOW names the host",
    ),
    (
        "https://[::ffff:192.168.0.1]/hooks",
        "'::ffff:192.168.0.1' resolves to 192.168.0.1, a private address; the registry calls "
        "only public addresses unless REGISTRY_WEBHOOK_ALLOW names the host",
    ),
    ("https://user:pw@example.com/hooks", "the callback URL may not carry a user name or password"),
    ("https:///hooks", "the callback URL names no host"),
    ("https://example.com:99999/", "the callback URL's port is not a number from 1 to 65535"),
    (42, "the callback must be a URL (a string), e.g. https://example.com/hooks"),
    ("https://[::1/hooks", "the callback is not a URL the registry can read"),
    (
        "http://127.0.0.1/a\x00b",
        "the callback URL may not hold control characters (escape them: %00)",
    ),
]


@pytest.mark.parametrize(("callback", "message"), REFUSED, ids=[str(c) for c, _ in REFUSED])
def test_callback_urls_the_rules_refuse(
    events_client: Client, tokens: dict[str, str], callback: object, message: str
) -> None:
    r = events_client.post(
        f"{A}/subscriptions",
        headers=bearer(tokens["manager"]),
        json={"callback": callback, "events": ["alliance.revision"]},
    )
    problem(r, 422, "the subscription was not made", [{"path": "$.callback", "message": message}])


def test_event_types_and_fields_are_checked(events_client: Client, tokens: dict[str, str]) -> None:
    url = f"{A}/subscriptions"
    headers = bearer(tokens["manager"])
    types = "alliance.revision, ownership.moved, ownership.scheduled, coverage.finding"
    r = events_client.post(
        url,
        headers=headers,
        json={"callback": "https://example.com", "events": ["ownership.move", 3]},
    )
    problem(
        r,
        422,
        "the subscription was not made",
        [
            {
                "path": "$.events[0]",
                "message": f'no event type "ownership.move"; the types are {types}',
            },
            {"path": "$.events[1]", "message": f"no event type 3; the types are {types}"},
        ],
    )
    r = events_client.post(
        url, headers=headers, json={"callback": "https://example.com", "events": []}
    )
    problem(
        r,
        422,
        "the subscription was not made",
        [
            {
                "path": "$.events",
                "message": f"name the event types to receive, a list of one or more of {types}",
            }
        ],
    )
    r = events_client.post(
        url,
        headers=headers,
        json={"callback": "https://example.com", "events": ["alliance.revision"], "filter": 1},
    )
    problem(
        r,
        422,
        "the subscription was not made",
        [{"path": "$.filter", "message": "unknown field; the fields are callback and events"}],
    )


def test_subscribe_list_get_delete(events_client: Client, tokens: dict[str, str]) -> None:
    made = subscribe(events_client, tokens["manager"], "http://127.0.0.1:9/hooks/a")
    assert made["secret"].startswith("whsec_")
    assert (made["callback"], made["events"], made["partner"], made["status"]) == (
        "http://127.0.0.1:9/hooks/a",
        ["ownership.moved"],
        None,
        "active",
    )
    assert made["createdBy"] == "test manager (manager)"
    url = f"{A}/subscriptions/{made['id']}"
    shown = events_client.get(url, headers=bearer(tokens["admin"])).json()
    assert "secret" not in shown
    assert shown == {k: v for k, v in made.items() if k != "secret"}
    listed = events_client.get(f"{A}/subscriptions", headers=bearer(tokens["manager"])).json()
    assert listed == [shown]
    # The partner sees its own subscriptions only.
    mine = subscribe(events_client, tokens["partner"], "http://127.0.0.1:9/hooks/p")
    assert mine["partner"] == "fastnet"
    seen = events_client.get(f"{A}/subscriptions", headers=bearer(tokens["partner"])).json()
    assert [s["id"] for s in seen] == [mine["id"]]
    problem(
        events_client.get(url, headers=bearer(tokens["partner"])),
        404,
        f"no subscription '{made['id']}' in alliance 'metro-home'",
    )
    assert events_client.delete(url, headers=bearer(tokens["manager"])).status_code == 204
    problem(
        events_client.get(url, headers=bearer(tokens["manager"])),
        404,
        f"no subscription '{made['id']}' in alliance 'metro-home'",
    )


def test_a_write_puts_its_events_in_the_outbox(
    events_client: Client, tokens: dict[str, str], seeded: Store
) -> None:
    every = ["alliance.revision", "ownership.moved", "ownership.scheduled", "coverage.finding"]
    subscribe(events_client, tokens["manager"], "http://127.0.0.1:9/hooks/all", every)
    handover(events_client, tokens["manager"])
    [(t1, r1, revision), (t2, r2, moved)] = outbox(seeded)
    assert (t1, r1, t2, r2) == ("alliance.revision", 2, "ownership.moved", 2)
    assert revision["data"] == {
        "documents": [
            {"ref": "Partner/cablenet", "action": "created"},
            {"ref": "Contract/cablenet-internet", "action": "created"},
            {"ref": "Contract/fastnet-internet", "action": "deleted"},
        ],
        "actor": "test manager (manager)",
        "action": "apply",
        "forced": False,
    }
    assert (moved["type"], moved["alliance"], moved["revision"]) == (
        "ownership.moved",
        "metro-home",
        2,
    )
    assert moved["data"] == {"effective": AS_OF, "moves": [MOVE], "faceMoves": []}
    # A refused write (it adds an error finding) writes no event; forced, it does.
    narrowed = f"{A}/apply?asOf={AS_OF}"
    r = events_client.post(
        narrowed,
        headers={**bearer(tokens["manager"]), **YAML},
        content=FASTNET_NARROWED.replace("fastnet-internet", "fastnet-outage"),
    )
    assert r.status_code in (200, 409), r.text
    count = len(outbox(seeded))
    r = events_client.post(
        narrowed.replace("?", "?force=true&") + "&delete=Contract/cablenet-internet",
        headers={**bearer(tokens["manager"]), **YAML},
        content=FASTNET_NARROWED,
    )
    assert r.status_code == 200, r.text
    found = [e for e in outbox(seeded)[count:] if e[0] == "coverage.finding"]
    [(_, _, finding)] = found
    assert finding["data"]["cause"] == "write"
    assert [(f["rule"], f["region"]) for f in finding["data"]["opened"]] == [
        ("coverage-gap", {"category": ["slow-speed"]})
    ]


def test_a_partner_gets_the_events_that_name_it(
    events_client: Client, tokens: dict[str, str], seeded: Store
) -> None:
    mine = subscribe(
        events_client,
        tokens["partner"],
        "http://127.0.0.1:9/hooks/p",
        ["ownership.moved", "alliance.revision"],
    )
    handover(events_client, tokens["manager"])
    with seeded.engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT e.type, d.body FROM deliveries d JOIN events e ON e.seq = d.event "
                "WHERE d.subscription = :s ORDER BY d.seq"
            ),
            {"s": mine["id"]},
        ).all()
    # fastnet's contract was deleted (alliance.revision names it) and its boxes moved.
    assert [t for t, _ in rows] == ["alliance.revision", "ownership.moved"]
    # A write naming only metro's documents does not reach fastnet.
    r = events_client.get(f"{A}/documents/Partner/metro", headers=bearer(tokens["manager"]))
    r = events_client.put(
        f"{A}/documents/Partner/metro",
        headers={**bearer(tokens["manager"]), **YAML, "If-Match": r.headers["etag"]},
        content=METRO_PARTNER.replace("Metro Home plc", "Metro Home Group plc"),
    )
    assert r.status_code == 200, r.text
    with seeded.engine.connect() as connection:
        count = connection.execute(
            text("SELECT count(*) FROM deliveries WHERE subscription = :s"), {"s": mine["id"]}
        ).scalar()
    assert count == 2


def test_delivered_signed_to_a_real_receiver(
    seeded: Store, database_url: str, tokens: dict[str, str]
) -> None:
    receiver = Receiver().start()
    settings = Settings(database_url=database_url, webhook_allow=ALLOW, calendar_interval=3600)
    try:
        with TestClient(create_app(settings, seeded, dispatch=True)) as client:
            made = subscribe(client, tokens["manager"], receiver.url("a"), ["ownership.moved"])
            receiver.secrets["/hooks/a"] = made["secret"]
            handover(client, tokens["manager"])
            [got] = receiver.wait(1, "a")
            assert got.verified, got.error
            assert got.webhook_id.startswith("msg_")
            assert got.body["data"] == {"effective": AS_OF, "moves": [MOVE], "faceMoves": []}
            # A receiver holding another secret refuses the same delivery.
            raw = msgspec.json.encode(got.body)
            other = Webhook("whsec_" + "A" * 32)
            with pytest.raises(WebhookVerificationError, match="No matching signature"):
                other.verify(
                    raw,
                    {
                        "webhook-id": got.webhook_id,
                        "webhook-timestamp": str(int(time.time())),
                        "webhook-signature": Webhook(made["secret"]).sign(
                            got.webhook_id, dt.datetime.now(dt.UTC), raw.decode()
                        ),
                    },
                )
            # Recorded just after it arrives (with the next ones, or within 0.1 s).
            deliveries = f"{A}/subscriptions/{made['id']}/deliveries"
            deadline = time.monotonic() + 20
            while True:
                [delivery] = client.get(deliveries, headers=bearer(tokens["manager"])).json()
                if delivery["status"] == "delivered" or time.monotonic() > deadline:
                    break
                time.sleep(0.02)
            assert (delivery["id"], delivery["type"], delivery["status"]) == (
                got.webhook_id,
                "ownership.moved",
                "delivered",
            )
            [attempt] = delivery["attempts"]
            assert (attempt["status"], attempt["error"]) == (204, None)
            # Redelivery on demand: the same webhook-id again.
            r = client.post(
                f"{A}/subscriptions/{made['id']}/deliveries/{got.webhook_id}/redeliver",
                headers=bearer(tokens["manager"]),
            )
            assert r.status_code == 202, r.text
            deadline = time.monotonic() + 20
            while len(receiver.of("a")) < 2 and time.monotonic() < deadline:
                time.sleep(0.05)
            [first, again] = receiver.of("a")
            assert again.webhook_id == first.webhook_id
            assert again.body == first.body and again.verified
    finally:
        receiver.stop()


def test_a_redirect_is_not_followed(
    seeded: Store, database_url: str, tokens: dict[str, str]
) -> None:
    """The attempt fails, saying so; the registry never calls where it points."""
    redirecting = Receiver(redirect="https://elsewhere.example/hooks").start()
    settings = Settings(database_url=database_url, webhook_allow=ALLOW, calendar_interval=3600)
    try:
        with TestClient(create_app(settings, seeded, dispatch=True)) as client:
            moved = subscribe(client, tokens["manager"], redirecting.url("r"))
            handover(client, tokens["manager"])
            redirecting.wait(1, "r")
            url = f"{A}/subscriptions/{moved['id']}/deliveries"
            deadline = time.monotonic() + 20
            attempts: list[dict[str, Any]] = []
            while not attempts and time.monotonic() < deadline:
                time.sleep(0.05)
                attempts = client.get(url, headers=bearer(tokens["manager"])).json()[0]["attempts"]
            [attempt] = attempts
            assert (attempt["status"], attempt["error"]) == (
                302,
                "the callback answered 302 (to https://elsewhere.example/hooks); "
                "redirects are not followed",
            )
    finally:
        redirecting.stop()


# -- the calendar ----------------------------------------------------------------------

# Hands internet over from fastnet to cablenet on 2027-03-01; a waiver silences the gap
# slow-speed has until 2027-02-01.
CALENDAR = {
    "fastnet-ends": FASTNET_NARROWED.replace(
        "effective: {from: 2026-01-01, until: 2028-01-01}",
        "effective: {from: 2026-01-01, until: 2027-03-01}",
    ).replace("where: {category: [outage]}", "where: {category: [internet]}"),
}
CABLENET_FROM_MARCH = CABLENET_CONTRACT.replace(
    "effective: {from: 2026-01-01}", "effective: {from: 2027-03-01}"
)


def test_the_calendar_announces_a_boundary_once(
    seeded: Store, database_url: str, tokens: dict[str, str], events_client: Client
) -> None:
    subscribe(
        events_client, tokens["manager"], "http://127.0.0.1:9/hooks/c", ["ownership.scheduled"]
    )
    fastnet_until_march = CALENDAR["fastnet-ends"]
    r = events_client.post(
        f"{A}/apply?asOf={AS_OF}",
        headers={**bearer(tokens["manager"]), **YAML},
        content=CABLENET_PARTNER + "---\n" + CABLENET_FROM_MARCH + "---\n" + fastnet_until_march,
    )
    assert r.status_code == 200, r.text
    calendar = Calendar(seeded, Live(seeded))
    # 2026-11-30: 2027-03-01 is 91 days off, outside the 90-day horizon.
    assert calendar.sweep(dt.date(2026, 11, 30)) == 0
    assert calendar.sweep(dt.date(2026, 12, 1)) == 1
    assert calendar.sweep(dt.date(2026, 12, 2)) == 0  # once per boundary
    [(kind, revision, body)] = [e for e in outbox(seeded) if e[0] == "ownership.scheduled"]
    assert (kind, revision) == ("ownership.scheduled", 2)
    assert body["data"] == {
        "on": "2027-03-01",
        "boundaries": [
            {"ref": "Contract/cablenet-internet", "edge": "from"},
            {"ref": "Contract/fastnet-internet", "edge": "until"},
        ],
        "moves": [MOVE],
        "faceMoves": [],
    }


WAIVER = """\
apiVersion: alliance-registry/v1
kind: Waiver
metadata: {name: slow-speed-gap, alliance: metro-home}
spec:
  rule: coverage-gap
  where: {category: [slow-speed]}
  reason: the slow-speed desk is being set up
  approvedBy: board
  expires: 2027-02-01
"""


def test_a_waiver_expiring_opens_its_findings(
    seeded: Store, tokens: dict[str, str], events_client: Client
) -> None:
    subscribe(events_client, tokens["manager"], "http://127.0.0.1:9/hooks/f", ["coverage.finding"])
    r = events_client.post(
        f"{A}/apply?asOf={AS_OF}",
        headers={**bearer(tokens["manager"]), **YAML},
        content=FASTNET_NARROWED + "---\n" + WAIVER,
    )
    assert r.status_code == 200, r.text
    calendar = Calendar(seeded, Live(seeded))
    assert calendar.sweep(dt.date(2027, 1, 31)) == 0  # the first sweep looks at one day back
    assert calendar.sweep(dt.date(2027, 2, 1)) == 1
    assert calendar.sweep(dt.date(2027, 2, 1)) == 0
    [(_, _, body)] = [e for e in outbox(seeded) if e[0] == "coverage.finding"]
    assert body["data"]["cause"] == "calendar"
    assert body["data"]["on"] == "2027-02-01"
    assert body["data"]["closed"] == []
    assert [(f["rule"], f["region"], f["cells"]) for f in body["data"]["opened"]] == [
        ("coverage-gap", {"category": ["slow-speed"]}, 2)
    ]
    assert Registry(seeded).outbox_backlog().depth == 1


def test_a_face_moving_is_an_ownership_move(
    events_client: Client, tokens: dict[str, str], seeded: Store
) -> None:
    subscribe(events_client, tokens["manager"], "http://127.0.0.1:9/hooks/m")
    faces = (
        "  customerFace:\n"
        "    - {partner: metro, where: {category: [billing, installation]}}\n"
        "    - {partner: fastnet, where: {category: [connectivity]}}\n"
    )
    alliance = ALLIANCE.replace("  customerFace:\n    - {partner: metro, where: {}}\n", faces)
    assert alliance != ALLIANCE
    r = events_client.post(
        f"{A}/apply?asOf={AS_OF}&force=true",
        headers={**bearer(tokens["manager"]), **YAML},
        content=alliance,
    )
    assert r.status_code == 200, r.text
    [(kind, _, moved)] = outbox(seeded)
    assert kind == "ownership.moved"
    assert moved["data"] == {
        "effective": AS_OF,
        "moves": [],
        "faceMoves": [
            {
                "region": {"category": ["connectivity"]},
                "cells": 4,
                "example": {"category": "outage", "region": "north"},
                "before": ["metro"],
                "after": ["fastnet"],
            }
        ],
    }


def test_the_addresses_are_checked_again_at_delivery(seeded: Store, database_url: str) -> None:
    """A callback accepted once is judged again when it is called: the allowed hosts
    as the delivering server has them, the addresses its name resolves to then."""
    dispatcher = Dispatcher(seeded, Settings(database_url=database_url), None)
    try:
        with pytest.raises(CallbackRefused) as refused:
            dispatcher._target("https://127.0.0.1:8443/hooks")
        assert str(refused.value) == (
            "'127.0.0.1' resolves to 127.0.0.1, a loopback address; the registry calls only "
            "public addresses unless REGISTRY_WEBHOOK_ALLOW names the host"
        )
        allowed = Dispatcher(seeded, Settings(database_url=database_url, webhook_allow=ALLOW), None)
        assert allowed._target("http://127.0.0.1:8443/hooks?a=1") == (
            "http://127.0.0.1:8443/hooks?a=1",
            "127.0.0.1:8443",
            "127.0.0.1",
        )
        allowed.stop()
    finally:
        dispatcher.stop()


def test_retries_end_in_a_failing_subscription_until_redelivered(
    seeded: Store, database_url: str, tokens: dict[str, str]
) -> None:
    """A receiver answering 500 past the retry window (scaled down here): the delivery
    has failed and the subscription is failing; a redelivery takes it up again."""
    receiver = Receiver(status=500).start()
    settings = Settings(
        database_url=database_url,
        webhook_allow=ALLOW,
        webhook_retry_base=0.05,
        webhook_retry_window=0.6,
        calendar_interval=3600,
    )
    manager = bearer(tokens["manager"])
    try:
        with TestClient(create_app(settings, seeded, dispatch=True)) as client:
            made = subscribe(client, tokens["manager"], receiver.url("f"))
            receiver.secrets["/hooks/f"] = made["secret"]
            handover(client, tokens["manager"])
            url = f"{A}/subscriptions/{made['id']}"
            deadline = time.monotonic() + 20
            while client.get(url, headers=manager).json()["status"] != "failing":
                assert time.monotonic() < deadline, "the subscription never failed"
                time.sleep(0.05)
            assert client.get(url, headers=manager).json()["failingSince"] is not None
            [delivery] = client.get(f"{url}/deliveries", headers=manager).json()
            assert delivery["status"] == "failed"
            assert len(delivery["attempts"]) >= 3
            assert {(a["status"], a["error"]) for a in delivery["attempts"]} == {
                (500, "the callback answered 500")
            }
            receiver.status = 204
            r = client.post(f"{url}/deliveries/{delivery['id']}/redeliver", headers=manager)
            assert r.status_code == 202, r.text
            assert client.get(url, headers=manager).json()["status"] == "active"
            deadline = time.monotonic() + 20
            while client.get(f"{url}/deliveries", headers=manager).json()[0]["status"] != (
                "delivered"
            ):
                assert time.monotonic() < deadline, "the redelivery never arrived"
                time.sleep(0.05)
            assert receiver.of("f")[-1].webhook_id == delivery["id"]
    finally:
        receiver.stop()
