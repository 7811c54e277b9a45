"""handoff-missing: an accountable partner that is not the face has no handoff of its
contract covering a cell."""

from __future__ import annotations

from registry.rules.rule import CellRule, Label, Timeline


def detect(timeline: Timeline) -> Label | None:
    now, claims = timeline.now, timeline.claims
    handoffless = frozenset(
        p
        for p in timeline.owners
        if p not in now.face and not any(claims[c].partner == p for c in now.handoffs)
    )
    return Label(handoffless) if handoffless else None


def message(label: Label, cells: str) -> str:
    names = ", ".join(sorted(label.partners))
    verb = "is" if len(label.partners) == 1 else "are"
    return f"{names} {verb} accountable for {cells} but no handoff of their contract covers them"


RULE = CellRule(
    id="handoff-missing",
    severity="error",
    fires_when="a non-face accountable partner has no handoff covering the cell",
    causes=("handoffs", "accountable"),
    detect=detect,
    message=message,
    documents="contracts now",
)
