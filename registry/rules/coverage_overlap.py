"""coverage-overlap: two or more partners are accountable for a cell."""

from __future__ import annotations

from registry.rules.rule import CellRule, Label, Timeline


def detect(timeline: Timeline) -> Label | None:
    return Label(timeline.owners) if len(timeline.owners) > 1 else None


def message(label: Label, cells: str) -> str:
    return f"{len(label.partners)} partners are accountable for {cells}"


RULE = CellRule(
    id="coverage-overlap",
    severity="error",
    fires_when="a cell has two or more accountable partners",
    causes=("accountable",),
    detect=detect,
    message=message,
    documents="contracts now",
)
