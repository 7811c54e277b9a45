"""face-overlap: more than one partner is the customer face of a cell."""

from __future__ import annotations

from registry.rules.rule import CellRule, Label, Timeline


def detect(timeline: Timeline) -> Label | None:
    face = timeline.now.face
    return Label(face) if len(face) > 1 else None


def message(label: Label, cells: str) -> str:
    return f"{len(label.partners)} partners are the customer face for {cells}"


RULE = CellRule(
    id="face-overlap",
    severity="error",
    fires_when="a cell has more than one customer face",
    causes=("customerFace",),
    detect=detect,
    message=message,
    documents="alliance",
)
