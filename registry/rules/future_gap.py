"""future-gap: an owned cell loses its accountable partners within the horizon."""

from __future__ import annotations

from registry.rules.rule import CellRule, Label, Timeline


def detect(timeline: Timeline) -> Label | None:
    # A cell that is a gap now is coverage-gap's; the first day it becomes one is reported.
    if not timeline.owners:
        return None
    for day, owners in timeline.changes:
        if not owners:
            return Label(timeline.owners, day.isoformat())
    return None


def message(label: Label, cells: str) -> str:
    names = ", ".join(sorted(label.partners))
    return f"{cells} lose their accountable partner ({names}) on {label.date}"


RULE = CellRule(
    id="future-gap",
    severity="warning",
    fires_when="within the horizon a cell becomes a gap",
    causes=("effective", "accountable"),
    detect=detect,
    message=message,
    # The contracts ending: those in force now.
    documents="contracts now",
)
