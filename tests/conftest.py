"""Shared fixtures: a small valid alliance, written wherever a test needs one."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

TESTS = Path(__file__).parent
EXAMPLES = TESTS / "examples"
REPO = TESTS.parent

ALLIANCE = """\
apiVersion: alliance-registry/v1
kind: Alliance
metadata:
  name: metro-home
spec:
  authority: board
  authorities:
    - {name: board, email: board@metro.example}
  dimensions:
    category:
      billing: [invoice-error, refund]
      connectivity:
        internet: [outage, slow-speed]
      installation: null
    region: [north, south]
  customerFace:
    - {partner: metro, where: {}}
  escalationChains:
    standard:
      - {after: PT4H, to: duty-manager}
      - {after: P1D, to: authority:board}
"""

PARTNERS = """\
apiVersion: alliance-registry/v1
kind: Partner
metadata: {name: metro, alliance: metro-home}
spec:
  legalName: Metro Home plc
  contacts:
    - {name: duty-manager, email: duty@metro.example}
---
apiVersion: alliance-registry/v1
kind: Partner
metadata: {name: fastnet, alliance: metro-home}
spec:
  legalName: FastNet Ltd
  contacts:
    - {name: duty-manager, email: noc@fastnet.example}
  endpoints:
    - {name: tickets, type: tmf621, address: https://fastnet.example/tmf}
"""

CONTRACTS = """\
apiVersion: alliance-registry/v1
kind: Contract
metadata: {name: fastnet-internet, alliance: metro-home}
spec:
  partner: fastnet
  effective: {from: 2026-01-01, until: 2028-01-01}
  scope:
    - where: {category: [connectivity]}
  accountable:
    - where: {category: [internet]}
  handoffs:
    - {endpoint: tickets, mode: retain, acknowledgeWithin: PT1H, resolveWithin: P2D}
  escalation: standard
---
apiVersion: alliance-registry/v1
kind: Contract
metadata: {name: metro-rest, alliance: metro-home}
spec:
  partner: metro
  scope:
    - where: {}
  accountable:
    - where: {category: [billing, installation]}
  escalation: standard
"""

# The files of the minimal alliance: 2 partners, 2 contracts, 5 categories x 2 regions.
MINIMAL = {"alliance.yaml": ALLIANCE, "partners.yaml": PARTNERS, "contracts.yaml": CONTRACTS}

WriteAlliance = Callable[..., Path]


def write_files(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture
def write_alliance() -> WriteAlliance:
    """`write_alliance(folder, **{"contracts.yaml": text})` writes the minimal alliance,
    with any file replaced (or left out, given None), and returns the folder."""

    def write(folder: Path, **replaced: str | None) -> Path:
        files = {**MINIMAL, **replaced}
        return write_files(folder, {k: v for k, v in files.items() if v is not None})

    return write


@pytest.fixture
def alliance_dir(tmp_path: Path, write_alliance: WriteAlliance) -> Path:
    """The minimal valid alliance in a fresh folder."""
    return write_alliance(tmp_path / "metro-home")
