"""What a change does before it lands: findings added and removed, and every box
whose accountable owner moves, between two versions of one alliance.

Each version is compiled and arranged once, for its audit. Owners can move only
inside the boxes of the accountable claims one version has and the other has not,
so the moves come from one more arrangement of both versions' accountable claims
(the new version's numbered after the old's), each clipped to the bounding box of
those changed claims: for a change of one contract that is a small corner of the
space. The work is at most that of one audit, never that of the cells.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left

import msgspec

from registry.bundle import Bundle
from registry.claims import Compiled, compile_bundle
from registry.dimensions import Axis, Box
from registry.engine import Atom, arrange, merged, paused_gc
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
    with paused_gc:
        was, now = compile_for_audit(old, as_of), compile_for_audit(new, as_of)
        before = audit_arranged(was, was.arrange(), as_of).findings
        after = audit_arranged(now, now.arrange(), as_of).findings
        same_space = msgspec.json.encode(old.alliance.spec.dimensions) == msgspec.json.encode(
            new.alliance.spec.dimensions
        )
        moves = _moves(was, now) if same_space else None
    old_keys, new_keys = {_key(f) for f in before}, {_key(f) for f in after}
    return Plan(
        alliance=new.name,
        as_of=as_of.isoformat(),
        added=[f for f in after if _key(f) not in old_keys],
        removed=[f for f in before if _key(f) not in new_keys],
        moves=moves,
    )


def owner_moves(old: Bundle, new: Bundle, as_of: dt.date) -> list[OwnerMove]:
    """Every box whose set of accountable partners differs between the versions
    (which must have the same dimension trees)."""
    with paused_gc:
        return _moves(compile_bundle(old, [as_of]), compile_bundle(new, [as_of]))


# A claim as far as owners go: its partner and its atoms as (negative, nodes).
_Identity = tuple[str, tuple[tuple[bool, tuple[tuple[int, ...], ...]], ...]]


def _moves(was: Compiled, now: Compiled) -> list[OwnerMove]:
    """The owner moves on the first day of both compilations' time axes."""
    old_claims, new_claims = _accountable(was), _accountable(now)
    changed = old_claims.keys() ^ new_claims.keys()
    if not changed:
        return []
    space = now.bundle.space
    axes = [d.axis for d in space.dimensions]
    # Per dimension, the nodes the changed claims' positive atoms name: outside
    # their product the same claims cover every cell in both versions.
    focus = []
    for d, axis in enumerate(axes):
        named = {
            n for _, atoms in changed for negative, nodes in atoms if not negative for n in nodes[d]
        }
        focus.append(_Focus(axis, named))
    offset = len(was.claims)
    atoms = [
        Atom(clipped, claim + shift, negative)
        for found, shift in ((old_claims, 0), (new_claims, offset))
        for (_, identity_atoms), claims in found.items()
        for negative, nodes in identity_atoms
        if (clipped := _clip(focus, nodes)) is not None
        for claim in claims
    ]
    arrangement = arrange(axes, atoms)
    partners = [info.partner for info in was.claims] + [info.partner for info in now.claims]
    moved: dict[tuple[tuple[str, ...], tuple[str, ...]], list[Box]] = {}
    for box, lid in arrangement.leaves:
        label = arrangement.labels[lid]
        owners_before = tuple(sorted({partners[c] for c in label if c < offset}))
        owners_after = tuple(sorted({partners[c] for c in label if c >= offset}))
        if owners_before != owners_after:
            moved.setdefault((owners_before, owners_after), []).append(box)
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


def _accountable(compiled: Compiled) -> dict[_Identity, list[int]]:
    """The accountable claims in force on the first day, by identity."""
    atoms: dict[int, list[tuple[bool, tuple[tuple[int, ...], ...]]]] = {}
    for atom in compiled.atoms:
        atoms.setdefault(atom.claim, []).append((atom.negative, atom.nodes))
    out: dict[_Identity, list[int]] = {}
    for claim, info in enumerate(compiled.claims):
        if info.kind == "accountable" and 0 in compiled.active[claim]:
            out.setdefault((info.partner, tuple(atoms[claim])), []).append(claim)
    return out


class _Focus:
    """One dimension's nodes of the focus box, to clip atoms to it."""

    def __init__(self, axis: Axis, named: set[int]) -> None:
        path = axis.path
        # Of nested nodes the outer one holds the leaves of both.
        outer = [n for n in named if not any(a in named for a in path[n][:-1])]
        outer.sort(key=axis.lo.__getitem__)
        self.whole = 0 in named
        self.nodes = frozenset(outer)
        self.los = [axis.lo[n] for n in outer]
        self.outer = outer
        self.axis = axis
        self._memo: dict[tuple[int, ...], tuple[int, ...]] = {}

    def clip(self, nodes: tuple[int, ...]) -> tuple[int, ...]:
        """The nodes of both: of two nested nodes the inner one (none: outside)."""
        if self.whole:
            return nodes
        found = self._memo.get(nodes)
        if found is None:
            axis, inside, out = self.axis, self.nodes, []
            for n in nodes:
                if any(a in inside for a in axis.path[n]):
                    out.append(n)  # inside a node of the focus
                else:  # the focus nodes below it: its leaves are [lo, hi)
                    i = bisect_left(self.los, axis.lo[n])
                    while i < len(self.outer) and self.los[i] < axis.hi[n]:
                        out.append(self.outer[i])
                        i += 1
            found = self._memo[nodes] = tuple(sorted(out))
        return found


def _clip(
    focus: list[_Focus], nodes: tuple[tuple[int, ...], ...]
) -> tuple[tuple[int, ...], ...] | None:
    out = []
    for dim, mine in zip(focus, nodes, strict=True):
        clipped = dim.clip(mine)
        if not clipped:
            return None
        out.append(clipped)
    return tuple(out)


def _key(finding: Finding) -> bytes:
    return msgspec.json.encode(
        (finding.rule, finding.severity, finding.partners, finding.region, finding.date)
    )
