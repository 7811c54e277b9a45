"""The one cache of compiled views: any stored revision compiles on demand, and the
cache drops the least recently used past its memory bound (REGISTRY_VIEW_MEMORY)."""

from __future__ import annotations

import threading
import time

import pytest

from registry.access import Principal
from registry.errors import NotFound
from registry.service import Registry
from registry.service.live import VIEW_FIXED_BYTES, View, Views
from registry.service.writes import Request
from registry.settings import Settings, SettingsError
from registry.store import Store
from tests.conftest import TRIAL_CONTRACT

ADMIN = Principal(id=0, role="admin", name="test")


def trial(registry: Registry) -> int:
    """Write FastNet's trial contract: metro-home's revision 2."""
    asked = Request("metro-home", [("trial.yaml", TRIAL_CONTRACT)], force=True)
    outcome = registry.write(ADMIN, asked, "apply")
    assert outcome.applied
    return outcome.revision


def contracts(registry: Registry, revision: int | None = None) -> list[str]:
    return sorted(c.metadata.name for c in registry.view("metro-home", revision).bundle.contracts)


def test_any_stored_revision_compiles(seeded: Store) -> None:
    registry = Registry(seeded)
    registry.refresh()
    before = contracts(registry)
    assert trial(registry) == 2
    assert contracts(registry, 1) == before
    assert (
        contracts(registry) == contracts(registry, 2) == sorted([*before, "fastnet-internet-trial"])
    )
    assert registry.view("metro-home", 1).revision == 1
    assert registry.view("metro-home").revision == 2
    # The old revision's view stays cached beside the current one.
    assert registry.compiled("metro-home", 1) is registry.view("metro-home", 1)
    assert len(registry.views) == 2


@pytest.mark.parametrize("revision", [0, 2, -1])
def test_a_revision_not_reached_is_not_found_naming_the_current_one(
    seeded: Store, revision: int
) -> None:
    registry = Registry(seeded)
    registry.refresh()
    with pytest.raises(NotFound) as refused:
        registry.view("metro-home", revision)
    assert str(refused.value) == (
        f"no revision {revision} of alliance 'metro-home': its current revision is 1"
    )


def test_the_least_recently_used_view_goes_past_the_bound(seeded: Store) -> None:
    registry = Registry(seeded, view_memory=1)  # any view is over the bound alone
    registry.refresh()
    trial(registry)
    first = registry.view("metro-home", 1)
    assert registry.compiled("metro-home", 1) is first
    registry.view("metro-home", 2)
    # Only the view used last is kept: revision 1 was evicted, and compiles again.
    assert (len(registry.views), registry.views.evictions) == (1, 1)
    assert registry.compiled("metro-home", 1) is None
    assert registry.view("metro-home", 1) is not first
    assert registry.views.evictions == 2


def test_views_counts_bytes_and_evicts_in_use_order() -> None:
    views = Views(bound=3 * VIEW_FIXED_BYTES)
    made = {}
    for revision in (1, 2, 3):
        made[revision] = _view(revision)
        views.put(made[revision], "a")
    assert (len(views), views.bytes, views.evictions) == (3, 3 * VIEW_FIXED_BYTES, 0)
    assert views.get("a", 1) is made[1]  # 1 is now the most recently used
    views.put(_view(4), "a")
    assert views.get("a", 2) is None  # 2 was the least recently used
    assert [views.get("a", r) is made[r] for r in (1, 3)] == [True, True]
    assert (len(views), views.bytes, views.evictions) == (3, 3 * VIEW_FIXED_BYTES, 1)


def _view(revision: int) -> View:
    """A view of the fixed size, compiled from nothing: only the cache looks at it."""
    return View(revision, None, None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "size"),
    [("1GiB", 1024**3), ("512MiB", 512 * 1024**2), ("1.5GB", 1_500_000_000), ("4096", 4096)],
)
def test_view_memory_setting(text: str, size: int) -> None:
    assert Settings.from_env({"REGISTRY_VIEW_MEMORY": text}).view_memory_bytes() == size


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("lots", "expected a size such as 512MiB, 2GiB or a number of bytes, got 'lots'"),
        ("0", "a size of at least one byte is needed, got '0'"),
        ("9" * 20, f"expected a size such as 512MiB, 2GiB or a number of bytes, got '{'9' * 20}'"),
    ],
)
def test_a_view_memory_that_cannot_be_used_is_refused(text: str, error: str) -> None:
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({"REGISTRY_VIEW_MEMORY": text})
    assert str(refused.value) == f"REGISTRY_VIEW_MEMORY: {error}"


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_closing_waits_for_the_compiles_the_listener_started(seeded: Store) -> None:
    """A write heard by the listener starts compiling the new revision of each alliance
    compiled before; closing waits for those compiles, so none reads the store after
    it closed (on a connection of a pool the close had dropped: left open, a leak)."""
    registry = Registry(seeded)
    registry.listen()
    registry.view("metro-home")
    live = registry._live
    # The lock a build of revision 2 takes, held here: the compile the listener starts
    # waits on it, so closing finds it under way.
    with live._lock:
        building = live._builds.setdefault(("metro-home", 2), threading.Lock())
    building.acquire()
    assert trial(registry) == 2
    deadline = time.monotonic() + 10
    while not live._warmers and time.monotonic() < deadline:  # the listener heard it
        time.sleep(0.001)
    assert live._warmers, "the listener started no compile"
    threading.Timer(0.5, building.release).start()
    registry.close()
    assert [w for w in live._warmers if w.is_alive()] == []
    assert registry.views.holds("metro-home", 2)
