"""What a change does before it lands: findings added and removed, and every box
whose accountable owner moves, between two versions of one alliance.

Both versions are arranged at once (the new version's claims numbered after the
old's): equal atoms travel as one entry, so for versions that share most claims
this costs about one audit's arrangement. Each version's audit reads its own
claims off it (`Arrangement.project`), and the owner moves are the leaves whose
accountable partners differ between the two halves of their label.
"""

from __future__ import annotations

import datetime as dt

import msgspec

from registry.bundle import Bundle
from registry.claims import Compiled
from registry.dimensions import Box
from registry.engine import Arrangement, Atom, arrange, merged, paused_gc
from registry.findings import Finding
from registry.rules import audit_arranged, compile_for_audit


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
    same_space = msgspec.json.encode(old.alliance.spec.dimensions) == msgspec.json.encode(
        new.alliance.spec.dimensions
    )
    with paused_gc:
        was, now = compile_for_audit(old, as_of), compile_for_audit(new, as_of)
        moves: list[OwnerMove] | None = None
        if same_space:
            offset = len(was.claims)
            both = _arrange_both(was, was.atoms, now, now.atoms)
            halves = both.project(0, offset), both.project(offset, offset + len(now.claims))
            moves = _moves(both, was, now)
        else:
            halves = was.arrange(), now.arrange()
        before = audit_arranged(was, halves[0], as_of).findings
        after = audit_arranged(now, halves[1], as_of).findings
    old_keys, new_keys = {_key(f) for f in before}, {_key(f) for f in after}
    return Plan(
        alliance=new.name,
        as_of=as_of.isoformat(),
        added=[f for f in after if _key(f) not in old_keys],
        removed=[f for f in before if _key(f) not in new_keys],
        moves=moves,
    )


def _arrange_both(
    was: Compiled, old_atoms: list[Atom], now: Compiled, new_atoms: list[Atom]
) -> Arrangement:
    offset = len(was.claims)
    shifted = [Atom(a.nodes, a.claim + offset, a.negative) for a in new_atoms]
    return arrange([d.axis for d in now.bundle.space.dimensions], [*old_atoms, *shifted])


def _moves(both: Arrangement, was: Compiled, now: Compiled) -> list[OwnerMove]:
    """The boxes whose accountable partners on the first day of the two time axes
    differ, read off an arrangement of both versions (`_arrange_both`)."""
    offset = len(was.claims)
    # Per claim of either version: its partner if an accountable claim in force, or "".
    owner = [
        info.partner if info.kind == "accountable" and 0 in time else ""
        for compiled in (was, now)
        for info, time in zip(compiled.claims, compiled.active, strict=True)
    ]
    changes: list[tuple[tuple[str, ...], tuple[str, ...]] | None] = []
    for label in both.labels:
        owners_before = tuple(sorted({owner[c] for c in label if c < offset} - {""}))
        owners_after = tuple(sorted({owner[c] for c in label if c >= offset} - {""}))
        changes.append((owners_before, owners_after) if owners_before != owners_after else None)
    moved: dict[tuple[tuple[str, ...], tuple[str, ...]], list[Box]] = {}
    for box, lid in both.leaves:
        change = changes[lid]
        if change is not None:
            moved.setdefault(change, []).append(box)
    space = now.bundle.space
    return [
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


def _key(finding: Finding) -> bytes:
    return msgspec.json.encode(
        (finding.rule, finding.severity, finding.partners, finding.region, finding.date)
    )
