"""The rule catalogue at work: one audit of one alliance on one day.

Cell rules are read off the engine's diagram: every distinct region gets a
signature (each rule's label there), waivers silence labels inside their region,
and each rule's labels come back as merged boxes. Document rules look at one
contract or waiver at a time.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass

from registry.bundle import Bundle, is_active
from registry.claims import Compiled, State, compile_bundle, window_cuts
from registry.dimensions import Box
from registry.engine import Arrangement, box_cells, merged, paused_gc
from registry.findings import Finding, Report, Summary
from registry.model import Contract, Duration
from registry.rules.catalogue import CELL_RULES

Label = Hashable


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
    claims = compiled.claims
    contracts = bundle.contracts
    severities = bundle.policy.severities
    live_waivers = {i: w.spec.rule for i, w in enumerate(bundle.waivers) if as_of < w.spec.expires}

    def partners(state: State) -> frozenset[str]:
        return frozenset(contracts[k].spec.partner for k in state.accountable)

    signed: dict[tuple[State, ...], Signature] = {}

    def sign(timeline: tuple[State, ...]) -> Signature:
        # Regions differ in claims more than in what holds there: sign each timeline once.
        found = signed.get(timeline)
        if found is None:
            found = signed[timeline] = _sign(timeline)
        return found

    def _sign(timeline: tuple[State, ...]) -> Signature:
        now = timeline[0]
        owners = partners(now)
        raw: dict[str, Label] = {}
        if not owners:
            raw["coverage-gap"] = frozenset()
        elif len(owners) > 1:
            raw["coverage-overlap"] = owners
        if not now.face:
            raw["face-gap"] = frozenset()
        elif len(now.face) > 1:
            raw["face-overlap"] = now.face
        for i in range(1, len(timeline)):
            if timeline[i] is timeline[i - 1]:
                continue  # nothing changes on this cut
            later = partners(timeline[i])
            if owners and not later and "future-gap" not in raw:
                raw["future-gap"] = (compiled.cuts[i].isoformat(), owners)
            if len(owners) < 2 and len(later) > 1 and "future-overlap" not in raw:
                raw["future-overlap"] = (compiled.cuts[i].isoformat(), later)
        outside = frozenset(p for p in owners if p not in now.scope)
        if outside:
            raw["outside-scope"] = outside
        gray = frozenset(
            (owner, other)
            for owner in owners
            for other in now.scope - {owner}
            if other not in {claims[c].other for c in now.consults if claims[c].partner == owner}
        )
        if gray:
            raw["gray-zone"] = gray
        handoffless = frozenset(
            p
            for p in owners
            if p not in now.face and not any(claims[c].partner == p for c in now.handoffs)
        )
        if handoffless:
            raw["handoff-missing"] = handoffless
        labels, used = [], set()
        for rule in CELL_RULES:
            if rule not in raw or severities[rule] == "off":
                continue
            silencing = {w for w in now.waivers if live_waivers.get(w) == rule}
            if silencing:
                used |= silencing
            else:
                labels.append((rule, raw[rule]))
        return Signature(tuple(labels), len(owners) == 1, bool(used), frozenset(used))

    return sign


def _cell_findings(
    bundle: Bundle, compiled: Compiled, arrangement: Arrangement, signatures: list[Signature]
) -> Iterator[Finding]:
    # Findings group by partner set (§4): gray-zone labels are pair sets, so their
    # cells group by the pairs' partners and the finding lists every pair seen.
    groups: dict[tuple[str, Label], list[Box]] = {}
    pairs: dict[Label, set[Label]] = {}
    for box, lid in arrangement.leaves:
        for rule, raw in signatures[lid].labels:
            key = raw
            if rule == "gray-zone":
                assert isinstance(raw, frozenset)
                key = frozenset(p for pair in raw for p in pair)
                pairs.setdefault(key, set()).update(raw)
            groups.setdefault((rule, key), []).append(box)
    for (rule, key), boxes in groups.items():
        label = frozenset(pairs[key]) if rule == "gray-zone" else key
        # The documents of a future overlap are those in force on its date; of a
        # future gap, those in force now (they are the ones ending).
        segment = 0
        if rule == "future-overlap":
            assert isinstance(label, tuple)
            segment = compiled.segment(dt.date.fromisoformat(label[0]))
        for box in merged(compiled.sizes, boxes):
            found = [
                compiled.state_at(arrangement.labels[lid], segment)
                for lid in arrangement.labels_in(box)
            ]
            yield _cell_finding(bundle, rule, label, box, found)


def _cell_finding(bundle: Bundle, rule: str, label: Label, box: Box, found: list[State]) -> Finding:
    space = bundle.space
    cells = space.box_cells(box)
    date = None
    if rule.startswith("future-"):
        assert isinstance(label, tuple)
        date, label = label
    assert isinstance(label, frozenset)
    pairs = sorted(label) if rule == "gray-zone" else []
    involved = sorted({p for pair in pairs for p in pair}) if pairs else sorted(label)
    accountable_here = {k for state in found for k in state.accountable}
    if rule in ("coverage-gap", "face-gap", "face-overlap"):
        documents = [bundle.alliance.ref]
    else:
        owners = {pair[0] for pair in pairs} if pairs else set(label)
        documents = sorted(
            bundle.contracts[k].ref
            for k in accountable_here
            if bundle.contracts[k].spec.partner in owners
        )
    return Finding(
        rule=rule,
        severity=bundle.policy.severities[rule],
        message=_cell_message(rule, involved, pairs, cells, date),
        partners=involved,
        documents=documents,
        region=space.region(box),
        cells=cells,
        example=space.example(box),
        date=date,
    )


def _cell_message(
    rule: str, partners: list[str], pairs: list[tuple[str, str]], cells: int, date: str | None
) -> str:
    n = f"{cells:,} cell{'s' if cells != 1 else ''}"
    names = ", ".join(partners)
    if rule == "coverage-gap":
        return f"no partner is accountable for {n}"
    if rule == "coverage-overlap":
        return f"{len(partners)} partners are accountable for {n}"
    if rule == "face-gap":
        return f"no partner is the customer face for {n}"
    if rule == "face-overlap":
        return f"{len(partners)} partners are the customer face for {n}"
    if rule == "future-gap":
        return f"{n} lose their accountable partner ({names}) on {date}"
    if rule == "future-overlap":
        return f"{len(partners)} partners become accountable for {n} on {date}"
    if rule == "outside-scope":
        verb = "is" if len(partners) == 1 else "are"
        return f"{names} {verb} accountable for {n} outside their scope"
    if rule == "gray-zone":
        said = "; ".join(
            f"{other} has scope where {owner} is accountable but is not in its consulted team"
            for owner, other in pairs
        )
        return f"{said} ({n})"
    return (
        f"{names} {'is' if len(partners) == 1 else 'are'} accountable for {n} "
        "but no handoff of their contract covers them"
    )


def _document_findings(bundle: Bundle, as_of: dt.date, used_waivers: set[int]) -> list[Finding]:
    out: list[Finding] = []
    severities = bundle.policy.severities
    bounds = bundle.policy.parameters.get("sla-bound", {})
    faces = bundle.face_partners()

    def add(rule: str, message: str, partners: list[str], documents: list[str]) -> None:
        out.append(
            Finding(
                rule=rule,
                severity=severities[rule],
                message=message,
                partners=partners,
                documents=documents,
            )
        )

    for contract in bundle.contracts:
        if not _current(contract, as_of):
            continue
        spec, ref, partner = contract.spec, contract.ref, [contract.spec.partner]
        for i, handoff in enumerate(spec.handoffs):
            if handoff.mode == "transfer":
                add(
                    "handoff-transfer",
                    f"handoff {i} sends the customer to {spec.partner} (mode transfer); "
                    "use retain or consult so the face keeps the customer",
                    partner,
                    [ref],
                )
            for key, value in (
                ("acknowledgeWithin", handoff.acknowledge_within),
                ("resolveWithin", handoff.resolve_within),
            ):
                bound = bounds.get(key)
                if value is not None and bound is not None and value > bound:
                    add(
                        "sla-bound",
                        f"handoff {i} {key} {Duration.of(value).iso()} exceeds the policy's "
                        f"bound of {bound.iso()}",
                        partner,
                        [ref],
                    )
        levels = bundle.escalation(contract)
        if spec.accountable and not levels:
            add(
                "escalation-missing",
                "the contract has accountable claims but no escalation; "
                "name a chain or list the levels",
                partner,
                [ref],
            )
        if levels:
            afters = [level.after for level in levels]
            if any(b <= a for a, b in itertools.pairwise(afters)):
                add(
                    "escalation-not-rising",
                    "escalation levels' after must strictly increase: "
                    + ", ".join(Duration.of(a).iso() for a in afters),
                    partner,
                    [ref],
                )
            last = levels[-1]
            if not last.to.startswith("authority:"):
                add(
                    "escalation-no-authority",
                    f"the last escalation level goes to '{last.to}', not to an "
                    "alliance authority; end the chain with authority:<name>",
                    partner,
                    [ref],
                )
            else:
                for i, handoff in enumerate(spec.handoffs):
                    if handoff.resolve_within is not None and last.after > handoff.resolve_within:
                        add(
                            "escalation-too-late",
                            f"the authority is reached after {Duration.of(last.after).iso()}, "
                            f"later than handoff {i}'s resolveWithin "
                            f"{Duration.of(handoff.resolve_within).iso()}",
                            partner,
                            [ref],
                        )
        if spec.accountable and spec.partner not in faces:
            shortfalls = _face_shortfalls(bundle, contract)
            if shortfalls:
                add(
                    "face-authority",
                    f"the contract grants the customer face less than the alliance "
                    f"requires: {'; '.join(shortfalls)}",
                    partner,
                    [ref],
                )
    for i, waiver in enumerate(bundle.waivers):
        if waiver.spec.expires <= as_of:
            add(
                "waiver-expired",
                f"the waiver expired on {waiver.spec.expires}; renew it or remove it",
                [],
                [waiver.ref],
            )
        elif i not in used_waivers:
            add(
                "waiver-unused",
                f"the waiver silences no {waiver.spec.rule} finding; remove it",
                [],
                [waiver.ref],
            )
    return out


def _current(contract: Contract, as_of: dt.date) -> bool:
    """In force now or later: contracts already ended are history, not audited."""
    effective = contract.spec.effective
    return (
        effective is None
        or effective.until is None
        or effective.until > as_of
        or is_active(contract, as_of)
    )


def _face_shortfalls(bundle: Bundle, contract: Contract) -> list[str]:
    required = bundle.alliance.spec.face_authority
    if required is None:
        return []
    granted = contract.spec.grants_face
    out = []
    need = required.compel_response_within
    have = granted.compel_response_within if granted else None
    if need is not None and (have is None or have > need):
        out.append(
            f"compelResponseWithin {Duration.of(have).iso() if have else 'missing'}, "
            f"needs {Duration.of(need).iso()} or less"
        )
    need_credit = required.credit_up_to
    have_credit = granted.credit_up_to if granted else None
    if need_credit is not None and (
        have_credit is None
        or have_credit.currency != need_credit.currency
        or have_credit.amount < need_credit.amount
    ):
        shown = f"{have_credit.amount:g} {have_credit.currency}" if have_credit else "missing"
        out.append(
            f"creditUpTo {shown}, needs {need_credit.amount:g} {need_credit.currency} or more"
        )
    if required.dispatch and not (granted and granted.dispatch):
        out.append("dispatch not granted")
    return out
