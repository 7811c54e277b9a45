"""face-gap: no partner is the customer face of a cell."""

from __future__ import annotations

from registry.rules.rule import CellRule, Label, Timeline

NOBODY = Label(frozenset())


def detect(timeline: Timeline) -> Label | None:
    return NOBODY if not timeline.now.face else None


def message(label: Label, cells: str) -> str:
    return f"no partner is the customer face for {cells}"


RULE = CellRule(
    id="face-gap",
    severity="error",
    fires_when="a cell has no customer face",
    causes=("customerFace",),
    detect=detect,
    message=message,
    documents="alliance",
)
