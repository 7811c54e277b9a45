"""waiver-expiring: a live waiver expires within the horizon, and on that day its rule
fires where the waiver silenced it.

The forecast is read cell by cell, as an audit of the expiry day would read it: the
waiver's region on the day it expires (its first day not live), with the contracts
in force then and the waivers still live then. A region reports the first such
day; a waiver of waiver-expiring is not forecast itself.
"""

from __future__ import annotations

from itertools import groupby

from registry.rules.rule import ForecastRule, Label, Outlook, Timeline


def foresee(timeline: Timeline, outlook: Outlook) -> Label | None:
    expiring = outlook.expiring
    ending = sorted(
        (expiring[w].spec.expires, expiring[w].name, expiring[w].spec.rule)
        for w in timeline.now.waivers
        if w in expiring
    )
    for day, waivers in groupby(ending, key=lambda found: found[0]):
        later = timeline.on(day)
        named: set[tuple[str, str]] = set()
        partners: set[str] = set()
        for _, name, rule in waivers:
            label = outlook.fires(rule, later, day)
            if label is not None:
                named.add((name, rule))
                partners |= label.partners
        if named:
            return Label(frozenset(partners), day.isoformat(), expiring=frozenset(named))
    return None


def message(label: Label, cells: str) -> str:
    names = sorted(name for name, _ in label.expiring)
    rules = sorted({rule for _, rule in label.expiring})
    if len(names) == 1:
        return f"waiver {names[0]} expires on {label.date}; then {rules[0]} fires on {cells}"
    verb = "fires" if len(rules) == 1 else "fire"
    return (
        f"waivers {', '.join(names)} expire on {label.date}; then {', '.join(rules)} "
        f"{verb} on {cells}"
    )


RULE = ForecastRule(
    id="waiver-expiring",
    severity="warning",
    fires_when="a live waiver expires within the horizon and its rule then fires in its region",
    causes=("expires",),
    foresee=foresee,
    message=message,
    documents="waivers",
)
