"""The engine against the oracle: random small alliances, every cell compared.

Each example is an alliance written as JSON documents (trees of depth 1-3,
2-4 partners, 1-5 contracts with dates around the turn of 2027, claims with
excepts, consulted teams, handoffs, face claims, waivers, sometimes a tuned
PolicySet), loaded like any other. The audit's findings are expanded back into
cells and compared, rule by rule, with `tests/oracle.py`; owner answers are
compared cell by cell and day by day.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from oracle import Cell, Label, Oracle

from registry.bundle import Bundle
from registry.findings import Finding, Report
from registry.load import load_texts
from registry.resolve import OwnerIndex
from registry.rules import CELL_RULES, audit

# Hundreds of alliances, each checked cell by cell: out of the quick loop (-m "not slow").
pytestmark = pytest.mark.slow

API = "alliance-registry/v1"
ALLIANCE = "grid"
D = dt.date
# Contract bounds and waiver expiries: a few dates around 2026-11-01..2027-04-01.
DATES = [
    D(2026, 10, 15),
    D(2026, 11, 1),
    D(2026, 12, 1),
    D(2026, 12, 31),
    D(2027, 1, 1),
    D(2027, 2, 1),
    D(2027, 3, 2),
    D(2027, 4, 1),
]
# Audit days: mostly inside the contract periods, now and then before or after all.
AS_OF = [D(2026, 11, 15), D(2026, 12, 1), D(2027, 1, 1), D(2027, 1, 30), D(2027, 2, 1), *DATES]
# P30D from 2026-11-01 reaches 2026-12-01 exactly; P1DT12H and PT12H reach no further day.
HORIZONS = ["P90D", "P30D", "P29D", "P31D", "P61D", "P2W", "P1DT12H", "PT12H", "P1D"]
SEVERITIES = ["error", "warning", "info", "off"]
DATED = {"future-gap", "future-overlap", "waiver-expiring"}  # cell rules whose findings have a day
# What an alliance may require of the face's powers, and what contracts grant it:
# enough, too slow, too little credit or in another currency, no dispatch.
FACE_AUTHORITY = {"compelResponseWithin": "PT4H", "creditUpTo": {"amount": 50, "currency": "EUR"}}
GRANTS = [
    {
        "compelResponseWithin": "PT2H",
        "creditUpTo": {"amount": 50, "currency": "EUR"},
        "dispatch": True,
    },
    {"compelResponseWithin": "PT8H", "creditUpTo": {"amount": 50, "currency": "EUR"}},
    {"compelResponseWithin": "PT4H", "creditUpTo": {"amount": 20, "currency": "EUR"}},
    {"compelResponseWithin": "PT4H", "creditUpTo": {"amount": 90, "currency": "GBP"}},
]
DIMENSIONS = ["category", "region", "channel"]


@dataclass
class Case:
    files: list[tuple[str, str]]
    as_of: dt.date

    def bundle(self) -> Bundle:
        result = load_texts(self.files)
        assert result.errors == [], [str(e) for e in result.errors]
        return result.bundles[ALLIANCE]


def doc(kind: str, name: str, spec: dict[str, Any], alliance: bool = True) -> dict[str, Any]:
    metadata = {"name": name, **({"alliance": ALLIANCE} if alliance else {})}
    return {"apiVersion": API, "kind": kind, "metadata": metadata, "spec": spec}


@st.composite
def trees(draw: st.DrawFn, prefix: str, max_leaves: int) -> tuple[Any, dict[str, str]]:
    """A tree of depth 1-3, 1-4 children per node, at most `max_leaves` leaves;
    and every node's parent (roots map to "")."""
    depth = draw(st.integers(1, 3))
    parents: dict[str, str] = {}
    count = itertools.count()
    leaves = 0

    def grow(level: int, parent: str) -> dict[str, Any]:
        nonlocal leaves
        width = draw(st.integers(1, 4))
        width = max(1, min(width, max_leaves - leaves))
        leaves += width
        out: dict[str, Any] = {}
        for _ in range(width):
            name = f"{prefix}{next(count)}"
            parents[name] = parent
            out[name] = None
        for name in out:
            if level < depth and leaves < max_leaves and draw(st.booleans()):
                leaves -= 1  # the node stops being a leaf
                out[name] = grow(level + 1, name)
        return out

    tree = grow(1, "")
    # Sometimes write the flat or bottom level as a list of leaf names.
    if all(v is None for v in tree.values()) and draw(st.booleans()):
        return list(tree), parents
    return tree, parents


@st.composite
def wheres(draw: st.DrawFn, parents: Mapping[str, Mapping[str, str]]) -> dict[str, list[str]]:
    """A selector: 0-2 dimensions, each with 1-3 nodes of any depth (top-level ones
    more often), sometimes a node together with its ancestor."""
    out: dict[str, list[str]] = {}
    restricted = draw(st.sampled_from([0, 1, 1, 1, 2, 2]))
    for dim in draw(st.permutations(sorted(parents)))[:restricted]:
        tops = sorted(n for n, p in parents[dim].items() if not p)
        pool = st.sampled_from(tops) | st.sampled_from(sorted(parents[dim]))
        nodes = list(dict.fromkeys(draw(st.lists(pool, min_size=1, max_size=3))))
        if parents[dim][nodes[0]] and draw(st.integers(0, 3)) == 0:
            nodes.append(parents[dim][nodes[0]])
        out[dim] = nodes
    return out


@st.composite
def claims(draw: st.DrawFn, parents: Mapping[str, Mapping[str, str]]) -> dict[str, Any]:
    claim: dict[str, Any] = {"where": draw(wheres(parents))}
    if draw(st.integers(0, 2)) == 0:
        claim["except"] = draw(st.lists(wheres(parents), min_size=1, max_size=2))
    return claim


@st.composite
def effectives(draw: st.DrawFn) -> dict[str, str] | None:
    start = draw(st.none() | st.sampled_from(DATES[:-1]))
    end = draw(st.none() | st.sampled_from([d for d in DATES if start is None or d > start]))
    if start is None and end is None and draw(st.booleans()):
        return None
    bounds = {"from": start, "until": end}
    return {key: day.isoformat() for key, day in bounds.items() if day is not None}


@st.composite
def contract_specs(
    draw: st.DrawFn, partners: list[str], parents: Mapping[str, Mapping[str, str]]
) -> dict[str, Any]:
    spec: dict[str, Any] = {"partner": draw(st.sampled_from(partners))}
    effective = draw(effectives())
    if effective is not None:
        spec["effective"] = effective
    spec["scope"] = draw(st.lists(claims(parents), max_size=2))
    # Mostly at least one accountable claim: a scope-only contract now and then.
    least = 1 if draw(st.integers(0, 4)) else 0
    spec["accountable"] = draw(st.lists(claims(parents), min_size=least, max_size=3))
    spec["consulted"] = []
    for partner in draw(st.lists(st.sampled_from(partners), max_size=2)):
        where = draw(st.none() | wheres(parents))
        spec["consulted"].append({"partner": partner, **({"where": where} if where else {})})
    spec["handoffs"] = []
    for mode in draw(st.lists(st.sampled_from(["retain", "consult", "transfer"]), max_size=2)):
        where = draw(st.none() | wheres(parents))
        handoff = {"endpoint": "tickets", "mode": mode}
        spec["handoffs"].append({**handoff, **({"where": where} if where else {})})
    spec["escalation"] = "standard"
    grants = draw(st.sampled_from([None, *GRANTS]))
    if grants is not None:
        spec["grantsFace"] = grants
    return spec


@st.composite
def succession(draw: st.DrawFn, spec: dict[str, Any], partners: list[str]) -> dict[str, Any]:
    """A successor of a contract: its claims from a handover day on, by the same or
    another partner. The predecessor now ends on that day; the successor starts on
    it, a little before (an overlap) or a little after (a gap)."""
    handover = draw(st.sampled_from(DATES[1:-1]))
    before = spec.get("effective", {})
    if before.get("from", "") >= handover.isoformat():
        before.pop("from")
    spec["effective"] = {**before, "until": handover.isoformat()}
    i = DATES.index(handover)
    start = draw(st.sampled_from([handover, handover, DATES[i - 1], DATES[i + 1]]))
    successor = {**spec, "partner": draw(st.sampled_from(partners))}
    successor["effective"] = {"from": start.isoformat()}
    if draw(st.booleans()) and start < DATES[-1]:
        successor["effective"]["until"] = DATES[-1].isoformat()
    return successor


@st.composite
def waivers(draw: st.DrawFn, parents: Mapping[str, Mapping[str, str]]) -> dict[str, Any]:
    common = ["coverage-gap", "coverage-overlap", "face-gap", "face-overlap"]
    return {
        "rule": draw(st.sampled_from(common) | st.sampled_from(CELL_RULES)),
        "where": draw(wheres(parents)),
        "reason": "tolerated",
        "approvedBy": "board",
        "expires": draw(st.sampled_from(DATES)).isoformat(),
    }


@st.composite
def promises(
    draw: st.DrawFn, partners: list[str], parents: Mapping[str, Mapping[str, str]]
) -> dict[str, Any]:
    """A promise on one node of 1-3 dimensions (a cell when they are all leaves), each
    field written or not, with values that hold or break."""
    dims = draw(st.permutations(sorted(parents)))[: draw(st.integers(1, len(parents)))]
    where = {dim: draw(st.sampled_from(sorted(parents[dim]))) for dim in sorted(dims)}
    promise: dict[str, Any] = {"where": where}
    if draw(st.booleans()):
        promise["at"] = draw(st.sampled_from(AS_OF)).isoformat()
    maybe = {
        "status": st.sampled_from(["owned", "unowned", "conflict", "ambiguous"]),
        "owner": st.sampled_from(partners),
        "face": st.sampled_from(partners),
        "handoff": st.fixed_dictionaries(
            {}, optional={"mode": st.sampled_from(["retain", "consult", "transfer"])}
        ).map(lambda h: {**h, "endpoint": "tickets"}),
        "consulted": st.lists(st.sampled_from(partners), max_size=2),
        "escalatesTo": st.sampled_from(["board", "ombudsman"]),
    }
    for name, values in maybe.items():
        if draw(st.booleans()):
            promise[name] = draw(values)
    return promise


@st.composite
def policies(draw: st.DrawFn) -> dict[str, Any]:
    rules = draw(st.dictionaries(st.sampled_from(CELL_RULES), st.sampled_from(SEVERITIES)))
    return {
        "horizon": draw(st.sampled_from(HORIZONS)),
        "rules": {rule: {"severity": severity} for rule, severity in rules.items()},
    }


@st.composite
def cases(draw: st.DrawFn, scale: int = 1) -> Case:
    """An alliance of at most 100 or 125 cells and 5 contracts (times `scale`)."""
    dims = DIMENSIONS[: draw(st.integers(2, 3))]
    per_dim = {2: 10, 3: 5}[len(dims)] * scale
    shared = draw(st.integers(0, 5)) == 0  # dimensions may share node names
    trees_: dict[str, Any] = {}
    parents: dict[str, dict[str, str]] = {}
    for dim in dims:
        trees_[dim], parents[dim] = draw(trees("n" if shared else dim[0], per_dim))
    partners = ["pa", "pb", "pc", "pd"][: draw(st.integers(2, 4))]
    faces = [
        {"partner": draw(st.sampled_from(partners)), **draw(claims(parents))}
        for _ in range(draw(st.integers(0, 2)))
    ]
    if draw(st.integers(0, 3)):
        faces.insert(0, {"partner": partners[0], "where": {}})
    chain = [{"after": "PT4H", "to": "duty-manager"}, {"after": "P1D", "to": "authority:board"}]
    alliance_spec: dict[str, Any] = {
        "authority": "board",
        "authorities": [{"name": "board"}, {"name": "ombudsman"}],
        "dimensions": trees_,
        "customerFace": faces,
        "escalationChains": {"standard": chain},
    }
    if draw(st.booleans()):
        alliance_spec["faceAuthority"] = {**FACE_AUTHORITY, "dispatch": draw(st.booleans())}
    documents = []
    if draw(st.booleans()):
        documents.append(doc("PolicySet", "tuned", draw(policies())))
        alliance_spec["policy"] = "tuned"
    for partner in partners:
        spec = {
            "legalName": partner.upper(),
            "contacts": [{"name": "duty-manager"}],
            "endpoints": [{"name": "tickets", "type": "email", "address": f"mailto:{partner}@x"}],
        }
        documents.append(doc("Partner", partner, spec))
    count = draw(st.integers(1, 4 * scale))
    specs = [draw(contract_specs(partners, parents)) for _ in range(count)]
    if draw(st.booleans()):
        specs.append(draw(succession(draw(st.sampled_from(specs)), partners)))
    documents += [doc("Contract", f"k{i}", spec) for i, spec in enumerate(specs)]
    for i in range(draw(st.integers(0, 3))):
        documents.append(doc("Waiver", f"w{i}", draw(waivers(parents))))
    if draw(st.integers(0, 2)) == 0:
        written = draw(st.lists(promises(partners, parents), min_size=1, max_size=4))
        spec = {"promises": [{"name": f"p{i}", **p} for i, p in enumerate(written)]}
        documents.append(doc("Expectation", "promised", spec))
    alliance = doc("Alliance", ALLIANCE, alliance_spec, alliance=False)
    files = [("alliance.json", json.dumps(alliance)), ("documents.json", json.dumps(documents))]
    return Case(files, draw(st.sampled_from(AS_OF)))


# -- the audit ---------------------------------------------------------------------


def finding_cells(oracle: Oracle, finding: Finding) -> set[Cell]:
    assert finding.region is not None
    return oracle.expand(finding.region)


def check_region(oracle: Oracle, finding: Finding) -> None:
    """A region is a box in canonical node names: whole dimensions left out, no node
    with its ancestor, siblings all in collapsed to their parent."""
    assert finding.region is not None
    assert list(finding.region) == [d for d in oracle.dims if d in finding.region]
    for dim, nodes in finding.region.items():
        leaves = [leaf for n in nodes for leaf in oracle.nodes[dim][n]]
        assert len(leaves) == len(set(leaves)), (dim, nodes)  # no node with its ancestor
        assert len(leaves) < len(oracle.leaves[dim]), (dim, nodes)  # whole: omitted
        for parent, kids in oracle.children[dim].items():
            assert not (kids and set(kids) <= set(nodes)), (dim, nodes, parent)


def engine_cells(oracle: Oracle, report: Report) -> dict[str, dict[Cell, Label]]:
    """Every finding's region back into cells, checking the box facts on the way."""
    got: dict[str, dict[Cell, Label]] = {}
    for finding in report.findings:
        if finding.rule == "expectation-failed":
            continue  # a promise's cells: check_expectations
        if finding.rule not in CELL_RULES:
            assert finding.region is None and finding.cells is None
            continue
        cells = finding_cells(oracle, finding)
        check_region(oracle, finding)
        assert finding.cells == len(cells), finding
        assert finding.example is not None and list(finding.example) == oracle.dims
        assert tuple(finding.example[d] for d in oracle.dims) in cells, finding
        assert (finding.date is not None) == (finding.rule in DATED), finding
        assert finding.partners == sorted(finding.partners)
        label = (frozenset(finding.partners), finding.date)
        mine = got.setdefault(finding.rule, {})
        assert not cells & mine.keys(), f"boxes of {finding.rule} overlap: {finding}"
        mine.update(dict.fromkeys(cells, label))
    return got


def check_documents(oracle: Oracle, finding: Finding, as_of: dt.date) -> None:
    """A cell finding names the Alliance (gaps, faces) or the contracts of its partners
    that claim its cells on the day concerned."""
    if finding.rule in ("coverage-gap", "face-gap", "face-overlap"):
        assert finding.documents == [f"Alliance/{ALLIANCE}"], finding
        return
    if finding.rule == "waiver-expiring":
        # The waivers expiring on its day whose rules fire then, on every cell of it.
        for cell in finding_cells(oracle, finding):
            forecast = oracle.forecast(cell, as_of)
            assert forecast is not None and sorted(forecast[2]) == finding.documents, finding
        return
    if finding.rule == "gray-zone":
        return  # names the owners' contracts only: the oracle keeps no pairs
    day = as_of
    if finding.rule == "future-overlap" and finding.date is not None:
        day = dt.date.fromisoformat(finding.date)
    refs = {
        contract.ref
        for cell in finding_cells(oracle, finding)
        for contract in oracle.contracts_for(cell, day)
        if contract.spec.partner in finding.partners
    }
    assert finding.documents == sorted(refs), finding


def box_leaves(oracle: Oracle, region: Mapping[str, list[str]]) -> list[frozenset[str]]:
    """Per dimension the leaves a region takes."""
    return [
        frozenset(leaf for n in region[dim] for leaf in oracle.nodes[dim][n])
        if dim in region
        else frozenset(oracle.leaves[dim])
        for dim in oracle.dims
    ]


def check_merged(oracle: Oracle, findings: list[Finding]) -> None:
    """Boxes of one rule and partner set (and date) are merged: no two of them differ
    in one dimension only, which would make their union one box."""
    seen: dict[tuple[Any, ...], list[tuple[Finding, list[frozenset[str]]]]] = {}
    for finding in findings:
        # gray-zone groups by (owner, other) pairs, not by partner set: pinned apart in
        # test_engine_units.py::test_gray_zones_of_one_partner_set_are_one_finding.
        if finding.region is None or finding.rule in ("gray-zone", "expectation-failed"):
            continue
        leaves = box_leaves(oracle, finding.region)
        key = (finding.rule, tuple(finding.partners), finding.date)
        for other, theirs in seen.get(key, []):
            same = sum(a == b for a, b in zip(leaves, theirs, strict=True))
            assert same < len(leaves) - 1, f"{finding} could merge with {other}"
        seen.setdefault(key, []).append((finding, leaves))


def difference(rule: str, got: dict[Cell, Label], want: dict[Cell, Label]) -> str:
    lines = [f"{rule}: engine {len(got)} cells, oracle {len(want)} cells"]
    for cell in sorted(got.keys() | want.keys()):
        if got.get(cell) != want.get(cell):
            lines.append(f"  {cell}: engine {got.get(cell)} oracle {want.get(cell)}")
    return "\n".join(lines[:12])


def check_waivers(bundle: Bundle, report: Report, as_of: dt.date, used: set[str]) -> None:
    """An expired waiver is waiver-expired; a live one that silenced nothing, unused."""
    expired = {w.ref for w in bundle.waivers if w.spec.expires <= as_of}
    unused = {w.ref for w in bundle.waivers if as_of < w.spec.expires and w.name not in used}
    for rule, refs in (("waiver-expired", expired), ("waiver-unused", unused)):
        named = [d for f in report.findings if f.rule == rule for d in f.documents]
        assert sorted(named) == sorted(refs), rule


def check_expectations(oracle: Oracle, bundle: Bundle, report: Report, as_of: dt.date) -> None:
    """One finding per broken promise, in the promises' order, its message the
    oracle's fields, its region and cells the promise's."""
    if bundle.policy.severities["expectation-failed"] == "off":
        return
    want = []
    for expectation in bundle.expectations:
        for promise in expectation.spec.promises:
            broken = oracle.broken(promise, promise.at or as_of)
            if broken:
                want.append((promise, broken))
    got = [f for f in report.findings if f.rule == "expectation-failed"]
    assert len(got) == len(want), [f.message for f in got]
    by_message = {f.message: f for f in got}
    for promise, broken in want:
        day = (promise.at or as_of).isoformat()
        where = ", ".join(f"{d}={n}" for d, n in promise.where.items())
        text = f"promise '{promise.name}' ({where} on {day}) is broken: " + "; ".join(broken)
        assert text in by_message, (text, sorted(by_message))
        finding = by_message[text]
        assert finding.cells == len(oracle.query_cells(promise.where)), finding
        assert finding.documents == ["Expectation/promised"], finding


def compare_audit(bundle: Bundle, as_of: dt.date) -> None:
    report = audit(bundle, as_of)
    oracle = Oracle(bundle)
    want = oracle.audit(as_of)
    got = engine_cells(oracle, report)
    for rule in CELL_RULES:
        mine, theirs = got.get(rule, {}), want.fired.get(rule, {})
        assert mine == theirs, difference(rule, mine, theirs)
    for finding in report.findings:
        if finding.region is not None and finding.rule in CELL_RULES:
            check_documents(oracle, finding, as_of)
    check_merged(oracle, report.findings)
    check_waivers(bundle, report, as_of, want.used_waivers)
    check_expectations(oracle, bundle, report, as_of)
    named = [d for f in report.findings if f.rule == "face-authority" for d in f.documents]
    assert sorted(named) == sorted(oracle.face_authority(as_of)), "face-authority"
    summary = report.summary
    assert summary.cells == len(oracle.cells)
    assert summary.owned == want.owned
    assert summary.waived_cells == len(want.waived)
    for severity in ("error", "warning", "info"):
        count = sum(f.severity == severity for f in report.findings)
        assert getattr(summary, severity) == count, severity
    assert all(f.severity != "off" for f in report.findings)


@settings(max_examples=500, deadline=None, derandomize=True)
@given(cases())
def test_audit_matches_the_oracle(case: Case) -> None:
    compare_audit(case.bundle(), case.as_of)


# -- owner resolution --------------------------------------------------------------


def query_days(bundle: Bundle, as_of: dt.date) -> list[dt.date]:
    """The audit day, the day before and the day of every contract bound (the last
    day of one period, the first of the next) and waiver expiry, and a day far either
    side."""
    days = {as_of, D(2020, 1, 1), D(2031, 1, 1)}
    for contract in bundle.contracts:
        effective = contract.spec.effective
        for day in (effective.from_, effective.until) if effective else ():
            if day is not None:
                days |= {day - dt.timedelta(days=1), day}
    for waiver in bundle.waivers:
        days |= {waiver.spec.expires - dt.timedelta(days=1), waiver.spec.expires}
    return sorted(days)


def check_answer(oracle: Oracle, index: OwnerIndex, query: dict[str, str], day: dt.date) -> None:
    answer = index.owner(query, at=day)
    cells = oracle.query_cells(query)
    status, seen = oracle.status(cells, day)
    context = f"query {query} at {day}"
    assert answer.status == status, f"{context}: engine {answer.status}, oracle {status} {seen}"
    waived = [w.name for w in answer.waivers]
    assert waived == oracle.waivers_meeting(cells, day), context
    if status == "owned":
        assert answer.owner is not None and answer.candidates == []
        assert answer.owner.partner in seen, context
        contracts = {c.name for cell in cells for c in oracle.contracts_for(cell, day)}
        assert answer.owner.contract in contracts, context
        if len(cells) == 1:
            (cell,) = cells
            teams = {team.partner for team in answer.consulted}
            assert teams == oracle.consulted(answer.owner.partner, cell, day), context
            has_handoff = oracle.has_handoff(answer.owner.partner, cell, day)
            assert (answer.handoff is not None) == has_handoff, context
    else:
        assert answer.owner is None, context
        assert answer.candidates == sorted(seen), context
    if len(cells) == 1:
        (face,) = [oracle.face(cell) for cell in cells]
        assert (answer.face.partner if answer.face else None) == (
            min(face) if len(face) == 1 else None
        ), context


queries = st.lists(st.dictionaries(st.sampled_from(DIMENSIONS), st.integers(0, 99)), max_size=6)


@settings(max_examples=500, deadline=None, derandomize=True)
@given(cases(), queries)
def test_owner_matches_the_oracle(case: Case, picks: list[dict[str, int]]) -> None:
    bundle = case.bundle()
    oracle = Oracle(bundle)
    index = OwnerIndex(bundle)
    days = query_days(bundle, case.as_of)
    for cell in oracle.cells:
        for day in days:
            check_answer(oracle, index, dict(zip(oracle.dims, cell, strict=True)), day)
    # Inner nodes and omitted dimensions: every single node, then random mixes.
    inner = [{dim: node} for dim, node in oracle.every_node()]
    for pick in picks:
        dims = [d for d in oracle.dims if d in pick]
        inner.append({d: list(oracle.nodes[d])[pick[d] % len(oracle.nodes[d])] for d in dims})
    for query in inner:
        for day in days:
            check_answer(oracle, index, query, day)
