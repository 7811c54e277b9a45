"""coverage-gap: nobody is accountable for a cell."""

from __future__ import annotations

from registry.rules.rule import CellRule, Label, Timeline

NOBODY = Label(frozenset())


def detect(timeline: Timeline) -> Label | None:
    return NOBODY if not timeline.owners else None


def message(label: Label, cells: str) -> str:
    return f"no partner is accountable for {cells}"


RULE = CellRule(
    id="coverage-gap",
    severity="error",
    fires_when="a cell has no accountable partner",
    causes=("dimensions",),
    detect=detect,
    message=message,
    documents="alliance",
)
