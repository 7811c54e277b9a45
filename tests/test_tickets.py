"""TMF621 ticket routing: the specification's v4 and v5 tickets routed through the
triple-play example, every mapping error, the CLI and the API route.

The tickets are in examples/tickets/ (see its README for where each comes from)."""

from __future__ import annotations

import copy
import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import msgspec
import pytest
from conftest import ALLIANCE, EXAMPLES, REPO, WriteAlliance, bearer
from hypothesis import given, settings
from hypothesis import strategies as st
from litestar import Litestar
from litestar.testing import TestClient

from registry.cli import main
from registry.load import load
from registry.resolve import OwnerIndex
from registry.tickets import (
    NoTicketMapping,
    TicketError,
    TicketRejected,
    detect_version,
    route,
    text,
    to_builtins,
)

TICKETS = EXAMPLES / "tickets"
TRIPLE_PLAY = REPO / "examples" / "triple-play"
RECEIVED = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)

# The minimal alliance of conftest, mapping tickets from a related entity with a default.
MAPPED_ALLIANCE = (
    ALLIANCE
    + """\
  tickets:
    dimensions:
      category:
        field: ticketType
        values: {Bill Dispute: refund, Internet Outage: outage}
      region: {relatedEntity: serviceArea, default: north}
"""
)


def ticket(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((TICKETS / name).read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="module")
def triple_play() -> OwnerIndex:
    return OwnerIndex(load([TRIPLE_PLAY]).bundles["triple-play"])


@pytest.fixture
def metro_home(tmp_path: Path, write_alliance: WriteAlliance) -> OwnerIndex:
    folder = write_alliance(tmp_path / "m", **{"alliance.yaml": MAPPED_ALLIANCE})
    return OwnerIndex(load([folder]).bundles["metro-home"])


def party_v5(role: str, partner: str, legal: str) -> dict[str, Any]:
    return {
        "role": role,
        "partyOrPartyRole": {
            "id": partner,
            "name": legal,
            "@type": "PartyRef",
            "@referredType": "Organization",
        },
        "@type": "RelatedPartyRefOrPartyRoleRef",
    }


def party_v4(role: str, partner: str, legal: str) -> dict[str, Any]:
    return {"id": partner, "name": legal, "role": role, "@referredType": "Organization"}


METRO_ESCALATION = [
    {
        "after": "PT4H",
        "to": {"contact": "duty-manager", "email": "care-duty@metrohome.example"},
        "at": "2026-05-31T11:34:45.968Z",
    },
    {
        "after": "P1D",
        "to": {"contact": "account-director", "email": "partners@metrohome.example"},
        "at": "2026-06-01T07:34:45.968Z",
    },
    {
        "after": "P2D",
        "to": {"authority": "board", "email": "board@metrohome.example"},
        "at": "2026-06-02T07:34:45.968Z",
    },
]


def metro_decision(version: str, enriched: dict[str, Any]) -> dict[str, Any]:
    """The decision for the specification's bill dispute: Metro bills, so Metro owns
    it and there is no handoff (hence no acknowledge or resolve deadline)."""
    return {
        "alliance": "triple-play",
        "revision": None,
        "version": version,
        "at": "2026-05-31",
        "query": {"category": "refund", "region": "north", "channel": "web"},
        "status": "owned",
        "owner": {"partner": "metro", "contract": "metro-care"},
        "candidates": [],
        "waivers": [],
        "face": {"partner": "metro"},
        "handoff": None,
        "consulted": [],
        "escalation": METRO_ESCALATION,
        "authority": {"name": "board", "email": "board@metrohome.example"},
        "deadlines": {"start": "2026-05-31T07:34:45.968Z", "source": "creationDate"},
        "ticket": enriched,
    }


# -- round trips of the specification's tickets ---------------------------------------


def test_v5_ticket_from_the_specification(triple_play: OwnerIndex) -> None:
    original = ticket("tmf621-v5-retrieve.json")
    routing = route(copy.deepcopy(original), triple_play, RECEIVED)
    enriched = {
        **original,
        "relatedParty": [
            *original["relatedParty"],
            party_v5("accountable", "metro", "Metro Home plc"),
            party_v5("customerFace", "metro", "Metro Home plc"),
        ],
    }
    assert to_builtins(routing) == metro_decision("v5", enriched)


def test_v4_ticket_from_the_specification(triple_play: OwnerIndex) -> None:
    original = ticket("tmf621-v4.json")
    routing = route(copy.deepcopy(original), triple_play, RECEIVED)
    enriched = {
        **original,
        "relatedParty": [
            *original["relatedParty"],
            party_v4("accountable", "metro", "Metro Home plc"),
            party_v4("customerFace", "metro", "Metro Home plc"),
        ],
    }
    assert to_builtins(routing) == metro_decision("v4", enriched)


def test_a_partner_handoff_gets_every_deadline(triple_play: OwnerIndex) -> None:
    # The specification's ticket about a router bought online: FastNet owns it and
    # Metro, which sells routers in its stores, is consulted.
    original = {**ticket("tmf621-v5-retrieve.json"), "ticketType": "Wi-Fi Router"}
    decision = to_builtins(route(original, triple_play, RECEIVED))
    assert decision["query"] == {"category": "wifi-router", "region": "north", "channel": "web"}
    assert (decision["status"], decision["owner"]) == (
        "owned",
        {"partner": "fastnet", "contract": "fastnet-internet"},
    )
    assert decision["handoff"] == {
        "endpoint": {
            "name": "tickets",
            "type": "tmf621",
            "address": "https://fastnet.example/tmf-api/troubleTicket/v5",
        },
        "mode": "retain",
        "acknowledgeWithin": "PT1H",
        "resolveWithin": "P2D",
        "requires": ["customerId", "description", "severity"],
    }
    assert decision["consulted"] == [{"partner": "metro", "respondWithin": "PT2H"}]
    assert decision["deadlines"] == {
        "start": "2026-05-31T07:34:45.968Z",
        "source": "creationDate",
        "acknowledgeBy": "2026-05-31T08:34:45.968Z",
        "resolveBy": "2026-06-02T07:34:45.968Z",
        "respondBy": {"metro": "2026-05-31T09:34:45.968Z"},
    }
    assert [(s["after"], s["at"]) for s in decision["escalation"]] == [
        ("PT4H", "2026-05-31T11:34:45.968Z"),
        ("P1D", "2026-06-01T07:34:45.968Z"),
        ("P2D", "2026-06-02T07:34:45.968Z"),
    ]
    assert decision["escalation"][0]["to"] == {
        "contact": "duty-manager",
        "email": "noc@fastnet.example",
    }
    assert decision["ticket"]["relatedParty"][3:] == [
        party_v5("accountable", "fastnet", "FastNet Ltd"),
        party_v5("customerFace", "metro", "Metro Home plc"),
        party_v5("consulted", "metro", "Metro Home plc"),
    ]


def test_a_v4_ticket_names_its_consulted_partner_in_v4_shape(triple_play: OwnerIndex) -> None:
    # A router complaint made in a store stays with Metro, which consults FastNet.
    original = ticket("tmf621-v4.json")
    original["ticketType"] = "Wi-Fi Router"
    original["channel"]["name"] = "retail store"
    decision = to_builtins(route(original, triple_play, RECEIVED))
    assert (decision["version"], decision["owner"]["partner"]) == ("v4", "metro")
    assert decision["deadlines"] == {
        "start": "2026-05-31T07:34:45.968Z",
        "source": "creationDate",
        "respondBy": {"fastnet": "2026-05-31T09:34:45.968Z"},
    }
    assert decision["ticket"]["relatedParty"][3:] == [
        party_v4("accountable", "metro", "Metro Home plc"),
        party_v4("customerFace", "metro", "Metro Home plc"),
        party_v4("consulted", "fastnet", "FastNet Ltd"),
    ]


def test_a_create_request_starts_the_clock_when_received(triple_play: OwnerIndex) -> None:
    # The specification's create request has no id and no creationDate: the server
    # sets them, so the clock starts when the registry receives the ticket.
    decision = to_builtins(route(ticket("tmf621-v5-create.json"), triple_play, RECEIVED))
    assert decision["at"] == "2026-06-01"
    assert decision["deadlines"] == {"start": "2026-06-01T12:00:00Z", "source": "received"}
    assert decision["escalation"][0]["at"] == "2026-06-01T16:00:00Z"
    assert "id" not in decision["ticket"]


@pytest.mark.parametrize(
    "name", ["tmf621-v5-retrieve.json", "tmf621-v5-create.json", "tmf621-v4.json"]
)
def test_the_enriched_ticket_keeps_every_field(triple_play: OwnerIndex, name: str) -> None:
    original = ticket(name)
    enriched = route(copy.deepcopy(original), triple_play, RECEIVED).ticket
    assert {k: v for k, v in enriched.items() if k != "relatedParty"} == {
        k: v for k, v in original.items() if k != "relatedParty"
    }
    kept = original.get("relatedParty", [])
    assert enriched["relatedParty"][: len(kept)] == kept
    assert ticket(name) == original, "routing must not change the ticket it was given"


@pytest.mark.parametrize(
    "name", ["tmf621-v5-retrieve.json", "tmf621-v5-create.json", "tmf621-v4.json"]
)
def test_routing_a_routed_ticket_again_changes_nothing(triple_play: OwnerIndex, name: str) -> None:
    once = route(ticket(name), triple_play, RECEIVED)
    twice = route(once.ticket, triple_play, RECEIVED)
    assert twice.ticket == once.ticket
    assert to_builtins(twice) == to_builtins(once)


def test_text_for_a_person(triple_play: OwnerIndex) -> None:
    original = {**ticket("tmf621-v5-retrieve.json"), "ticketType": "Wi-Fi Router"}
    assert text(route(original, triple_play, RECEIVED)) == "\n".join(
        [
            "triple-play: ticket TT-1001 (TMF621 v5) category=wifi-router, region=north, "
            "channel=web on 2026-05-31: owned by fastnet (contract fastnet-internet)",
            "  face: metro",
            "  handoff: tickets (tmf621 https://fastnet.example/tmf-api/troubleTicket/v5), "
            "mode retain",
            "  requires: customerId, description, severity",
            "  clock starts 2026-05-31T07:34:45.968Z (creationDate)",
            "  acknowledge by 2026-05-31T08:34:45.968Z",
            "  resolve by 2026-06-02T07:34:45.968Z",
            "  consulted: metro, respond by 2026-05-31T09:34:45.968Z",
            "  escalate after PT4H (2026-05-31T11:34:45.968Z): contact duty-manager "
            "email noc@fastnet.example",
            "  escalate after P1D (2026-06-01T07:34:45.968Z): contact account-director "
            "email wholesale@fastnet.example",
            "  escalate after P2D (2026-06-02T07:34:45.968Z): authority board "
            "email board@metrohome.example",
            "  relatedParty added: accountable fastnet, customerFace metro, consulted metro",
        ]
    )


# -- versions, times, sources ---------------------------------------------------------


@pytest.mark.parametrize(
    ("shape", "version"),
    [
        ({}, "v5"),
        ({"ticketType": "Billing"}, "v5"),
        ({"statusChange": []}, "v4"),
        ({"externalId": "x"}, "v4"),
        ({"relatedParty": [{"id": "1", "role": "customer"}]}, "v4"),
        ({"relatedEntity": [{"@referredType": "Product", "role": "x"}]}, "v4"),
        ({"externalIdentifier": []}, "v5"),
        ({"relatedParty": [{"role": "customer", "partyOrPartyRole": {"id": "1"}}]}, "v5"),
        ({"relatedEntity": [{"role": "x", "entity": {"id": "1"}}]}, "v5"),
        ({"troubleTicketSpecification": {"id": "1"}}, "v5"),
    ],
)
def test_the_version_is_told_by_shape(shape: dict[str, Any], version: str) -> None:
    assert detect_version(shape) == (version, [])


def test_a_ticket_in_both_shapes_is_refused() -> None:
    assert detect_version({"statusChange": [], "relatedParty": [{"partyOrPartyRole": {}}]}) == (
        "v5",
        [
            TicketError(
                "$.statusChange",
                "a TMF621 v4 field, but $.relatedParty[0].partyOrPartyRole is v5; send the "
                "ticket in one version's shape (v4: statusChange, externalId, relatedParty "
                "items with id; v5: statusChangeHistory, externalIdentifier, relatedParty "
                "items with partyOrPartyRole)",
            )
        ],
    )


@pytest.mark.parametrize(
    ("created", "start", "day"),
    [
        ("2026-05-31T23:30:00+02:00", "2026-05-31T21:30:00Z", "2026-05-31"),
        ("2026-05-31T23:30:00-02:00", "2026-06-01T01:30:00Z", "2026-06-01"),
        ("2026-05-31T07:34:45", "2026-05-31T07:34:45Z", "2026-05-31"),  # no offset: UTC
        ("2026-05-31T07:34:45.123456Z", "2026-05-31T07:34:45.123456Z", "2026-05-31"),
    ],
)
def test_the_clock_starts_in_utc(
    triple_play: OwnerIndex, created: str, start: str, day: str
) -> None:
    routing = route({**ticket("tmf621-v5-retrieve.json"), "creationDate": created}, triple_play,
                    RECEIVED)  # fmt: skip
    assert (routing.deadlines.start, routing.at) == (start, day)


def test_a_related_entity_names_the_region(metro_home: OwnerIndex) -> None:
    v5 = {
        "ticketType": "Internet Outage",
        "creationDate": "2026-11-22T10:00:00Z",
        "relatedEntity": [
            {"role": "disputedBill", "entity": {"id": "1", "name": "March Bill"}},
            {"role": "serviceArea", "entity": {"id": "2", "name": "south"}},
        ],
    }
    assert route(v5, metro_home, RECEIVED).query == {"category": "outage", "region": "south"}
    v4 = {**v5, "relatedEntity": [{"id": "2", "name": "south", "role": "serviceArea"}]}
    routing = route(v4, metro_home, RECEIVED)
    assert (routing.version, routing.query) == ("v4", {"category": "outage", "region": "south"})
    assert routing.deadlines.acknowledge_by == "2026-11-22T11:00:00Z"
    assert routing.deadlines.resolve_by == "2026-11-24T10:00:00Z"


def test_the_default_applies_when_the_ticket_does_not_say(metro_home: OwnerIndex) -> None:
    plain = {"ticketType": "refund", "creationDate": "2026-11-22T10:00:00Z"}
    assert route(plain, metro_home, RECEIVED).query == {"category": "refund", "region": "north"}
    blank = {**plain, "relatedEntity": [{"role": "serviceArea", "entity": {"name": " "}}]}
    assert route(blank, metro_home, RECEIVED).query == {"category": "refund", "region": "north"}


def test_an_unowned_ticket_gets_its_face_and_goes_to_the_authority(
    metro_home: OwnerIndex,
) -> None:
    # FastNet's contract starts on 2026-01-01: before it, internet outages are nobody's.
    routing = route(
        {"ticketType": "Internet Outage", "creationDate": "2025-12-31T22:00:00Z"},
        metro_home,
        RECEIVED,
    )
    decision = to_builtins(routing)
    assert (decision["status"], decision["owner"], decision["handoff"]) == ("unowned", None, None)
    assert decision["escalation"] == [
        {
            "after": "PT0S",
            "to": {"authority": "board", "email": "board@metro.example"},
            "at": "2025-12-31T22:00:00Z",
        }
    ]
    assert decision["ticket"]["relatedParty"] == [
        party_v5("customerFace", "metro", "Metro Home plc")
    ]


def test_a_ticket_in_a_waived_gap_names_the_waiver(triple_play: OwnerIndex) -> None:
    # Legal disputes are unowned by design: the routing says so, so the complaint
    # system can tell the intended gap from a broken one.
    v5 = {
        "ticketType": "legal-dispute",
        "creationDate": "2026-11-22T10:00:00Z",
        "troubleTicketCharacteristic": [{"name": "region", "value": "north"}],
        "channel": {"name": "web"},
    }
    decision = to_builtins(route(v5, triple_play, RECEIVED))
    assert (decision["status"], decision["owner"]) == ("unowned", None)
    assert decision["waivers"] == [
        {
            "name": "legal-disputes-to-court",
            "rule": "coverage-gap",
            "expires": "2027-12-31",
            "approvedBy": "board",
        }
    ]
    # Once the waiver has expired, the same ticket is an unintended gap.
    later = {**v5, "creationDate": "2028-01-02T10:00:00Z"}
    assert to_builtins(route(later, triple_play, RECEIVED))["waivers"] == []


# -- every mapping error --------------------------------------------------------------

CATEGORY_CHOICES = (
    "the valid choices are 'Bill Dispute', 'Billing', 'Internet Outage', 'Slow Internet', "
    "'Wi-Fi Router', 'No TV Signal', 'Phone Line Fault', 'Missed Appointment' (mapped by "
    "the alliance) or a category node: billing, invoice-error, refund, payment-failed, "
    "price-change, bundle-discount, connectivity, internet, outage, slow-speed, wifi-router, "
    "email-service, tv, no-signal, picture-quality, set-top-box, channel-missing, on-demand, "
    "phone, no-dial-tone, call-quality, number-porting, voicemail, installation, "
    "appointment-missed, install-damage, wiring, account, move-home, cancel, privacy-request, "
    "legal-dispute"
)
CHANNEL_CHOICES = (
    "the valid choices are 'self service', 'call centre', 'retail store', 'mobile app' "
    "(mapped by the alliance) or a channel node: phone, web, store, app"
)


def errors_of(index: OwnerIndex, data: Any) -> list[tuple[str, str]]:
    with pytest.raises(TicketRejected) as caught:
        route(data, index, RECEIVED)
    return [(e.path, e.message) for e in caught.value.errors]


def spec_ticket(**changes: Any) -> dict[str, Any]:
    """The specification's v5 ticket with fields changed (None removes one)."""
    data = ticket("tmf621-v5-retrieve.json")
    for key, value in changes.items():
        if value is None:
            del data[key]
        else:
            data[key] = value
    return data


def without_region(data: dict[str, Any]) -> dict[str, Any]:
    data["troubleTicketCharacteristic"] = [
        c for c in data["troubleTicketCharacteristic"] if c["name"] != "region"
    ]
    return data


def region_value(value: Any) -> dict[str, Any]:
    data = without_region(spec_ticket())
    data["troubleTicketCharacteristic"].append({"name": "region", "value": value})
    return data


MISSING_TYPE = ("$.ticketType", "missing; the alliance maps category from ticketType")


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param(spec_ticket(ticketType=None), [MISSING_TYPE], id="ticketType-absent"),
        pytest.param({**spec_ticket(), "ticketType": None}, [MISSING_TYPE], id="ticketType-null"),
        pytest.param(
            spec_ticket(ticketType="  "),
            [("$.ticketType", "missing; the alliance maps category from it")],
            id="ticketType-blank",
        ),
        pytest.param(
            spec_ticket(ticketType="Bil Dispute"),
            [
                (
                    "$.ticketType",
                    "unknown category 'Bil Dispute' (did you mean 'Bill Dispute'?); "
                    + CATEGORY_CHOICES,
                )
            ],
            id="unknown-category-with-a-hint",
        ),
        pytest.param(
            spec_ticket(ticketType="Complaint"),
            [("$.ticketType", f"unknown category 'Complaint'; {CATEGORY_CHOICES}")],
            id="unknown-category",
        ),
        pytest.param(
            spec_ticket(ticketType={"name": "Billing"}),
            [
                (
                    "$.ticketType",
                    "expected a string, got a mapping; the alliance maps category from it",
                )
            ],
            id="ticketType-not-a-string",
        ),
        pytest.param(
            spec_ticket(channel=None),
            [("$.channel", "missing; the alliance maps channel from channel.name")],
            id="channel-absent",
        ),
        pytest.param(
            spec_ticket(channel={"id": "8774"}),
            [("$.channel.name", "missing; the alliance maps channel from channel.name")],
            id="channel-name-absent",
        ),
        pytest.param(
            spec_ticket(channel="web"),
            [
                (
                    "$.channel",
                    "expected an object holding 'name', got the string 'web'; "
                    "the alliance maps channel from channel.name",
                )
            ],
            id="channel-not-an-object",
        ),
        pytest.param(
            spec_ticket(channel={"name": "fax"}),
            [("$.channel.name", f"unknown channel 'fax'; {CHANNEL_CHOICES}")],
            id="unknown-channel",
        ),
        pytest.param(
            without_region(spec_ticket()),
            [
                (
                    "$.troubleTicketCharacteristic",
                    "no characteristic named 'region'; the alliance maps region from it",
                )
            ],
            id="no-region-characteristic",
        ),
        pytest.param(
            spec_ticket(troubleTicketCharacteristic=None),
            [
                (
                    "$.troubleTicketCharacteristic",
                    "no characteristic named 'region'; the alliance maps region from it",
                )
            ],
            id="no-characteristics",
        ),
        pytest.param(
            region_value(["north"]),
            [
                (
                    "$.troubleTicketCharacteristic[4].value",
                    "expected a string, got a list; the alliance maps region from it",
                )
            ],
            id="region-not-a-string",
        ),
        pytest.param(
            region_value(7),
            [
                (
                    "$.troubleTicketCharacteristic[4].value",
                    "unknown region '7'; the valid choices are a region node: "
                    "north, south, east, west",
                )
            ],
            id="region-a-number",
        ),
        pytest.param(
            spec_ticket(troubleTicketCharacteristic={"name": "region"}),
            [("$.troubleTicketCharacteristic", "expected a list, got an object")],
            id="characteristics-not-a-list",
        ),
        pytest.param(
            spec_ticket(creationDate="31/05/2026"),
            [
                (
                    "$.creationDate",
                    "the string '31/05/2026' is not an RFC 3339 date-time; "
                    "write e.g. 2026-05-31T07:34:45Z",
                )
            ],
            id="creationDate-malformed",
        ),
        pytest.param(
            spec_ticket(creationDate="0001-01-01T00:00:00+01:00"),
            [("$.creationDate", "out of range; write a time after year 1 in UTC")],
            id="creationDate-before-utc-begins",
        ),
        pytest.param(
            spec_ticket(relatedParty={"role": "customer"}),
            [("$.relatedParty", "expected a list, got an object")],
            id="relatedParty-not-a-list",
        ),
        pytest.param(
            spec_ticket(relatedParty=[{"role": 7}]),
            [("$.relatedParty[0].role", "expected a string, got an integer")],
            id="relatedParty-role-not-a-string",
        ),
        pytest.param(
            ["not", "a", "ticket"],
            [("$", "expected a TMF621 TroubleTicket (a JSON object), got a list")],
            id="not-an-object",
        ),
        pytest.param(
            {},
            [
                MISSING_TYPE,
                (
                    "$.troubleTicketCharacteristic",
                    "no characteristic named 'region'; the alliance maps region from it",
                ),
                ("$.channel", "missing; the alliance maps channel from channel.name"),
            ],
            id="empty-ticket-every-error-at-once",
        ),
    ],
)
def test_mapping_errors(
    triple_play: OwnerIndex, data: Any, expected: list[tuple[str, str]]
) -> None:
    assert errors_of(triple_play, data) == expected


def test_every_error_of_a_ticket_is_reported_at_once(triple_play: OwnerIndex) -> None:
    data = spec_ticket(ticketType="Bill Dispute!", channel={"name": "telex"},
                       creationDate="soon")  # fmt: skip
    assert [path for path, _ in errors_of(triple_play, data)] == [
        "$.creationDate",
        "$.ticketType",
        "$.channel.name",
    ]


def test_a_v4_ticket_reads_characteristic_not_trouble_ticket_characteristic(
    triple_play: OwnerIndex,
) -> None:
    data = ticket("tmf621-v4.json")
    data["characteristic"] = data["characteristic"][:4]  # the region is the fifth
    assert errors_of(triple_play, data) == [
        ("$.characteristic", "no characteristic named 'region'; the alliance maps region from it")
    ]


def test_a_missing_related_entity_without_default(
    tmp_path: Path, write_alliance: WriteAlliance
) -> None:
    alliance = MAPPED_ALLIANCE.replace(", default: north", "")
    folder = write_alliance(tmp_path / "m", **{"alliance.yaml": alliance})
    index = OwnerIndex(load([folder]).bundles["metro-home"])
    assert errors_of(index, {"ticketType": "refund"}) == [
        (
            "$.relatedEntity",
            "no related entity with role 'serviceArea'; the alliance maps region from its name",
        )
    ]
    nameless = {"ticketType": "refund", "relatedEntity": [{"role": "serviceArea", "entity": {}}]}
    assert errors_of(index, nameless) == [
        ("$.relatedEntity[0].entity.name", "missing; the alliance maps region from it")
    ]


def test_an_alliance_without_a_ticket_mapping(
    tmp_path: Path, write_alliance: WriteAlliance
) -> None:
    index = OwnerIndex(load([write_alliance(tmp_path / "plain")]).bundles["metro-home"])
    with pytest.raises(NoTicketMapping) as caught:
        route(ticket("tmf621-v5-retrieve.json"), index, RECEIVED)
    assert str(caught.value) == (
        "alliance 'metro-home' declares no ticket mapping, so its tickets cannot be routed; "
        "add spec.tickets to its Alliance document to say which ticket field names each "
        "dimension"
    )


# -- the command line -----------------------------------------------------------------


def test_cli_routes_the_v4_ticket(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["route", str(TICKETS / "tmf621-v4.json"), str(TRIPLE_PLAY)]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert out.splitlines() == [
        "triple-play: ticket TT-1002 (TMF621 v4) category=refund, region=north, channel=web "
        "on 2026-05-31: owned by metro (contract metro-care)",
        "  face: metro",
        "  clock starts 2026-05-31T07:34:45.968Z (creationDate)",
        "  escalate after PT4H (2026-05-31T11:34:45.968Z): contact duty-manager "
        "email care-duty@metrohome.example",
        "  escalate after P1D (2026-06-01T07:34:45.968Z): contact account-director "
        "email partners@metrohome.example",
        "  escalate after P2D (2026-06-02T07:34:45.968Z): authority board "
        "email board@metrohome.example",
        "  relatedParty added: accountable metro, customerFace metro",
    ]


def test_cli_json_is_the_routing(
    triple_play: OwnerIndex, capsys: pytest.CaptureFixture[str]
) -> None:
    path = TICKETS / "tmf621-v5-retrieve.json"
    examples = str(REPO / "examples")
    assert (
        main(["route", str(path), examples, "--alliance", "triple-play", "--format", "json"]) == 0
    )
    out, _ = capsys.readouterr()
    assert json.loads(out) == to_builtins(route(ticket(path.name), triple_play, RECEIVED))


def test_cli_reads_the_ticket_from_standard_input(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import io  # noqa: PLC0415
    import sys  # noqa: PLC0415

    body = (TICKETS / "tmf621-v5-retrieve.json").read_bytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(body)))
    assert main(["route", "-", str(TRIPLE_PLAY), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["owner"] == {
        "partner": "metro",
        "contract": "metro-care",
    }


def test_cli_refuses_a_ticket_it_cannot_map(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "ticket.json"
    path.write_text(json.dumps(spec_ticket(ticketType=None, channel={"name": "fax"})))
    assert main(["route", str(path), str(TRIPLE_PLAY)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        f"{path}: $.ticketType: missing; the alliance maps category from ticketType",
        f"{path}: $.channel.name: unknown channel 'fax'; {CHANNEL_CHOICES}",
        "2 error(s) in the ticket; not routed",
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "cannot read the ticket: JSON is malformed"),
        (None, "cannot read the ticket: [Errno 2] No such file or directory"),
    ],
)
def test_cli_refuses_an_unreadable_ticket(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, message: str
) -> None:
    path = tmp_path / "ticket.json"
    if content is not None:
        path.write_text(content)
    assert main(["route", str(path), str(TRIPLE_PLAY)]) == 2
    assert capsys.readouterr().err.startswith(f"registry: {path}: {message}")


def test_cli_needs_a_mapping_and_one_alliance(capsys: pytest.CaptureFixture[str]) -> None:
    path = str(TICKETS / "tmf621-v5-retrieve.json")
    examples = str(REPO / "examples")
    assert main(["route", path, examples, "--alliance", "roaming"]) == 2
    assert capsys.readouterr().err == (
        "registry: alliance 'roaming' declares no ticket mapping, so its tickets cannot be "
        "routed; add spec.tickets to its Alliance document to say which ticket field names "
        "each dimension\n"
    )
    assert main(["route", path, examples]) == 2
    assert "name one with --alliance" in capsys.readouterr().err


def test_cli_refuses_invalid_documents(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    case = EXAMPLES / "invalid" / "ticket-mapping-value-not-a-node"
    folder = shutil.copytree(case, tmp_path / "case")
    assert main(["route", str(TICKETS / "tmf621-v4.json"), str(folder)]) == 2
    assert "unknown category 'refnd' (did you mean 'refund'?)" in capsys.readouterr().err


# -- the API ---------------------------------------------------------------------------


@pytest.fixture
def alliance_dir(tmp_path: Path, write_alliance: WriteAlliance) -> Path:
    """What the API tests seed: metro-home mapping its tickets, and copies of the
    triple-play (mapping them) and roaming (not mapping them) examples."""
    folder = write_alliance(tmp_path / "seed", **{"alliance.yaml": MAPPED_ALLIANCE})
    for name in ("triple-play", "roaming"):
        shutil.copytree(REPO / "examples" / name, folder / name)
    return folder


ROUTE = "/v1/alliances/{}/tickets:route"


def test_api_routes_the_specification_tickets(
    client: TestClient[Litestar], tokens: dict[str, str], triple_play: OwnerIndex
) -> None:
    for name in ("tmf621-v5-retrieve.json", "tmf621-v4.json"):
        r = client.post(
            ROUTE.format("triple-play"), json=ticket(name), headers=bearer(tokens["admin"])
        )
        assert r.status_code == 200, r.text
        expected = to_builtins(route(ticket(name), triple_play, RECEIVED))
        assert r.json() == {**expected, "revision": 1}


def test_api_every_role_that_resolves_may_route(
    client: TestClient[Litestar], tokens: dict[str, str]
) -> None:
    data = {"ticketType": "Internet Outage", "creationDate": "2026-11-22T10:00:00Z"}
    for role in ("admin", "manager", "auditor", "resolver", "partner"):
        r = client.post(ROUTE.format("metro-home"), json=data, headers=bearer(tokens[role]))
        assert r.status_code == 200, (role, r.text)
        body = r.json()
        assert (body["owner"], body["deadlines"]) == (
            {"partner": "fastnet", "contract": "fastnet-internet"},
            {
                "start": "2026-11-22T10:00:00Z",
                "source": "creationDate",
                "acknowledgeBy": "2026-11-22T11:00:00Z",
                "resolveBy": "2026-11-24T10:00:00Z",
            },
        )


def test_api_a_ticket_without_creation_date_starts_now(
    client: TestClient[Litestar], tokens: dict[str, str]
) -> None:
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    r = client.post(
        ROUTE.format("metro-home"),
        json={"ticketType": "Bill Dispute"},
        headers=bearer(tokens["resolver"]),
    )
    assert r.status_code == 200, r.text
    deadlines = r.json()["deadlines"]
    assert deadlines["source"] == "received"
    start = dt.datetime.fromisoformat(deadlines["start"].replace("Z", "+00:00"))
    assert before <= start <= dt.datetime.now(dt.UTC)


def test_api_mapping_errors_are_problem_details(
    client: TestClient[Litestar], tokens: dict[str, str]
) -> None:
    data = spec_ticket(ticketType="Bil Dispute", channel=None)
    r = client.post(ROUTE.format("triple-play"), json=data, headers=bearer(tokens["admin"]))
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json() == {
        "type": "/problems/unprocessable-entity",
        "title": "Unprocessable Entity",
        "status": 422,
        "detail": "2 error(s) in the ticket; it was not routed",
        "instance": "/v1/alliances/triple-play/tickets:route",
        "errors": [
            {
                "path": "$.ticketType",
                "message": "unknown category 'Bil Dispute' (did you mean 'Bill Dispute'?); "
                + CATEGORY_CHOICES,
            },
            {
                "path": "$.channel",
                "message": "missing; the alliance maps channel from channel.name",
            },
        ],
    }


def test_api_an_alliance_without_a_ticket_mapping(
    client: TestClient[Litestar], tokens: dict[str, str]
) -> None:
    r = client.post(
        ROUTE.format("roaming"), json=ticket("tmf621-v4.json"), headers=bearer(tokens["admin"])
    )
    assert r.status_code == 422
    assert r.json()["detail"] == (
        "alliance 'roaming' declares no ticket mapping, so its tickets cannot be routed; "
        "add spec.tickets to its Alliance document to say which ticket field names each "
        "dimension"
    )


def test_api_access(client: TestClient[Litestar], tokens: dict[str, str]) -> None:
    data = ticket("tmf621-v5-retrieve.json")
    assert client.post(ROUTE.format("metro-home"), json=data).status_code == 401
    # a metro-home token cannot see triple-play: it is told there is no such alliance
    r = client.post(ROUTE.format("triple-play"), json=data, headers=bearer(tokens["resolver"]))
    assert (r.status_code, r.json()["detail"]) == (404, "no alliance 'triple-play'")
    r = client.post(ROUTE.format("nowhere"), json=data, headers=bearer(tokens["admin"]))
    assert r.status_code == 404


def test_api_a_body_that_is_not_an_object(
    client: TestClient[Litestar], tokens: dict[str, str]
) -> None:
    r = client.post(ROUTE.format("metro-home"), json=[1, 2], headers=bearer(tokens["admin"]))
    assert r.status_code == 400
    assert r.headers["content-type"] == "application/problem+json"


# -- whatever a ticket holds, routing answers or says why not -------------------------

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
_FIELDS = st.sampled_from(
    [
        "ticketType", "channel", "creationDate", "relatedParty", "relatedEntity",
        "troubleTicketCharacteristic", "characteristic", "statusChange", "externalIdentifier",
    ]
)  # fmt: skip
_VALUES = st.one_of(
    _JSON,
    st.sampled_from(["Bill Dispute", "Wi-Fi Router", "refund", "north", "2026-05-31T07:34:45Z"]),
    st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
    st.builds(lambda name: {"name": name}, st.sampled_from(["self service", "web", "fax"])),
    st.lists(
        st.fixed_dictionaries(
            {"name": st.sampled_from(["region", "x"]), "value": _JSON},
            optional={"role": st.text(max_size=3), "partyOrPartyRole": _JSON, "id": _JSON},
        ),
        max_size=3,
    ),
)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(_FIELDS | st.text(max_size=6), _VALUES, max_size=6))
def test_any_ticket_is_routed_or_refused_with_reasons(
    triple_play: OwnerIndex, data: dict[str, Any]
) -> None:
    try:
        routing = route(data, triple_play, RECEIVED)
    except TicketRejected as refused:
        assert refused.errors
        assert all(e.path.startswith("$") and e.message for e in refused.errors)
    else:
        assert routing.status in {"owned", "unowned", "conflict", "ambiguous"}
        assert {k: v for k, v in routing.ticket.items() if k != "relatedParty"} == {
            k: v for k, v in data.items() if k != "relatedParty"
        }
        msgspec.json.encode(routing)
