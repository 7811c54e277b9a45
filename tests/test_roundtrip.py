"""Documents survive encoding: load -> msgspec encode -> load gives equal documents."""

from __future__ import annotations

import datetime as dt
import io

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st
from ruamel.yaml import YAML

from registry.load import load_texts
from registry.model import KINDS, AnyDocument, Duration, enc_hook, to_builtins

EVERY_KIND = """\
apiVersion: alliance-registry/v1
kind: Alliance
metadata:
  name: metro-home
  title: Metro Home
  description: Internet, TV and billing behind one face.
  labels: {team: ops, tier: "1"}
spec:
  authority: board
  authorities:
    - {name: board, title: Steering board, email: board@metro.example, phone: "+44 20 7946 0000"}
    - {name: ombudsman}
  policy: strict
  dimensions:
    category:                       # a mapping with lists, a nested mapping and a leaf
      billing: [invoice-error, refund]
      connectivity:
        internet: [outage, slow-speed]
        tv: {no-signal: null, picture-quality: null}
      installation: null
    region: [north, south]          # a list
    channel: {phone: null, web: null, store: null}
  customerFace:
    - partner: metro
      where: {}
      except:
        - {channel: [store]}
    - {partner: fastnet, where: {channel: [store]}}
  faceAuthority:
    compelResponseWithin: PT4H
    creditUpTo: {amount: 50, currency: EUR}
    dispatch: true
  escalationChains:
    standard:
      - {after: PT4H, to: duty-manager}
      - {after: P1DT12H, to: authority:board}
---
apiVersion: alliance-registry/v1
kind: Partner
metadata: {name: metro, alliance: metro-home}
spec:
  legalName: Metro Home plc
  contacts:
    - {name: duty-manager, title: Duty manager, email: duty@metro.example, phone: "+44 1"}
  endpoints:
    - {name: desk, type: email, address: mailto:desk@metro.example}
    - {name: hook, type: webhook, address: https://metro.example/hook}
---
apiVersion: alliance-registry/v1
kind: Partner
metadata: {name: fastnet, alliance: metro-home}
spec:
  legalName: FastNet Ltd
  contacts: [{name: duty-manager}]
  endpoints:
    - {name: tickets, type: tmf621, address: https://fastnet.example/tmf}
    - {name: queue, type: queue, address: amqp://fastnet.example/complaints}
---
apiVersion: alliance-registry/v1
kind: Contract
metadata: {name: fastnet-internet, alliance: metro-home}
spec:
  partner: fastnet
  effective: {from: 2026-01-01, until: 2028-01-01}
  deliveryModel: outsourcing
  scope:
    - where: {category: [connectivity, billing]}
  accountable:
    - where: {category: [internet]}
      except:
        - {channel: [store]}
        - {region: [south], channel: [web]}
  consulted:
    - {partner: metro, where: {category: [outage]}, respondWithin: PT2H}
    - {partner: metro}
  handoffs:
    - where: {region: [north]}
      endpoint: tickets
      mode: retain
      acknowledgeWithin: PT1.5S
      resolveWithin: P2W
      requires: [customerId, description, severity]
    - {endpoint: queue, mode: transfer, acknowledgeWithin: PT90M, resolveWithin: P1DT0.25S}
  escalation:
    - {after: PT30M, to: duty-manager}
    - {after: P1D, to: authority:ombudsman}
  grantsFace:
    compelResponseWithin: PT2H
    creditUpTo: {amount: 100.5, currency: EUR}
    dispatch: true
---
apiVersion: alliance-registry/v1
kind: Contract
metadata: {name: metro-rest, alliance: metro-home}
spec:
  partner: metro
  effective: {until: 2030-02-28}
  scope: [{where: {}}]
  accountable: [{where: {category: [billing, installation, tv]}}]
  escalation: standard
---
apiVersion: alliance-registry/v1
kind: Contract
metadata: {name: fastnet-successor, alliance: metro-home}
spec:
  partner: fastnet
  effective: {from: 2028-01-01}
---
apiVersion: alliance-registry/v1
kind: Waiver
metadata: {name: installs, alliance: metro-home}
spec:
  rule: coverage-gap
  where: {category: [installation], region: [south]}
  reason: Installations in the south are booked with the landlord.
  approvedBy: board
  expires: 2027-06-30
---
apiVersion: alliance-registry/v1
kind: PolicySet
metadata: {name: strict, alliance: metro-home}
spec:
  horizon: P13W
  rules:
    coverage-gap: {severity: error}
    gray-zone: {severity: off}
    sla-bound: {severity: warning, acknowledgeWithin: PT12H, resolveWithin: P1W}
---
apiVersion: alliance-registry/v1
kind: PolicySet
metadata: {name: relaxed}
spec: {}
---
apiVersion: alliance-registry/v1
kind: Expectation
metadata: {name: promises, alliance: metro-home}
spec:
  promises:
    - name: outages-with-fastnet
      description: every field written
      where: {category: outage, region: north, channel: web}
      at: 2027-01-15
      status: owned
      owner: fastnet
      face: metro
      handoff: {mode: retain, endpoint: tickets}
      consulted: []
      escalatesTo: board
    - {name: billing, where: {category: billing}}
"""


def loaded(texts: list[tuple[str, str]]) -> list[AnyDocument]:
    result = load_texts(texts)
    assert [str(e) for e in result.errors] == []
    return result.checked


@pytest.fixture(scope="module")
def originals() -> list[AnyDocument]:
    return loaded([("every-kind.yaml", EVERY_KIND)])


def test_the_fixture_holds_every_kind(originals: list[AnyDocument]) -> None:
    assert {d.kind for d in originals} == set(KINDS)


def test_json_round_trip_gives_equal_documents(originals: list[AnyDocument]) -> None:
    encoded = [msgspec.json.encode(d, enc_hook=enc_hook).decode() for d in originals]
    again = loaded([(f"{d.ref}.json", text) for d, text in zip(originals, encoded, strict=True)])
    assert again == originals
    # and the encoding is canonical: a second trip writes the same bytes
    assert [msgspec.json.encode(d, enc_hook=enc_hook).decode() for d in again] == encoded


def test_json_array_round_trip(originals: list[AnyDocument]) -> None:
    text = msgspec.json.encode(originals, enc_hook=enc_hook).decode()
    assert loaded([("all.json", text)]) == originals


def test_yaml_round_trip_gives_equal_documents(originals: list[AnyDocument]) -> None:
    out = io.StringIO()
    YAML(typ="safe", pure=True).dump_all([to_builtins(d) for d in originals], out)
    assert loaded([("again.yaml", out.getvalue())]) == originals


def test_round_trip_keeps_values_and_forms(originals: list[AnyDocument]) -> None:
    data = {d.ref: to_builtins(d) for d in originals}
    tree = data["Alliance/metro-home"]["spec"]["dimensions"]
    assert tree["category"]["connectivity"]["tv"] == {"no-signal": None, "picture-quality": None}
    assert tree["category"]["installation"] is None
    assert tree["region"] == ["north", "south"]
    handoffs = data["Contract/fastnet-internet"]["spec"]["handoffs"]
    assert [(h["acknowledgeWithin"], h["resolveWithin"]) for h in handoffs] == [
        ("PT1.5S", "P14D"),
        ("PT1H30M", "P1DT0.25S"),
    ]
    assert data["Contract/fastnet-internet"]["spec"]["effective"] == {
        "from": "2026-01-01",
        "until": "2028-01-01",
    }
    assert data["PolicySet/strict"]["spec"]["horizon"] == "P91D"
    assert data["Waiver/installs"]["spec"]["expires"] == "2027-06-30"


def test_defaults_are_filled_in_and_survive(originals: list[AnyDocument]) -> None:
    relaxed = next(d for d in originals if d.ref == "PolicySet/relaxed")
    assert to_builtins(relaxed)["spec"] == {"horizon": "P90D"}
    successor = next(d for d in originals if d.ref == "Contract/fastnet-successor")
    assert to_builtins(successor)["spec"] == {
        "partner": "fastnet",
        "effective": {"from": "2028-01-01"},
    }


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("PT4H", "PT4H"),
        ("P2D", "P2D"),
        ("P1DT12H", "P1DT12H"),
        ("P2W", "P14D"),
        ("PT90M", "PT1H30M"),
        ("PT0S", "PT0S"),
        ("P0D", "PT0S"),
        ("PT0.000001S", "PT0.000001S"),
        ("P999999999D", "P999999999D"),
    ],
)
def test_duration_canonical_text(text: str, canonical: str) -> None:
    duration = Duration.parse(text)
    assert duration.iso() == canonical
    assert Duration.parse(canonical) == duration


@given(
    st.timedeltas(
        min_value=dt.timedelta(0), max_value=dt.timedelta(days=999_999_999, seconds=86_399)
    )
)
def test_every_duration_round_trips_exactly(delta: dt.timedelta) -> None:
    duration = Duration.of(delta)
    assert Duration.parse(duration.iso()) == delta
