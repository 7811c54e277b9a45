"""`registry plan` against the oracle: a random alliance and a changed version of
it (a contract dropped, handed to another partner, ended, given up or given an
`except`, a claim copied to another contract), every cell compared.

The plan arranges both versions at once and reads each version's audit and the
owner moves off that one arrangement: each audit must equal the version's audit
alone, and the moves the oracle's owners cell by cell.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from oracle import Cell, Oracle
from test_engine_property import DATES, Case, cases

from registry.findings import Finding
from registry.plan import OwnerMove, _arrange_both, plan
from registry.rules import audit, audit_arranged, compile_for_audit

# Hundreds of pairs of versions, each checked cell by cell: out of the quick loop.
pytestmark = pytest.mark.slow


@st.composite
def changes(draw: st.DrawFn) -> tuple[Case, Case]:
    """A case and the same alliance with one to three of its contracts changed."""
    case = draw(cases())
    (alliance, _), (name, text) = case.files
    documents: list[dict[str, Any]] = json.loads(text)
    partners = [d["metadata"]["name"] for d in documents if d["kind"] == "Partner"]
    for _ in range(draw(st.sampled_from([1, 1, 1, 2, 3]))):
        contracts = [d for d in documents if d["kind"] == "Contract"]
        if not contracts:
            break
        contract = draw(st.sampled_from(contracts))
        spec = contract["spec"]
        how = draw(st.sampled_from(["drop", "partner", "end", "give-up", "except", "copy"]))
        if how == "drop":
            documents.remove(contract)
        elif how == "partner":
            spec["partner"] = draw(st.sampled_from(partners))
        elif how == "end":
            spec["effective"] = {"until": draw(st.sampled_from(DATES)).isoformat()}
        elif how == "give-up" and spec["accountable"]:
            spec["accountable"].pop(draw(st.integers(0, len(spec["accountable"]) - 1)))
        elif how == "except" and spec["accountable"]:
            claim = draw(st.sampled_from(spec["accountable"]))
            other = draw(st.sampled_from([c for d in contracts for c in d["spec"]["accountable"]]
                                         or [claim]))  # fmt: skip
            claim.setdefault("except", []).append(copy.deepcopy(other["where"]))
        elif how == "copy" and spec["accountable"]:
            target = draw(st.sampled_from(contracts))["spec"]
            target["accountable"].append(copy.deepcopy(draw(st.sampled_from(spec["accountable"]))))
    changed = Case([case.files[0], (name, json.dumps(documents))], case.as_of)
    assert alliance == changed.files[0][0]
    return case, changed


def move_cells(oracle: Oracle, moves: list[OwnerMove]) -> dict[Cell, tuple[frozenset[str], ...]]:
    got: dict[Cell, tuple[frozenset[str], ...]] = {}
    seen: dict[tuple[frozenset[str], ...], list[list[frozenset[str]]]] = {}
    for move in moves:
        cells = oracle.expand(move.region)
        assert move.cells == len(cells), move
        assert tuple(move.example[d] for d in oracle.dims) in cells, move
        assert not cells & got.keys(), f"moves overlap: {move}"
        label = (frozenset(move.before), frozenset(move.after))
        got.update(dict.fromkeys(cells, label))
        # Canonical boxes: two moves of one kind never differ in one dimension only.
        leaves = [frozenset(c[i] for c in cells) for i in range(len(oracle.dims))]
        for theirs in seen.get(label, []):
            assert sum(a == b for a, b in zip(leaves, theirs, strict=True)) < len(leaves) - 1
        seen.setdefault(label, []).append(leaves)
    return got


@settings(max_examples=300, deadline=None, derandomize=True)
@given(changes())
def test_plan_matches_the_oracle(pair: tuple[Case, Case]) -> None:
    old_case, new_case = pair
    old, new, as_of = old_case.bundle(), new_case.bundle(), old_case.as_of
    result = plan(old, new, as_of)
    before, after = Oracle(old), Oracle(new)
    want = {}
    for cell in before.cells:
        owners = before.accountable(cell, as_of), after.accountable(cell, as_of)
        if owners[0] != owners[1]:
            want[cell] = owners
    assert result.moves is not None
    assert move_cells(before, result.moves) == want
    # Each version's audit read off the joint arrangement is its audit alone,
    # summary included; the plan's findings are the one against the other.
    reports = audit(old, as_of), audit(new, as_of)
    compiled = compile_for_audit(old, as_of), compile_for_audit(new, as_of)
    both = _arrange_both(compiled[0], compiled[0].atoms, compiled[1], compiled[1].atoms)
    offset = len(compiled[0].claims)
    halves = both.project(0, offset), both.project(offset, offset + len(compiled[1].claims))
    for report, half, version in zip(reports, halves, compiled, strict=True):
        assert audit_arranged(version, half, as_of) == report
    was, now = reports[0].findings, reports[1].findings
    old_keys, new_keys = {_key(f) for f in was}, {_key(f) for f in now}
    assert result.added == [f for f in now if _key(f) not in old_keys]
    assert result.removed == [f for f in was if _key(f) not in new_keys]


def _key(finding: Finding) -> tuple[object, ...]:
    # A finding that stays has the same rule, severity, partners, region and date;
    # its message and documents may change (a contract renamed).
    region = json.dumps(finding.region)
    return (finding.rule, finding.severity, tuple(finding.partners), region, finding.date)
