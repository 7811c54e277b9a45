"""What a change does before it lands: findings added and removed, and every box
whose accountable owner moves, between two versions of one alliance.

Ownership moves come from one arrangement of both versions' accountable claims
(the new version's claims numbered after the old's), so the work is that of one
audit, never of the cells.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import msgspec

from registry.bundle import Bundle
from registry.claims import Compiled, compile_bundle
from registry.dimensions import Box
from registry.engine import Atom, arrange, merged
from registry.findings import Finding
from registry.rules import audit


class OwnerMove(msgspec.Struct, kw_only=True):
    region: dict[str, list[str]]
    cells: int
    example: dict[str, str]
    before: list[str]
    after: list[str]


class Plan(msgspec.Struct, kw_only=True, rename="camel"):
    alliance: str
    as_of: str
    added: list[Finding]
    removed: list[Finding]
    # None when the dimension trees differ: boxes of two spaces do not compare.
    moves: list[OwnerMove] | None

    def adds_errors(self) -> bool:
        return any(f.severity == "error" for f in self.added)


def plan(old: Bundle, new: Bundle, as_of: dt.date) -> Plan:
    before, after = audit(old, as_of).findings, audit(new, as_of).findings
    old_keys, new_keys = {_key(f) for f in before}, {_key(f) for f in after}
    same_space = msgspec.json.encode(old.alliance.spec.dimensions) == msgspec.json.encode(
        new.alliance.spec.dimensions
    )
    return Plan(
        alliance=new.name,
        as_of=as_of.isoformat(),
        added=[f for f in after if _key(f) not in old_keys],
        removed=[f for f in before if _key(f) not in new_keys],
        moves=owner_moves(old, new, as_of) if same_space else None,
    )


def owner_moves(old: Bundle, new: Bundle, as_of: dt.date) -> list[OwnerMove]:
    """Every box whose set of accountable partners differs between the versions."""
    was, now = compile_bundle(old, [as_of]), compile_bundle(new, [as_of])
    offset = len(was.claims)
    atoms = _accountable(was, 0) + _accountable(now, offset)
    space = new.space
    arrangement = arrange([d.axis for d in space.dimensions], atoms)
    moved: dict[tuple[tuple[str, ...], tuple[str, ...]], list[Box]] = {}
    for box, lid in arrangement.leaves:
        label = arrangement.labels[lid]
        owners_before = _partners(old, was, (c for c in label if c < offset))
        owners_after = _partners(new, now, (c - offset for c in label if c >= offset))
        if owners_before != owners_after:
            moved.setdefault((owners_before, owners_after), []).append(box)
    out = [
        OwnerMove(
            region=space.region(box),
            cells=space.box_cells(box),
            example=space.example(box),
            before=list(owners_before),
            after=list(owners_after),
        )
        for (owners_before, owners_after), boxes in sorted(moved.items())
        for box in merged([d.size for d in space.dimensions], boxes)
    ]
    return out


def _accountable(compiled: Compiled, offset: int) -> list[Atom]:
    claims = compiled.claims
    return [
        Atom(a.nodes, a.claim + offset, a.negative)
        for a in compiled.atoms
        if claims[a.claim].kind == "accountable"
    ]


def _partners(bundle: Bundle, compiled: Compiled, claims: Iterable[int]) -> tuple[str, ...]:
    contracts = {compiled.claims[c].contract for c in claims}
    return tuple(sorted({bundle.contracts[k].spec.partner for k in contracts}))


def _key(finding: Finding) -> bytes:
    return msgspec.json.encode(
        (finding.rule, finding.severity, finding.partners, finding.region, finding.date)
    )
