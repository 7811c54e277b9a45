"""outside-scope: a partner is accountable for cells outside its own scope."""

from __future__ import annotations

from registry.rules.rule import CellRule, Label, Timeline


def detect(timeline: Timeline) -> Label | None:
    scope = timeline.now.scope
    outside = frozenset(p for p in timeline.owners if p not in scope)
    return Label(outside) if outside else None


def message(label: Label, cells: str) -> str:
    verb = "is" if len(label.partners) == 1 else "are"
    return f"{', '.join(sorted(label.partners))} {verb} accountable for {cells} outside their scope"


RULE = CellRule(
    id="outside-scope",
    severity="error",
    fires_when="a partner is accountable outside its own scope",
    causes=("accountable",),
    detect=detect,
    message=message,
    documents="contracts now",
)
