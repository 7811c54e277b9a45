"""The rule catalogue at work: one audit of one alliance on one day.

Cell rules are read off the engine's diagram: every distinct region gets a
signature (each rule's label there), waivers silence labels inside their region,
and each rule's labels come back as merged boxes. Document rules look at one
contract or waiver at a time. What each rule detects and says is its module's
(`registry/rules/<rule>.py`); this module only runs them and assembles the report.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from registry.bundle import Bundle, is_active
from registry.claims import Compiled, State, compile_bundle, horizon_end, window_cuts
from registry.dimensions import Box
from registry.engine import Arrangement, box_cells, merged, paused_gc
from registry.findings import Finding, Report, Summary
from registry.model import Contract
from registry.rules.catalogue import RULES
from registry.rules.rule import (
    CellRule,
    Context,
    ContractRule,
    ExpectationRule,
    ForecastRule,
    Label,
    Outlook,
    RegionRule,
    Said,
    Timeline,
    WaiverRule,
)
from registry.rules.waivers import live_waivers, silencing

# The rules by what they read, in the catalogue's order.
ON_CELLS = [rule for rule in RULES.values() if isinstance(rule, CellRule)]
FORECASTS = [rule for rule in RULES.values() if isinstance(rule, ForecastRule)]
ON_CONTRACTS = [rule for rule in RULES.values() if isinstance(rule, ContractRule)]
ON_WAIVERS = [rule for rule in RULES.values() if isinstance(rule, WaiverRule)]
ON_EXPECTATIONS = [rule for rule in RULES.values() if isinstance(rule, ExpectationRule)]


@dataclass(frozen=True, slots=True)
class Signature:
    """Each firing cell rule's label on a region, after waivers."""

    labels: tuple[tuple[str, Label], ...]
    owned: bool
    waived: bool
    used_waivers: frozenset[int]

    def get(self, rule: str) -> Label | None:
        for name, label in self.labels:
            if name == rule:
                return label
        return None


def audit(bundle: Bundle, as_of: dt.date, revision: int | None = None) -> Report:
    with paused_gc:
        compiled = compile_for_audit(bundle, as_of)
        return audit_arranged(compiled, compiled.arrange(), as_of, revision)


def compile_for_audit(bundle: Bundle, as_of: dt.date) -> Compiled:
    """The time axis of an audit: `as_of` (segment 0), then the change days within
    the policy's horizon."""
    return compile_bundle(bundle, window_cuts(bundle, as_of, bundle.policy.horizon))


def audit_arranged(
    compiled: Compiled, arrangement: Arrangement, as_of: dt.date, revision: int | None = None
) -> Report:
    """The audit of a bundle already compiled (`compile_for_audit`) and arranged:
    `registry plan` reuses both for the owner moves."""
    bundle = compiled.bundle
    policy = bundle.policy
    sign = _signer(bundle, compiled, as_of)
    signatures = [sign(compiled.timeline(label)) for label in arrangement.labels]
    findings = list(_cell_findings(bundle, compiled, arrangement, signatures))
    used: set[int] = set().union(*(s.used_waivers for s in signatures))
    findings += _document_findings(bundle, as_of, used)
    findings = [f for f in findings if f.severity != "off"]
    findings.sort(key=Finding.sort_key)
    # The leaves partition the space and most are owned: count the others.
    unowned = sum(box_cells(box) for box, lid in arrangement.leaves if not signatures[lid].owned)
    summary = Summary(
        cells=bundle.space.cells,
        owned=bundle.space.cells - unowned,
        waived_cells=sum(
            box_cells(box) for box, lid in arrangement.leaves if signatures[lid].waived
        ),
    )
    for finding in findings:
        setattr(summary, finding.severity, getattr(summary, finding.severity) + 1)
    return Report(
        alliance=bundle.name,
        as_of=as_of.isoformat(),
        horizon=policy.horizon_text,
        revision=revision,
        summary=summary,
        findings=findings,
    )


def _signer(
    bundle: Bundle, compiled: Compiled, as_of: dt.date
) -> Callable[[tuple[State, ...]], Signature]:
    severities = bundle.policy.severities
    detectors = [(rule.id, rule.detect) for rule in ON_CELLS if severities[rule.id] != "off"]
    live = live_waivers(bundle, as_of)
    outlook = _outlook(bundle, as_of, dict(detectors))
    if outlook.expiring:  # else nothing expires within the horizon: nothing to foresee
        detectors += [(r.id, r.detector(outlook)) for r in FORECASTS if severities[r.id] != "off"]
    signed: dict[tuple[State, ...], Signature] = {}

    def sign(timeline: tuple[State, ...]) -> Signature:
        # Regions differ in claims more than in what holds there: sign each timeline once.
        found = signed.get(timeline)
        if found is None:
            found = signed[timeline] = _sign(timeline)
        return found

    def _sign(states: tuple[State, ...]) -> Signature:
        timeline = Timeline.read(states, compiled)
        labels, used = [], set()
        for rule, detect in detectors:
            label = detect(timeline)
            if label is None:
                continue
            waivers = silencing(timeline.now, rule, live)
            if waivers:
                used |= waivers
            else:
                labels.append((rule, label))
        owned = len(timeline.owners) == 1
        return Signature(tuple(labels), owned, bool(used), frozenset(used))

    return sign


def _outlook(
    bundle: Bundle, as_of: dt.date, detect: dict[str, Callable[[Timeline], Label | None]]
) -> Outlook:
    """The waivers live on `as_of` expiring within the horizon (but those of forecast
    rules), and what the cell rules at work say on a later day, after its waivers."""
    end = horizon_end(as_of, bundle.policy.horizon)
    foreseen = {rule.id for rule in FORECASTS}
    expiring = {
        i: w
        for i, w in enumerate(bundle.waivers)
        if as_of < w.spec.expires <= end and w.spec.rule not in foreseen
    }
    live_on: dict[dt.date, dict[int, str]] = {}

    def fires(rule: str, timeline: Timeline, day: dt.date) -> Label | None:
        found = detect[rule](timeline) if rule in detect else None
        if found is None:
            return None
        if day not in live_on:
            live_on[day] = live_waivers(bundle, day)
        return None if silencing(timeline.now, rule, live_on[day]) else found

    return Outlook(expiring, fires)


# A cell finding's group: its rule, date, partners and expiring waivers.
Group = tuple[str, str | None, frozenset[str], frozenset[tuple[str, str]]]


def _cell_findings(
    bundle: Bundle, compiled: Compiled, arrangement: Arrangement, signatures: list[Signature]
) -> Iterator[Finding]:
    groups, pairs = _grouped(arrangement, signatures)
    for (rule_id, date, partners, expiring), boxes in groups.items():
        rule = RULES[rule_id]
        assert isinstance(rule, RegionRule)
        named = frozenset(pairs.get((rule_id, date, partners, expiring), ()))
        label = Label(partners, date, named, expiring)
        segment = 0
        if rule.documents == "contracts on its date":
            assert date is not None
            segment = compiled.segment(dt.date.fromisoformat(date))
        for box in merged(compiled.sizes, boxes):
            found = [
                compiled.state_at(arrangement.labels[lid], segment)
                for lid in arrangement.labels_in(box)
            ]
            yield _cell_finding(bundle, rule, label, box, found)


def _grouped(
    arrangement: Arrangement, signatures: list[Signature]
) -> tuple[dict[Group, list[Box]], dict[Group, set[tuple[str, str]]]]:
    """The leaf boxes of each group, and the pairs its labels name (`gray-zone`)."""
    # Findings group by partner set (and date, §4): a gray-zone finding lists every
    # pair of its cells.
    groups: dict[Group, list[Box]] = {}
    pairs: dict[Group, set[tuple[str, str]]] = {}
    for box, lid in arrangement.leaves:
        for rule, label in signatures[lid].labels:
            key = (rule, label.date, label.partners, label.expiring)
            groups.setdefault(key, []).append(box)
            if label.pairs:
                pairs.setdefault(key, set()).update(label.pairs)
    return groups, pairs


def _cell_finding(
    bundle: Bundle, rule: RegionRule, label: Label, box: Box, found: list[State]
) -> Finding:
    space = bundle.space
    cells = space.box_cells(box)
    if rule.documents == "alliance":
        documents = [bundle.alliance.ref]
    elif rule.documents == "waivers":
        names = {name for name, _ in label.expiring}
        documents = sorted(w.ref for w in bundle.waivers if w.name in names)
    else:
        owners = label.accountable
        accountable_here = {k for state in found for k in state.accountable}
        documents = sorted(
            bundle.contracts[k].ref
            for k in accountable_here
            if bundle.contracts[k].spec.partner in owners
        )
    return Finding(
        rule=rule.id,
        severity=bundle.policy.severities[rule.id],
        message=rule.message(label, f"{cells:,} cell{'s' if cells != 1 else ''}"),
        partners=sorted(label.partners),
        documents=documents,
        region=space.region(box),
        cells=cells,
        example=space.example(box),
        date=label.date,
    )


def _document_findings(bundle: Bundle, as_of: dt.date, used_waivers: set[int]) -> list[Finding]:
    severities = bundle.policy.severities
    context = Context(bundle, as_of, frozenset(used_waivers))
    on_contracts = [(r.id, r.check) for r in ON_CONTRACTS if severities[r.id] != "off"]
    on_waivers = [(r.id, r.check) for r in ON_WAIVERS if severities[r.id] != "off"]
    said: list[tuple[str, Said]] = []
    for contract in bundle.contracts:
        if _current(contract, as_of):
            for rule, check in on_contracts:
                for found in check(contract, context):
                    said.append((rule, found))
    for i, waiver in enumerate(bundle.waivers):
        for rule, check_waiver in on_waivers:
            for found in check_waiver(i, waiver, context):
                said.append((rule, found))
    for expectation_rule in ON_EXPECTATIONS:
        if severities[expectation_rule.id] != "off":
            for found in expectation_rule.check(bundle.expectations, context):
                said.append((expectation_rule.id, found))
    return [
        Finding(
            rule=rule,
            severity=severities[rule],
            message=found.message,
            partners=found.partners,
            documents=found.documents,
            region=found.region,
            cells=found.cells,
            example=found.example,
            date=found.date,
        )
        for rule, found in said
    ]


def _current(contract: Contract, as_of: dt.date) -> bool:
    """In force now or later: contracts already ended are history, not audited."""
    effective = contract.spec.effective
    return (
        effective is None
        or effective.until is None
        or effective.until > as_of
        or is_active(contract, as_of)
    )
