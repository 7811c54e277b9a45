"""The seed alliances load with the expected counts and audit clean."""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import REPO

from registry.bundle import summary
from registry.load import load
from registry.rules import audit

EXAMPLES = REPO / "examples"

EXPECTED = {
    "co-branded-card": {"partners": 3, "contracts": 5, "waivers": 1, "cells": 200},
    "condominium": {"partners": 5, "contracts": 6, "waivers": 2, "cells": 234},
    "franchise": {"partners": 4, "contracts": 6, "waivers": 1, "cells": 672},
    # The alliance of the contracts repository examples/gitops/contracts.
    "metro-home": {"partners": 2, "contracts": 2, "waivers": 0, "cells": 10},
    "roaming": {"partners": 4, "contracts": 4, "waivers": 1, "cells": 420},
    "triple-play": {"partners": 5, "contracts": 7, "waivers": 1, "cells": 400},
}


def test_examples_folder_loads_with_expected_counts() -> None:
    result = load([str(EXAMPLES)])
    assert result.errors == []
    counts = {name: summary(b) for name, b in result.bundles.items()}
    assert counts == {name: {"alliance": name, **c} for name, c in EXPECTED.items()}


@pytest.mark.parametrize("day", ["2026-11-01", "2026-11-22", "2027-01-15", "2027-03-01"])
def test_examples_audit_clean(day: str) -> None:
    result = load([str(EXAMPLES)])
    for bundle in result.bundles.values():
        report = audit(bundle, dt.date.fromisoformat(day))
        assert [(f.rule, f.message) for f in report.findings] == [], bundle.name
        assert report.summary.owned + report.summary.waived_cells >= report.summary.cells


def test_waived_cells_are_counted_not_dropped() -> None:
    bundle = load([str(EXAMPLES / "condominium")]).bundles["condominium"]
    summary_ = audit(bundle, dt.date(2026, 11, 22)).summary
    # EV chargers: 1 leaf x 3 buildings x 3 channels; laundry in the garage: 4 x 1 x 3.
    assert (summary_.cells, summary_.owned, summary_.waived_cells) == (234, 213, 21)
