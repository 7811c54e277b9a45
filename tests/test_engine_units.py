"""The cell rules by example: a few contracts in, the exact findings out.

One alliance throughout: three categories of two leaves each, two regions, metro
the face everywhere. Each test writes its contracts (and waivers) and pins the
cell findings of the audit, region, cells, example and date included.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
import pytest

from registry.bundle import Bundle
from registry.load import load_texts
from registry.resolve import OwnerIndex
from registry.rules import audit

AS_OF = dt.date(2026, 11, 22)

ALLIANCE = """\
apiVersion: alliance-registry/v1
kind: Alliance
metadata: {name: metro}
spec:
  authority: board
  authorities: [{name: board}]
  dimensions:
    category:
      billing: [invoice, refund]
      internet: [outage, slow]
      tv: [no-signal, picture]
    region: [north, south]
  customerFace:
    - {partner: metro, where: {}}
  escalationChains:
    standard:
      - {after: PT4H, to: duty-manager}
      - {after: P1D, to: authority:board}
"""

PARTNERS = "---\n".join(
    f"""\
apiVersion: alliance-registry/v1
kind: Partner
metadata: {{name: {name}, alliance: metro}}
spec:
  legalName: {name.title()} Ltd
  contacts: [{{name: duty-manager}}]
  endpoints: [{{name: tickets, type: email, address: "mailto:{name}@example.com"}}]
"""
    for name in ("metro", "fastnet", "cabler")
)


def contract(name: str, partner: str, body: str) -> str:
    """A contract with a retain handoff everywhere and the standard escalation."""
    return f"""\
apiVersion: alliance-registry/v1
kind: Contract
metadata: {{name: {name}, alliance: metro}}
spec:
  partner: {partner}
  handoffs: [{{endpoint: tickets, mode: retain}}]
  escalation: standard
{body}"""


METRO_BILLING = contract(
    "metro-billing",
    "metro",
    """\
  scope: [{where: {category: [billing]}}]
  accountable: [{where: {category: [billing]}}]
""",
)
FASTNET_INTERNET = contract(
    "fastnet-internet",
    "fastnet",
    """\
  scope: [{where: {category: [internet]}}]
  accountable: [{where: {category: [internet]}}]
""",
)


def bundle(*documents: str) -> Bundle:
    texts = [("alliance.yaml", ALLIANCE), ("partners.yaml", PARTNERS)]
    texts += [(f"doc{i}.yaml", text) for i, text in enumerate(documents)]
    result = load_texts(texts)
    assert result.errors == [], [str(e) for e in result.errors]
    return result.bundles["metro"]


def findings(*documents: str, as_of: dt.date = AS_OF) -> list[dict[str, Any]]:
    """The audit's findings as JSON objects."""
    report = audit(bundle(*documents), as_of)
    return [msgspec.to_builtins(f) for f in report.findings]


def test_a_category_nobody_owns_is_one_gap() -> None:
    assert findings(METRO_BILLING, FASTNET_INTERNET) == [
        {
            "rule": "coverage-gap",
            "severity": "error",
            "message": "no partner is accountable for 4 cells",
            "partners": [],
            "documents": ["Alliance/metro"],
            "region": {"category": ["tv"]},
            "cells": 4,
            "example": {"category": "no-signal", "region": "north"},
            "date": None,
        }
    ]


def test_an_overlap_names_both_partners_and_collapses_its_region_to_parents() -> None:
    metro_all = contract(
        "metro-all", "metro", "  scope: [{where: {}}]\n  accountable: [{where: {}}]\n"
    )
    fastnet_north = contract(
        "fastnet-north",
        "fastnet",
        """\
  scope: [{where: {}}]
  accountable:
    - where: {category: [outage, slow, no-signal, picture], region: [north]}
  consulted: [{partner: metro}]
""",
    )
    assert findings(metro_all, fastnet_north) == [
        {
            "rule": "coverage-overlap",
            "severity": "error",
            "message": "2 partners are accountable for 4 cells",
            "partners": ["fastnet", "metro"],
            "documents": ["Contract/fastnet-north", "Contract/metro-all"],
            "region": {"category": ["internet", "tv"], "region": ["north"]},
            "cells": 4,
            "example": {"category": "outage", "region": "north"},
            "date": None,
        },
        # metro's contract has scope everywhere and names no consulted team.
        {
            "rule": "gray-zone",
            "severity": "warning",
            "message": "fastnet has scope where metro is accountable but is not in its "
            "consulted team (12 cells)",
            "partners": ["fastnet", "metro"],
            "documents": ["Contract/metro-all"],
            "region": {},
            "cells": 12,
            "example": {"category": "invoice", "region": "north"},
            "date": None,
        },
    ]


def test_one_partner_claiming_a_cell_twice_is_no_overlap() -> None:
    again = contract(
        "metro-refunds",
        "metro",
        "  scope: [{where: {category: [billing]}}]\n"
        "  accountable: [{where: {category: [refund, billing]}}]\n",
    )
    rules = {f["rule"] for f in findings(METRO_BILLING, again, FASTNET_INTERNET)}
    assert rules == {"coverage-gap"}  # tv only


def test_a_carve_out_with_except_leaves_no_gap_and_no_overlap() -> None:
    metro_rest = contract(
        "metro-rest",
        "metro",
        """\
  scope: [{where: {}, except: [{category: [internet]}]}]
  accountable:
    - where: {}
      except: [{category: [internet]}]
""",
    )
    report = audit(bundle(metro_rest, FASTNET_INTERNET), AS_OF)
    assert report.findings == []
    assert (report.summary.cells, report.summary.owned) == (12, 12)


def test_an_except_removing_everything_claims_nothing() -> None:
    nothing = contract(
        "metro-nothing",
        "metro",
        """\
  scope: [{where: {category: [billing]}}]
  accountable:
    - where: {category: [billing]}
      except: [{category: [invoice]}, {region: [north, south]}]
""",
    )
    [gap] = findings(nothing, FASTNET_INTERNET)
    assert (gap["rule"], gap["region"], gap["cells"]) == (
        "coverage-gap",
        {"category": ["billing", "tv"]},
        8,
    )


# fastnet hands internet over to cabler: on 2027-01-01 with a fortnight's gap, or
# on 2026-12-15 with a fortnight of both.
def internet(name: str, partner: str, effective: str) -> str:
    return contract(
        name,
        partner,
        f"""\
  effective: {effective}
  scope: [{{where: {{category: [internet]}}}}]
  accountable: [{{where: {{category: [internet]}}}}]
""",
    )


METRO_NOT_INTERNET = contract(
    "metro-rest",
    "metro",
    """\
  scope: [{where: {}, except: [{category: [internet]}]}]
  accountable: [{where: {}, except: [{category: [internet]}]}]
""",
)


def test_a_succession_with_a_gap_is_a_future_gap_on_the_handover_day() -> None:
    old = internet("fastnet-internet", "fastnet", "{until: 2027-01-01}")
    new = internet("cabler-internet", "cabler", "{from: 2027-01-15}")
    assert findings(METRO_NOT_INTERNET, old, new) == [
        {
            "rule": "future-gap",
            "severity": "warning",
            "message": "4 cells lose their accountable partner (fastnet) on 2027-01-01",
            "partners": ["fastnet"],
            "documents": ["Contract/fastnet-internet"],
            "region": {"category": ["internet"]},
            "cells": 4,
            "example": {"category": "outage", "region": "north"},
            "date": "2027-01-01",
        }
    ]


def test_a_succession_with_an_overlap_is_a_future_overlap_on_the_successors_start() -> None:
    old = internet("fastnet-internet", "fastnet", "{until: 2027-01-01}")
    new = internet("cabler-internet", "cabler", "{from: 2026-12-15}")
    assert findings(METRO_NOT_INTERNET, old, new) == [
        {
            "rule": "future-overlap",
            "severity": "warning",
            "message": "2 partners become accountable for 4 cells on 2026-12-15",
            "partners": ["cabler", "fastnet"],
            "documents": ["Contract/cabler-internet", "Contract/fastnet-internet"],
            "region": {"category": ["internet"]},
            "cells": 4,
            "example": {"category": "outage", "region": "north"},
            "date": "2026-12-15",
        }
    ]


@pytest.mark.parametrize(
    ("as_of", "expected"),
    [
        (dt.date(2026, 12, 1), []),  # 2027-01-01 is 31 days away: beyond P30D
        (dt.date(2026, 12, 2), ["2027-01-01"]),  # exactly 30 days: inside
        (dt.date(2027, 1, 1), []),  # the day itself: a coverage-gap, not a future one
    ],
)
def test_the_horizon_includes_its_last_day(as_of: dt.date, expected: list[str]) -> None:
    policy = """\
apiVersion: alliance-registry/v1
kind: PolicySet
metadata: {name: default, alliance: metro}
spec: {horizon: P30D}
"""
    old = internet("fastnet-internet", "fastnet", "{until: 2027-01-01}")
    found = findings(METRO_NOT_INTERNET, old, policy, as_of=as_of)
    assert [f["date"] for f in found if f["rule"] == "future-gap"] == expected


def waiver(name: str, where: str, expires: str) -> str:
    return f"""\
apiVersion: alliance-registry/v1
kind: Waiver
metadata: {{name: {name}, alliance: metro}}
spec:
  rule: coverage-gap
  where: {where}
  reason: TV in the north goes to the broadcaster.
  approvedBy: board
  expires: {expires}
"""


def test_a_waiver_silences_its_part_of_a_gap_and_counts_the_cells() -> None:
    north = waiver("tv-north", "{category: [tv], region: [north]}", "2027-06-30")
    report = audit(bundle(METRO_BILLING, FASTNET_INTERNET, north), AS_OF)
    assert [msgspec.to_builtins(f) for f in report.findings] == [
        {
            "rule": "coverage-gap",
            "severity": "error",
            "message": "no partner is accountable for 2 cells",
            "partners": [],
            "documents": ["Alliance/metro"],
            "region": {"category": ["tv"], "region": ["south"]},
            "cells": 2,
            "example": {"category": "no-signal", "region": "south"},
            "date": None,
        }
    ]
    assert (report.summary.owned, report.summary.waived_cells, report.summary.error) == (8, 2, 1)


def test_an_expired_waiver_silences_nothing() -> None:
    north = waiver("tv-north", "{category: [tv], region: [north]}", "2026-11-22")
    report = audit(bundle(METRO_BILLING, FASTNET_INTERNET, north), AS_OF)
    assert [(f.rule, f.region, f.documents) for f in report.findings] == [
        ("coverage-gap", {"category": ["tv"]}, ["Alliance/metro"]),
        ("waiver-expired", None, ["Waiver/tv-north"]),
    ]
    assert report.summary.waived_cells == 0


def test_a_waiver_expiring_within_the_horizon_is_forecast_where_nothing_else_waives() -> None:
    # Both waivers silence the tv gap today; from 2027-01-31 only the northern one does.
    everywhere = waiver("tv-all", "{category: [tv]}", "2027-01-31")
    north = waiver("tv-north", "{category: [tv], region: [north]}", "2027-06-30")
    assert findings(METRO_BILLING, FASTNET_INTERNET, everywhere, north) == [
        {
            "rule": "waiver-expiring",
            "severity": "warning",
            "message": "waiver tv-all expires on 2027-01-31; then coverage-gap fires on 2 cells",
            "partners": [],
            "documents": ["Waiver/tv-all"],
            "region": {"category": ["tv"], "region": ["south"]},
            "cells": 2,
            "example": {"category": "no-signal", "region": "south"},
            "date": "2027-01-31",
        }
    ]


def test_a_gap_owned_before_its_waiver_expires_is_not_forecast() -> None:
    tv = waiver("tv-all", "{category: [tv]}", "2027-01-31")
    cabler = contract(
        "cabler-tv",
        "cabler",
        """  effective: {from: 2027-01-15}
  scope: [{where: {category: [tv]}}]
  accountable: [{where: {category: [tv]}}]
""",
    )
    assert findings(METRO_BILLING, FASTNET_INTERNET, cabler, tv) == []


def test_a_partner_with_scope_outside_the_consulted_team_is_a_gray_zone() -> None:
    fastnet = contract(
        "fastnet-internet",
        "fastnet",
        """\
  scope: [{where: {category: [internet]}}]
  accountable: [{where: {category: [internet]}}]
  consulted: [{partner: cabler, where: {category: [outage]}}]
""",
    )
    cabler = contract(
        "cabler-tv",
        "cabler",
        """\
  scope: [{where: {category: [internet, tv]}}]
  accountable: [{where: {category: [tv]}}]
""",
    )
    assert findings(METRO_BILLING, fastnet, cabler) == [
        {
            "rule": "gray-zone",
            "severity": "warning",
            "message": "cabler has scope where fastnet is accountable but is not in its "
            "consulted team (2 cells)",
            "partners": ["cabler", "fastnet"],
            "documents": ["Contract/fastnet-internet"],
            "region": {"category": ["slow"]},
            "cells": 2,
            "example": {"category": "slow", "region": "north"},
            "date": None,
        }
    ]


def test_gray_zones_of_one_partner_set_are_one_finding() -> None:
    # §4: "Findings of one rule are grouped by partner set (and date for future-*) and
    # merged." fastnet and cabler each have scope where the other is accountable:
    # internet is the pair (fastnet, cabler), tv the pair (cabler, fastnet); both
    # concern the partners [cabler, fastnet], and together they are one box.
    def owner_of(name: str, partner: str, category: str) -> str:
        return contract(
            name,
            partner,
            f"""\
  scope: [{{where: {{category: [internet, tv]}}}}]
  accountable: [{{where: {{category: [{category}]}}}}]
""",
        )

    fastnet = owner_of("fastnet-internet", "fastnet", "internet")
    cabler = owner_of("cabler-tv", "cabler", "tv")
    assert [
        (f["rule"], f["partners"], f["region"], f["cells"])
        for f in findings(METRO_BILLING, fastnet, cabler)
    ] == [("gray-zone", ["cabler", "fastnet"], {"category": ["internet", "tv"]}, 8)]


def test_an_accountable_partner_without_a_handoff_is_handoff_missing() -> None:
    fastnet = contract(
        "fastnet-internet",
        "fastnet",
        """\
  scope: [{where: {category: [internet]}}]
  accountable: [{where: {category: [internet, tv]}}]
  consulted: [{partner: metro}]
""",
    ).replace(
        "handoffs: [{endpoint: tickets, mode: retain}]",
        "handoffs: [{endpoint: tickets, mode: retain, where: {region: [north]}}]",
    )
    assert [
        (f["rule"], f["partners"], f["region"], f["cells"])
        for f in findings(METRO_BILLING, fastnet)
    ] == [
        ("outside-scope", ["fastnet"], {"category": ["tv"]}, 4),
        ("handoff-missing", ["fastnet"], {"category": ["internet", "tv"], "region": ["south"]}, 4),
    ]


def test_owner_answers_each_cell_and_says_when_a_query_spans_several_owners() -> None:
    index = OwnerIndex(bundle(METRO_BILLING, FASTNET_INTERNET))
    day = AS_OF

    def status(**query: str) -> tuple[str, str | None, list[str]]:
        answer = index.owner(query, at=day)
        return answer.status, answer.owner.partner if answer.owner else None, answer.candidates

    assert status(category="refund", region="north") == ("owned", "metro", [])
    assert status(category="internet") == ("owned", "fastnet", [])
    assert status(category="tv", region="south") == ("unowned", None, [])
    assert status(region="north") == ("ambiguous", None, ["fastnet", "metro"])
    assert status(category="billing", region="south") == ("owned", "metro", [])
