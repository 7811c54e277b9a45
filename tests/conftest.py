"""Shared fixtures: a small valid alliance, written wherever a test needs one."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from litestar import Litestar
from litestar.testing import TestClient

from registry.checkpoint import Signer
from registry.server import create_app
from registry.service import Registry
from registry.settings import Settings
from registry.store import Store

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


# FastNet's one-month trial before its contract: a timeline bar too short for its name.
TRIAL_CONTRACT = """\
apiVersion: alliance-registry/v1
kind: Contract
metadata: {name: fastnet-internet-trial, alliance: metro-home}
spec:
  partner: fastnet
  effective: {from: 2025-12-01, until: 2026-01-01}
  scope:
    - where: {category: [connectivity]}
  accountable:
    - where: {category: [internet]}
  handoffs:
    - {endpoint: tickets, mode: retain, acknowledgeWithin: PT1H, resolveWithin: P2D}
  escalation: standard
"""


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


# -- the registry server: one database per test, on SQLite and on PostgreSQL ---------

POSTGRES_URL = os.environ.get("REGISTRY_TEST_POSTGRES_URL")
ROLE_SCOPES: dict[str, tuple[str | None, str | None]] = {
    "admin": (None, None),
    "manager": ("metro-home", None),
    "auditor": ("metro-home", None),
    "resolver": ("metro-home", None),
    "partner": ("metro-home", "fastnet"),
}


# The API's broadest modules ask every route of every role, or every error, on both
# databases. Their PostgreSQL half is `slow`: the full suite (and CI) runs it, and the
# quick loop (`pytest -m "not slow"`) runs them on SQLite and every other module, the
# store's included, on both.
POSTGRES_IN_THE_FULL_SUITE_ONLY = {
    "test_api_errors.py",
    "test_api_queries.py",
    "test_api_roles.py",
    "test_web.py",
    "test_api_limits.py",
    "test_tickets.py",
    "test_events.py",
    "test_revisions.py",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        callspec = getattr(item, "callspec", None)
        on_postgres = callspec is not None and callspec.params.get("database_url") == "postgresql"
        if on_postgres and item.path.name in POSTGRES_IN_THE_FULL_SUITE_ONLY:
            item.add_marker(pytest.mark.slow)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty registry database. On PostgreSQL each test gets its own schema
    of the server named by REGISTRY_TEST_POSTGRES_URL (`.ci/run` starts one)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/registry.db"
        return
    if not POSTGRES_URL:
        if os.environ.get("CI"):
            pytest.fail("CI runs the PostgreSQL suite: REGISTRY_TEST_POSTGRES_URL is not set")
        pytest.skip("set REGISTRY_TEST_POSTGRES_URL to run the PostgreSQL suite")
    import psycopg  # noqa: PLC0415 - only the PostgreSQL suite needs it

    schema = f"t_{uuid.uuid4().hex[:16]}"
    plain = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
    separator = "&" if "?" in POSTGRES_URL else "?"
    yield f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}"
    with psycopg.connect(plain, autocommit=True) as admin:
        admin.execute(f"DROP SCHEMA {schema} CASCADE")


# The registry's signing key in the tests: every store the fixtures open signs a
# checkpoint with each entry, as a server given REGISTRY_SIGNING_KEY_FILE does, and so
# do the servers tests/live.py starts. Fixed, so a second import of this module agrees.
SIGNER = Signer(Ed25519PrivateKey.from_private_bytes(bytes(range(32))))


def seed(store: Store, paths: list[Path]) -> dict[str, int]:
    """Write the alliances in `paths` to the store as `registry serve --demo` does."""
    return Registry(store).seed(paths, "demo seed")


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    opened = Store(database_url, SIGNER)
    yield opened
    opened.close()


@pytest.fixture
def seeded(store: Store, alliance_dir: Path) -> Store:
    """The store holding the minimal alliance `metro-home` at revision 1."""
    seed(store, [alliance_dir])
    return store


@pytest.fixture
def tokens(seeded: Store) -> dict[str, str]:
    """A token per role (all of metro-home but the admin's; the partner's is fastnet's)."""
    return {
        role: seeded.create_token(role, alliance, partner, f"test {role}")[1]  # type: ignore[arg-type]
        for role, (alliance, partner) in ROLE_SCOPES.items()
    }


@pytest.fixture
def client(seeded: Store, database_url: str) -> Iterator[TestClient[Litestar]]:
    """An in-process client of the API over the seeded store. It records no decisions,
    so answers compare whole (tests/test_decisions.py records them)."""
    app = create_app(Settings(database_url=database_url, decisions="off"), seeded)
    with TestClient(app) as test_client:
        yield test_client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
