"""The contract language's semantics, cell by cell and day by day.

A brute-force reading of §2 and §3 of the contract language, straight from a
Bundle's documents: no engine, no boxes, no time segments. It lists every cell,
so it serves small alliances only: the property tests compare the engine with it.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from registry.bundle import Bundle
from registry.model import Claim, Contract, FaceAuthority, Promise

Cell = tuple[str, ...]  # one leaf per dimension, in the alliance's dimension order
Where = Mapping[str, Sequence[str]]
# Per firing rule on a cell: (the partners the finding names, its date or None).
Label = tuple[frozenset[str], str | None]


def tree_nodes(tree: Any) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Every node of a dimension tree -> the leaves under it, in tree order; and
    every node -> its children ("" is the dimension itself)."""
    leaves: dict[str, list[str]] = {}
    children: dict[str, list[str]] = {}

    def visit(name: str, subtree: Any) -> list[str]:
        if isinstance(subtree, Mapping):
            kids = {str(k): v for k, v in subtree.items()}
        else:
            kids = dict.fromkeys(map(str, subtree or []))
        children[name] = list(kids)
        under = [leaf for kid, below in kids.items() for leaf in visit(kid, below)]
        leaves[name] = under or [name]
        return leaves[name]

    visit("", tree)
    del leaves[""]
    return leaves, children


class Oracle:
    def __init__(self, bundle: Bundle) -> None:
        self.bundle = bundle
        spec = bundle.alliance.spec
        self.dims = list(spec.dimensions)
        trees = {dim: tree_nodes(tree) for dim, tree in spec.dimensions.items()}
        self.nodes = {dim: nodes for dim, (nodes, _) in trees.items()}
        self.children = {dim: children for dim, (_, children) in trees.items()}
        self.leaves = {
            dim: [n for n, kids in children.items() if n and not kids]
            for dim, (_, children) in trees.items()
        }
        self.cells: list[Cell] = list(itertools.product(*(self.leaves[d] for d in self.dims)))

    # -- selectors ---------------------------------------------------------------

    def expand(self, region: Where) -> set[Cell]:
        """The cells of a selector (or of a finding's region): omitted dims are whole."""
        return {c for c in self.cells if self.covers(region, c)}

    def covers(self, where: Where | None, cell: Cell) -> bool:
        if where is None:
            return True
        return all(
            any(cell[self.dims.index(dim)] in self.nodes[dim][n] for n in names)
            for dim, names in where.items()
        )

    def claims(self, claim: Claim, cell: Cell) -> bool:
        return self.covers(claim.where, cell) and not any(
            self.covers(e, cell) for e in claim.except_
        )

    # -- §2: what holds on a cell on a day ---------------------------------------

    def contracts_for(self, cell: Cell, day: dt.date) -> list[Contract]:
        """The active contracts whose accountable claims cover the cell."""
        return [
            c
            for c in self.bundle.contracts
            if active(c, day) and any(self.claims(a, cell) for a in c.spec.accountable)
        ]

    def accountable(self, cell: Cell, day: dt.date) -> frozenset[str]:
        return frozenset(c.spec.partner for c in self.contracts_for(cell, day))

    def face(self, cell: Cell) -> frozenset[str]:
        return frozenset(
            f.partner for f in self.bundle.alliance.spec.customer_face if self.claims(f, cell)
        )

    def scope(self, cell: Cell, day: dt.date) -> frozenset[str]:
        return frozenset(
            c.spec.partner
            for c in self.bundle.contracts
            if active(c, day) and any(self.claims(s, cell) for s in c.spec.scope)
        )

    def consulted(self, partner: str, cell: Cell, day: dt.date) -> frozenset[str]:
        """The consulted teams of the partner's contracts for the cell, pooled."""
        return frozenset(
            entry.partner
            for c in self.contracts_for(cell, day)
            if c.spec.partner == partner
            for entry in c.spec.consulted
            if self.covers(entry.where, cell)
        )

    def has_handoff(self, partner: str, cell: Cell, day: dt.date) -> bool:
        return any(
            self.covers(h.where, cell)
            for c in self.contracts_for(cell, day)
            if c.spec.partner == partner
            for h in c.spec.handoffs
        )

    # -- §3: which rules fire ----------------------------------------------------

    def future_days(self, as_of: dt.date, start: dt.date | None = None) -> list[dt.date]:
        """The contract from/until days d with as_of < d and (d - start) <= horizon
        (`start` the audit's day, `as_of` by default): the only days inside the
        horizon on which an answer can change."""
        horizon = self.bundle.policy.horizon
        start = start or as_of
        days = set()
        for c in self.bundle.contracts:
            if c.spec.effective is not None:
                days |= {c.spec.effective.from_, c.spec.effective.until} - {None}
        return sorted(d for d in days if d is not None and as_of < d and d - start <= horizon)

    def raw(self, cell: Cell, as_of: dt.date) -> dict[str, Label]:
        """Every cell rule firing on the cell, before severities and waivers."""
        out = self.on_day(cell, as_of, as_of)
        forecast = self.forecast(cell, as_of)
        if forecast is not None:
            out["waiver-expiring"] = forecast[:2]
        return out

    def on_day(self, cell: Cell, as_of: dt.date, start: dt.date) -> dict[str, Label]:
        """Every cell rule but the forecast firing on the cell as an audit of `as_of`
        reads it, looking no further ahead than the horizon from `start`."""
        out: dict[str, Label] = {}
        owners = self.accountable(cell, as_of)
        face = self.face(cell)
        if not owners:
            out["coverage-gap"] = (frozenset(), None)
        if len(owners) > 1:
            out["coverage-overlap"] = (owners, None)
        if not face:
            out["face-gap"] = (frozenset(), None)
        if len(face) > 1:
            out["face-overlap"] = (face, None)
        for day in self.future_days(as_of, start):
            later = self.accountable(cell, day)
            if owners and not later and "future-gap" not in out:
                out["future-gap"] = (owners, day.isoformat())
            if len(owners) < 2 and len(later) > 1 and "future-overlap" not in out:
                out["future-overlap"] = (later, day.isoformat())
        scope = self.scope(cell, as_of)
        if outside := frozenset(p for p in owners if p not in scope):
            out["outside-scope"] = (outside, None)
        gray = {
            (owner, other)
            for owner in owners
            for other in scope
            if other != owner and other not in self.consulted(owner, cell, as_of)
        }
        if gray:
            out["gray-zone"] = (frozenset(p for pair in gray for p in pair), None)
        missing = frozenset(
            p for p in owners if p not in face and not self.has_handoff(p, cell, as_of)
        )
        if missing:
            out["handoff-missing"] = (missing, None)
        return out

    def forecast(self, cell: Cell, as_of: dt.date) -> tuple[frozenset[str], str, set[str]] | None:
        """waiver-expiring on the cell: the first day within the horizon on which a
        waiver live on `as_of` and covering the cell expires and its rule fires there,
        no waiver live that day silencing it. The partners that rule's findings name,
        the day, and the waivers expiring so."""
        horizon = self.bundle.policy.horizon
        severities = self.bundle.policy.severities
        expiring = [
            w
            for w in self.bundle.waivers
            if as_of < w.spec.expires
            and w.spec.expires - as_of <= horizon
            and w.spec.rule != "waiver-expiring"
            and self.covers(w.spec.where, cell)
        ]
        for day in sorted({w.spec.expires for w in expiring}):
            then = self.on_day(cell, day, as_of)
            partners: set[str] = set()
            named = set()
            for w in expiring:
                rule = w.spec.rule
                if w.spec.expires != day or rule not in then or severities[rule] == "off":
                    continue
                if not self.silencing(rule, cell, day):
                    named.add(w.ref)
                    partners |= then[rule][0]
            if named:
                return frozenset(partners), day.isoformat(), named
        return None

    def silencing(self, rule: str, cell: Cell, as_of: dt.date) -> set[str]:
        """The live waivers of the rule whose region holds the cell."""
        return {
            w.name
            for w in self.bundle.waivers
            if w.spec.rule == rule and as_of < w.spec.expires and self.covers(w.spec.where, cell)
        }

    def audit(self, as_of: dt.date) -> Audit:
        severities = self.bundle.policy.severities
        fired: dict[str, dict[Cell, Label]] = {}
        waived: set[Cell] = set()
        used: set[str] = set()
        owned = 0
        for cell in self.cells:
            owned += len(self.accountable(cell, as_of)) == 1
            for rule, label in self.raw(cell, as_of).items():
                if severities[rule] == "off":
                    continue
                if silencing := self.silencing(rule, cell, as_of):
                    waived.add(cell)
                    used |= silencing
                else:
                    fired.setdefault(rule, {})[cell] = label
        return Audit(fired, owned, waived, used)

    # -- §3: face-authority, read cell by cell --------------------------------------

    def owes_face_authority(self, contract: Contract) -> bool:
        """Accountable for a cell whose face is not its partner (a face gap counts)."""
        return any(
            any(self.claims(a, cell) for a in contract.spec.accountable)
            and contract.spec.partner not in self.face(cell)
            for cell in self.cells
        )

    def face_authority(self, as_of: dt.date) -> set[str]:
        """The contracts face-authority names: in force on `as_of` or later, owing the
        face `faceAuthority` and granting less."""
        required = self.bundle.alliance.spec.face_authority
        return {
            c.ref
            for c in self.bundle.contracts
            if required is not None
            and current(c, as_of)
            and short(required, c.spec.grants_face)
            and self.owes_face_authority(c)
        }

    # -- §5: owner resolution ----------------------------------------------------

    def status(self, cells: set[Cell], day: dt.date) -> tuple[str, frozenset[str]]:
        """The status of a query covering these cells, and the partners seen."""
        sets = {self.accountable(c, day) for c in cells}
        seen = frozenset(p for s in sets for p in s)
        if len(sets) > 1:
            return "ambiguous", seen
        if not seen:
            return "unowned", seen
        return ("owned" if len(seen) == 1 else "conflict"), seen

    def waivers_meeting(self, cells: set[Cell], day: dt.date) -> list[str]:
        """The waivers live on `day` whose region holds one of the cells, by name."""
        return sorted(
            w.name
            for w in self.bundle.waivers
            if day < w.spec.expires and any(self.covers(w.spec.where, c) for c in cells)
        )

    def first_cell(self, query: Mapping[str, str]) -> Cell:
        """The query's first cell in tree order, whose details an answer gives."""
        return tuple(
            self.nodes[dim][query[dim]][0] if dim in query else self.leaves[dim][0]
            for dim in self.dims
        )

    # -- §1 Expectation: rule expectation-failed -----------------------------------

    def broken(self, promise: Promise, day: dt.date) -> list[str]:
        """Each field of the promise the owner answer breaks: `FIELD: expected X, got Y`."""
        status, seen = self.status(self.query_cells(promise.where), day)
        cell = self.first_cell(promise.where)
        faces = self.face(cell)
        owner = min(seen) if status == "owned" else None
        handoff = None
        contracts = sorted(self.contracts_for(cell, day), key=lambda c: c.name)
        if owner is not None:
            covering = sorted(
                (c.name, i, h)
                for c in contracts
                for i, h in enumerate(c.spec.handoffs)
                if self.covers(h.where, cell)
            )
            handoff = covering[0][2] if covering else None
        teams = sorted(self.consulted(owner, cell, day)) if owner else []
        if owner is not None:
            levels = self.bundle.escalation(contracts[0])
            reached = sorted({lv.to[10:] for lv in levels if lv.to.startswith("authority:")})
        else:
            reached = [self.bundle.alliance.spec.authority]
        got = {
            "status": status,
            "owner": owner or f"none ({status})",
            "face": min(faces) if len(faces) == 1 else "none",
            "handoff.mode": handoff.mode if handoff else "no handoff",
            "handoff.endpoint": handoff.endpoint if handoff else "no handoff",
            "consulted": ", ".join(teams) or "none",
        }
        wanted = {
            "status": promise.status,
            "owner": promise.owner,
            "face": promise.face,
            "handoff.mode": promise.handoff.mode if promise.handoff else None,
            "handoff.endpoint": promise.handoff.endpoint if promise.handoff else None,
            "consulted": None
            if promise.consulted is None
            else ", ".join(sorted(set(promise.consulted))) or "none",
        }
        out = [
            f"{name}: expected {wanted[name]}, got {got[name]}"
            for name in got
            if wanted[name] is not None and wanted[name] != got[name]
        ]
        if promise.escalates_to is not None and promise.escalates_to not in reached:
            out.append(f"escalatesTo: expected {promise.escalates_to}, got {', '.join(reached)}")
        return out

    def query_cells(self, query: Mapping[str, str]) -> set[Cell]:
        return self.expand({dim: [node] for dim, node in query.items()})

    def every_node(self) -> Iterator[tuple[str, str]]:
        for dim in self.dims:
            for node in self.nodes[dim]:
                yield dim, node


@dataclass
class Audit:
    fired: dict[str, dict[Cell, Label]]  # rule -> firing cell -> label, after waivers
    owned: int
    waived: set[Cell]
    used_waivers: set[str]  # the waivers that silenced something


def active(contract: Contract, day: dt.date) -> bool:
    effective = contract.spec.effective
    if effective is None:
        return True
    start, end = effective.from_, effective.until
    return (start is None or start <= day) and (end is None or day < end)


def current(contract: Contract, as_of: dt.date) -> bool:
    """In force on `as_of` or later."""
    effective = contract.spec.effective
    return effective is None or effective.until is None or as_of < effective.until


def short(required: FaceAuthority, granted: FaceAuthority | None) -> bool:
    """Whether `granted` gives the face less than `required`."""
    have = granted or FaceAuthority()
    need_time, time = required.compel_response_within, have.compel_response_within
    need_credit, credit = required.credit_up_to, have.credit_up_to
    return (
        (need_time is not None and (time is None or time > need_time))
        or (
            need_credit is not None
            and (
                credit is None
                or credit.currency != need_credit.currency
                or credit.amount < need_credit.amount
            )
        )
        or (required.dispatch and not have.dispatch)
    )
