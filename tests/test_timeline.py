"""The timeline of the auditor's page: the days waivers expire, and what their expiry
lets through within the horizon (`waiver-expiring`)."""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import REPO

from registry.cli import main
from registry.load import load
from registry.resolve import OwnerIndex
from registry.rules import audit
from registry.views.pages import AlliancePage, alliance_page

ROAMING = REPO / "examples" / "roaming"


def roaming_page(as_of: dt.date) -> AlliancePage:
    bundle = load([ROAMING]).bundles["roaming"]
    return alliance_page(bundle, audit(bundle, as_of), OwnerIndex(bundle), columns=["region"])


def test_a_waiver_expiring_within_the_horizon_is_marked_with_what_then_fires() -> None:
    timeline = roaming_page(dt.date(2027, 7, 15)).timeline
    (expiry,) = timeline.expiries
    assert (expiry.day, expiry.waivers, expiry.cells) == (
        dt.date(2027, 9, 30),
        ("volte-mexico-not-launched (coverage-gap)",),
        4,
    )
    assert expiry.label == (
        "2027-09-30: waiver volte-mexico-not-launched (coverage-gap) expires; "
        "then 4 cells show findings"
    )
    assert timeline.as_of_x < expiry.x <= timeline.horizon_x
    assert [f.rule for f in timeline.expiring] == ["waiver-expiring"]


def test_a_waiver_expiring_beyond_the_horizon_is_marked_alone() -> None:
    timeline = roaming_page(dt.date(2027, 3, 1)).timeline
    (expiry,) = timeline.expiries
    assert (expiry.day, expiry.cells) == (dt.date(2027, 9, 30), 0)
    assert expiry.label == "2027-09-30: waiver volte-mexico-not-launched (coverage-gap) expires"
    assert expiry.x > timeline.horizon_x
    assert timeline.expiring == []


def test_the_offline_page_draws_the_expiry_and_lists_the_forecast(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["audit", str(ROAMING), "--as-of", "2027-07-15", "--format", "html"]) == 0
    html = capsys.readouterr().out
    assert (
        '<g class="expiry fires" data-date="2027-09-30"><title>2027-09-30: waiver '
        "volte-mexico-not-launched (coverage-gap) expires; then 4 cells show findings</title>"
    ) in html
    assert (
        '<li data-rule="waiver-expiring"><time datetime="2027-09-30">2027-09-30</time> '
        "<b>◇ waiver-expiring</b>: waiver volte-mexico-not-launched expires on 2027-09-30; "
        "then coverage-gap fires on 4 cells</li>"
    ) in html
