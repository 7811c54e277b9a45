"""gray-zone: another partner has scope on a cell but is not in the accountable
contract's consulted team there."""

from __future__ import annotations

from registry.rules.rule import CellRule, Label, Timeline


def detect(timeline: Timeline) -> Label | None:
    now, claims = timeline.now, timeline.claims
    gray = frozenset(
        (owner, other)
        for owner in timeline.owners
        for other in now.scope - {owner}
        if other not in {claims[c].other for c in now.consults if claims[c].partner == owner}
    )
    if not gray:
        return None
    # Grouped by the partners of its pairs: the finding lists every pair of its cells.
    return Label(frozenset(p for pair in gray for p in pair), pairs=gray)


def message(label: Label, cells: str) -> str:
    said = "; ".join(
        f"{other} has scope where {owner} is accountable but is not in its consulted team"
        for owner, other in sorted(label.pairs)
    )
    return f"{said} ({cells})"


RULE = CellRule(
    id="gray-zone",
    severity="warning",
    fires_when="a partner with scope on a cell is not in the accountable contract's consulted team",
    causes=("consulted", "accountable"),
    detect=detect,
    message=message,
    documents="contracts now",
)
