"""The example alliances tell their own story: what examples/README.md and the
comments in each example's documents say, asked as owner queries of the documents.

Each claim quotes (or nearly) the sentence it checks. A document changed so that
the story no longer holds fails here; change the story with it.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from dataclasses import dataclass

import pytest
from conftest import REPO

from registry.cli import main
from registry.load import load
from registry.resolve import Answer, OwnerIndex

EXAMPLES = REPO / "examples"
# The folder of each alliance, when it is not named after it.
FOLDERS = {"metro-home": "gitops/contracts"}


@dataclass(frozen=True)
class Claim:
    says: str  # the story, in its own words
    alliance: str
    where: dict[str, str]
    at: str
    status: str = "owned"
    owner: tuple[str, str] | None = None  # (partner, contract)
    candidates: tuple[str, ...] = ()  # for a conflict or a gap: who is accountable
    face: str | None = None
    handoff: str | None = None  # the endpoint's name
    consulted: tuple[str, ...] | None = None  # None: not part of the claim


CLAIMS = [
    # -- triple-play ------------------------------------------------------------------
    Claim(
        "triple-play: Metro owns billing everywhere, and is the face",
        "triple-play",
        {"category": "refund", "region": "north", "channel": "web"},
        "2026-11-22",
        owner=("metro", "metro-care"),
        face="metro",
    ),
    Claim(
        "triple-play: the partners own their own network's faults (FastNet the internet)",
        "triple-play",
        {"category": "outage", "region": "south", "channel": "phone"},
        "2026-11-22",
        owner=("fastnet", "fastnet-internet"),
        face="metro",
        handoff="tickets",
    ),
    Claim(
        "triple-play: a router complaint made in a store stays with Metro (a carve-out "
        "from FastNet), which consults FastNet",
        "triple-play",
        {"category": "wifi-router", "region": "east", "channel": "store"},
        "2026-11-22",
        owner=("metro", "metro-care"),
        consulted=("fastnet",),
    ),
    Claim(
        "triple-play: a router complaint made on the web is FastNet's",
        "triple-play",
        {"category": "wifi-router", "region": "east", "channel": "web"},
        "2026-11-22",
        owner=("fastnet", "fastnet-internet"),
        consulted=("metro",),
    ),
    Claim(
        "triple-play: CallWave has the phone service in the north until 2027-03-01",
        "triple-play",
        {"category": "no-dial-tone", "region": "north", "channel": "app"},
        "2027-02-28",
        owner=("callwave", "callwave-phone-north-legacy"),
    ),
    Claim(
        "triple-play: its successor network (FastNet) starts that very day",
        "triple-play",
        {"category": "no-dial-tone", "region": "north", "channel": "app"},
        "2027-03-01",
        owner=("fastnet", "fastnet-phone-north"),
    ),
    Claim(
        "triple-play: legal disputes go to the courts (a waived gap)",
        "triple-play",
        {"category": "legal-dispute", "region": "west", "channel": "phone"},
        "2026-11-22",
        status="unowned",
        face="metro",
    ),
    # -- roaming ----------------------------------------------------------------------
    Claim(
        "roaming: Northwind is the face abroad; EuroNet owns the network faults of the "
        "European countries",
        "roaming",
        {"category": "dropped-calls", "region": "france", "channel": "hotline"},
        "2026-11-22",
        owner=("euronet", "euronet-europe"),
        face="northwind",
        handoff="tickets",
    ),
    Claim(
        "roaming: except Spain, where Iberia Movil has the licence; EuroNet is consulted "
        "on SMS there",
        "roaming",
        {"category": "sms-delivery", "region": "spain", "channel": "app"},
        "2026-11-22",
        owner=("iberia-movil", "iberia-spain"),
        face="northwind",
        consulted=("euronet",),
    ),
    Claim(
        "roaming: Star Americas owns its countries' network faults",
        "roaming",
        {"category": "slow-data", "region": "canada", "channel": "web"},
        "2026-11-22",
        owner=("starlink-americas", "star-americas"),
        handoff="mail",
    ),
    Claim(
        "roaming: VoLTE is not launched yet in Mexico: no partner owns those complaints",
        "roaming",
        {"category": "volte", "region": "mexico", "channel": "chat"},
        "2026-11-22",
        status="unowned",
        face="northwind",
    ),
    Claim(
        "roaming: Northwind keeps charging, devices and fraud",
        "roaming",
        {"category": "sim-swap", "region": "usa", "channel": "chat"},
        "2026-11-22",
        owner=("northwind", "northwind-home"),
    ),
    # -- co-branded-card --------------------------------------------------------------
    Claim(
        "co-branded-card: Harbor Bank issues the card; ShopCo is the face",
        "co-branded-card",
        {"category": "card-blocked", "region": "domestic", "channel": "app"},
        "2026-11-22",
        owner=("harbor-bank", "harbor-issuing"),
        face="shopco",
        handoff="tickets",
    ),
    Claim(
        "co-branded-card: Orbit owns foreign transactions abroad; the bank is consulted",
        "co-branded-card",
        {"category": "foreign-transaction", "region": "abroad", "channel": "web"},
        "2026-11-22",
        owner=("orbit-network", "orbit-cross-border"),
        face="shopco",
        handoff="disputes",
        consulted=("harbor-bank",),
    ),
    Claim(
        "co-branded-card: before the migration, chargebacks abroad are the bank's",
        "co-branded-card",
        {"category": "chargeback", "region": "abroad", "channel": "phone"},
        "2026-09-01",
        owner=("harbor-bank", "harbor-chargebacks-abroad"),
        handoff="tickets",
    ),
    Claim(
        "co-branded-card: while chargebacks abroad migrate to Orbit, both handle them "
        "(a tolerated overlap)",
        "co-branded-card",
        {"category": "chargeback", "region": "abroad", "channel": "phone"},
        "2026-11-22",
        status="conflict",
        candidates=("harbor-bank", "orbit-network"),
        face="shopco",
    ),
    Claim(
        "co-branded-card: after the cut-over (2027-03-31), chargebacks abroad are Orbit's",
        "co-branded-card",
        {"category": "chargeback", "region": "abroad"},
        "2027-04-01",
        owner=("orbit-network", "orbit-chargebacks-abroad"),
        face="shopco",
        handoff="disputes",
    ),
    Claim(
        "co-branded-card: chargebacks at home stay with the bank",
        "co-branded-card",
        {"category": "chargeback", "region": "domestic"},
        "2027-04-01",
        owner=("harbor-bank", "harbor-issuing"),
    ),
    Claim(
        "co-branded-card: ShopCo owns rewards",
        "co-branded-card",
        {"category": "points-missing", "region": "abroad", "channel": "store"},
        "2027-04-01",
        owner=("shopco", "shopco-rewards"),
        face="shopco",
    ),
    # -- condominium ------------------------------------------------------------------
    Claim(
        "condominium: the management company is the residents' face; contractors own "
        "their trades (Guardian security)",
        "condominium",
        {"category": "intercom", "building": "tower-b", "channel": "concierge"},
        "2026-11-22",
        owner=("guardian", "guardian-security"),
        face="riverside-management",
        handoff="tickets",
    ),
    Claim(
        "condominium: BrightClean cleans until its contract ends on 2027-02-01",
        "condominium",
        {"category": "stairwells", "building": "tower-a", "channel": "portal"},
        "2027-01-31",
        owner=("brightclean", "brightclean-cleaning"),
    ),
    Claim(
        "condominium: cleaning returns to the management company from 2027-02-01",
        "condominium",
        {"category": "stairwells", "building": "tower-a", "channel": "portal"},
        "2027-02-01",
        owner=("riverside-management", "management-cleaning-interim"),
    ),
    Claim(
        "condominium: FixIt maintains everything but the EV chargers (a waived gap)",
        "condominium",
        {"category": "ev-charger", "building": "garage", "channel": "phone"},
        "2026-11-22",
        status="unowned",
        face="riverside-management",
    ),
    Claim(
        "condominium: FixIt maintains the lifts",
        "condominium",
        {"category": "lift-stuck", "building": "tower-a", "channel": "phone"},
        "2026-11-22",
        owner=("fixit", "fixit-maintenance"),
        handoff="jobs",
    ),
    Claim(
        "condominium: no laundry room in the garage (a waived gap); Sudsy runs the towers'",
        "condominium",
        {"category": "machine-broken", "building": "garage", "channel": "portal"},
        "2026-11-22",
        status="unowned",
    ),
    Claim(
        "condominium: Sudsy owns laundry in the towers",
        "condominium",
        {"category": "machine-broken", "building": "tower-b", "channel": "portal"},
        "2026-11-22",
        owner=("sudsy", "sudsy-laundry"),
        handoff="mail",
    ),
    # -- metro-home (the contracts repository of examples/gitops) ----------------------
    Claim(
        "metro-home: FastNet owns network faults; Metro hands them over by FastNet's ticket API",
        "metro-home",
        {"category": "outage", "region": "north"},
        "2026-11-22",
        owner=("fastnet", "fastnet-internet"),
        face="metro",
        handoff="tickets",
    ),
    Claim(
        "metro-home: FastNet's contract ends on 2028-01-01; renew it before then",
        "metro-home",
        {"category": "internet"},
        "2028-01-01",
        status="unowned",
    ),
    # -- franchise --------------------------------------------------------------------
    Claim(
        "franchise: Bella Pizza takes every complaint; the franchisee of each region owns "
        "its restaurants",
        "franchise",
        {"category": "cleanliness", "region": "york", "channel": "social"},
        "2026-11-22",
        owner=("northern-slices", "northern-slices-north"),
        face="bella-brand",
        handoff="mail",
    ),
    Claim(
        "franchise: and its deliveries (Midland Ovens in the midlands)",
        "franchise",
        {"category": "late-delivery", "region": "nottingham", "channel": "app"},
        "2026-11-22",
        owner=("midland-ovens", "midland-ovens-midlands"),
        face="bella-brand",
    ),
    Claim(
        "franchise: the brand keeps allergens in the south; Capital Crust is consulted",
        "franchise",
        {"category": "allergen", "region": "brighton", "channel": "hotline"},
        "2026-11-22",
        owner=("bella-brand", "brand-food-safety-south"),
        face="bella-brand",
        consulted=("capital-crust",),
    ),
    Claim(
        "franchise: Capital Crust runs the rest of the south's food",
        "franchise",
        {"category": "cold-food", "region": "london", "channel": "app"},
        "2026-11-22",
        owner=("capital-crust", "capital-crust-south"),
    ),
    Claim(
        "franchise: allergens elsewhere are the franchisee's",
        "franchise",
        {"category": "allergen", "region": "leeds", "channel": "app"},
        "2026-11-22",
        owner=("northern-slices", "northern-slices-north"),
    ),
    Claim(
        "franchise: in northern stores staff help with app crashes while the brand also "
        "owns them (a tolerated overlap)",
        "franchise",
        {"category": "app-crash", "region": "newcastle", "channel": "in-store"},
        "2026-11-22",
        status="conflict",
        candidates=("bella-brand", "northern-slices"),
    ),
    Claim(
        "franchise: the brand owns digital complaints everywhere else",
        "franchise",
        {"category": "app-crash", "region": "bristol", "channel": "in-store"},
        "2026-11-22",
        owner=("bella-brand", "brand-central"),
    ),
]


@functools.cache
def _index(alliance: str) -> OwnerIndex:
    result = load([str(EXAMPLES / FOLDERS.get(alliance, alliance))])
    assert result.errors == []
    return OwnerIndex(result.bundles[alliance])


def _ask(claim: Claim) -> Answer:
    return _index(claim.alliance).owner(claim.where, dt.date.fromisoformat(claim.at))


def test_every_example_has_claims() -> None:
    told = {claim.alliance for claim in CLAIMS}
    assert told == set(load([str(EXAMPLES)]).bundles)


@pytest.mark.parametrize("claim", CLAIMS, ids=[claim.says for claim in CLAIMS])
def test_the_story_holds(claim: Claim) -> None:
    answer = _ask(claim)
    assert answer.status == claim.status
    owner = (answer.owner.partner, answer.owner.contract) if answer.owner else None
    assert owner == claim.owner
    if claim.candidates:
        assert tuple(answer.candidates) == claim.candidates
    if claim.face is not None:
        assert answer.face is not None and answer.face.partner == claim.face
    if claim.handoff is not None:
        assert answer.handoff is not None and answer.handoff.endpoint.name == claim.handoff
    if claim.consulted is not None:
        assert tuple(c.partner for c in answer.consulted) == claim.consulted


def test_the_co_branded_chargebacks_abroad_move_to_orbit(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The command of the issue: chargebacks abroad are Orbit's after the cut-over."""
    card = str(EXAMPLES / "co-branded-card")
    where = ["--where", "category=chargeback", "--where", "region=abroad"]
    assert main(["owner", card, *where, "--at", "2027-04-01", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["owner"] == {
        "partner": "orbit-network",
        "contract": "orbit-chargebacks-abroad",
    }
