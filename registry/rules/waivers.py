"""Which waivers are live on a day, and which of them silence a rule on a cell.

The audit and the coverage matrix both ask here, so a waived gap is the same gap
in the report and on the page.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from registry.bundle import Bundle
    from registry.claims import State
    from registry.model import Waiver


def live(waiver: Waiver, as_of: dt.date) -> bool:
    """A waiver silences its rule until the day it expires."""
    return as_of < waiver.spec.expires


def live_waivers(bundle: Bundle, as_of: dt.date) -> dict[int, str]:
    """Waiver index -> the rule it silences, for the waivers live on `as_of`."""
    return {i: w.spec.rule for i, w in enumerate(bundle.waivers) if live(w, as_of)}


def silencing(state: State, rule: str, live_now: Mapping[int, str]) -> set[int]:
    """The live waivers (`live_waivers`) whose region holds this state's cells and
    which silence `rule` there."""
    return {w for w in state.waivers if live_now.get(w) == rule}
