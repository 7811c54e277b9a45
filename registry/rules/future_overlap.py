"""future-overlap: a cell gets two or more accountable partners within the horizon."""

from __future__ import annotations

from registry.rules.rule import CellRule, Label, Timeline


def detect(timeline: Timeline) -> Label | None:
    # A cell that is an overlap now is coverage-overlap's; the first day it becomes
    # one is reported.
    if len(timeline.owners) > 1:
        return None
    for day, owners in timeline.changes:
        if len(owners) > 1:
            return Label(owners, day.isoformat())
    return None


def message(label: Label, cells: str) -> str:
    return f"{len(label.partners)} partners become accountable for {cells} on {label.date}"


RULE = CellRule(
    id="future-overlap",
    severity="warning",
    fires_when="within the horizon a cell becomes an overlap",
    causes=("effective", "accountable"),
    detect=detect,
    message=message,
    # The contracts overlapping: those in force on the day they overlap.
    documents="contracts on its date",
)
