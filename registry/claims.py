"""A bundle compiled into atoms for the engine: every `where` one or more atoms
(a node per dimension), every `except` negative atoms of its claim.

Time is not a dimension of the arrangement: each claim carries the segments of
the time axis on which it is active, and a label (the claims covering a leaf
box) turns into one `State` per segment. The time axis is cut at the days
contracts start and end, the only days on which an answer can change; segment
`i` runs from `cuts[i]` to the next cut.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from registry.bundle import Bundle, is_active
from registry.dimensions import Axis, Space
from registry.engine import Arrangement, Atom, arrange

ClaimKind = Literal["accountable", "scope", "face", "consult", "handoff", "waiver"]


@dataclass(frozen=True, slots=True)
class ClaimInfo:
    kind: ClaimKind
    partner: str  # the claim's partner: the contract's, the face's; "" for waivers
    contract: int = -1  # index into bundle.contracts
    entry: int = 0  # which handoff, consulted entry or waiver
    other: str = ""  # the consulted partner


@dataclass(frozen=True, slots=True)
class State:
    """What holds on one cell on one day."""

    accountable: frozenset[int]  # contract indices
    scope: frozenset[str]
    face: frozenset[str]
    consults: frozenset[int]  # claim ids
    handoffs: frozenset[int]  # claim ids
    waivers: frozenset[int]  # waiver indices


@dataclass
class Compiled:
    bundle: Bundle
    cuts: list[dt.date]
    claims: list[ClaimInfo] = field(default_factory=list)
    active: list[frozenset[int]] = field(default_factory=list)  # per claim: its segments
    atoms: list[Atom] = field(default_factory=list)
    # Handoffs and consulted entries without `where` cover every cell of their contract.
    open_handoffs: dict[int, list[int]] = field(default_factory=dict)
    open_consults: dict[int, list[int]] = field(default_factory=dict)
    # States by the meanings (`_meaning_ids`) of the claims in force.
    _states: dict[frozenset[int], State] = field(default_factory=dict, repr=False)
    _meanings: list[int] | None = field(default=None, repr=False)
    _interned: dict[State, State] = field(default_factory=dict, repr=False)
    _lasting: frozenset[int] | None = field(default=None, repr=False)  # claims active always

    @property
    def sizes(self) -> tuple[int, ...]:
        return tuple(d.size for d in self.bundle.space.dimensions)

    def arrange(self) -> Arrangement:
        return arrange([d.axis for d in self.bundle.space.dimensions], self.atoms)

    def segment(self, day: dt.date) -> int:
        return max(0, bisect_right(self.cuts, day) - 1)

    def timeline(self, covering: frozenset[int]) -> tuple[State, ...]:
        """What holds on a leaf box covered by these claims, segment by segment."""
        if self._lasting is None:
            everywhen = frozenset(range(len(self.cuts)))
            self._lasting = frozenset(c for c, time in enumerate(self.active) if time == everywhen)
        if covering <= self._lasting:  # most boxes: claims in force all along, one state
            return (self._state_of(covering),) * len(self.cuts)
        return tuple(self.state_at(covering, i) for i in range(len(self.cuts)))

    def state_at(self, covering: frozenset[int], segment: int) -> State:
        active = self.active
        return self._state_of(frozenset(c for c in covering if segment in active[c]))

    def _state_of(self, now: frozenset[int]) -> State:
        if self._meanings is None:
            self._meanings = self._meaning_ids()
        key = frozenset(map(self._meanings.__getitem__, now))
        found = self._states.get(key)
        if found is None:
            state = self._state(now)
            # Equal states as one object: callers compare and memoize by them.
            found = self._states[key] = self._interned.setdefault(state, state)
        return found

    def _meaning_ids(self) -> list[int]:
        """Per claim, an id of what it adds to a state: the many accountable claims
        of one contract add the contract, so their states are computed once."""
        ids: dict[tuple[str, object], int] = {}
        out = []
        for c, info in enumerate(self.claims):
            kind = info.kind
            if kind in ("scope", "face"):
                key: tuple[str, object] = (kind, info.partner)
            elif kind == "accountable":
                key = (kind, info.contract)
            elif kind == "waiver":
                key = (kind, info.entry)
            else:  # consulted and handoff entries count one by one
                key = (kind, c)
            out.append(ids.setdefault(key, len(ids)))
        return out

    def _state(self, covering: frozenset[int]) -> State:
        claims = self.claims
        accountable: set[int] = set()
        scope: set[str] = set()
        face: set[str] = set()
        consults: set[int] = set()
        handoffs: set[int] = set()
        waivers: set[int] = set()
        for c in covering:
            info = claims[c]
            kind = info.kind
            if kind == "accountable":
                accountable.add(info.contract)
            elif kind == "scope":
                scope.add(info.partner)
            elif kind == "face":
                face.add(info.partner)
            elif kind == "consult":
                consults.add(c)
            elif kind == "handoff":
                handoffs.add(c)
            else:
                waivers.add(info.entry)
        for contract in accountable:
            consults.update(self.open_consults.get(contract, ()))
            handoffs.update(self.open_handoffs.get(contract, ()))
        # Entries of contracts that claim nothing here do not apply here.
        consults = {c for c in consults if claims[c].contract in accountable}
        handoffs = {c for c in handoffs if claims[c].contract in accountable}
        return State(
            frozenset(accountable),
            frozenset(scope),
            frozenset(face),
            frozenset(consults),
            frozenset(handoffs),
            frozenset(waivers),
        )


Where = Mapping[str, Sequence[str]]


class Atoms:
    """Turns selectors into engine atoms; selectors repeat (a scope and an
    accountable claim often share one), so each dimension's node list is cached."""

    def __init__(self, space: Space) -> None:
        self.space = space
        # Per dimension: node names -> node ids.
        self._cache: list[dict[tuple[str, ...], tuple[int, ...]]] = [{} for _ in space.dimensions]

    def of(self, where: Where | None, excepts: Sequence[Where], claim: int) -> list[Atom]:
        """A claim's atom and one negative atom per `except`, each cut to the claim's
        own box: an `except` reaching beyond the claim would only split space for
        nothing."""
        box = self.nodes(where)
        out = [Atom(box, claim)]
        for excluded in excepts:
            cut = tuple(
                _meet(dim.axis, mine, theirs)
                for dim, mine, theirs in zip(
                    self.space.dimensions, box, self.nodes(excluded), strict=True
                )
            )
            if all(cut):
                out.append(Atom(cut, claim, negative=True))
        return out

    def nodes(self, where: Where | None) -> tuple[tuple[int, ...], ...]:
        space = self.space
        out: list[tuple[int, ...]] = [(0,)] * len(space.dimensions)
        # Visit the dimensions the selector names; the others are whole.
        for name, names in (where or {}).items():
            d = space.by_name.get(name)
            if d is None or names is None:
                continue
            cache = self._cache[d]
            key = tuple(names)
            found = cache.get(key)
            if found is None:
                found = cache[key] = space.dimensions[d].axis.nodes_of(names)
            out[d] = found
        return tuple(out)


def _meet(axis: Axis, a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...]:
    """The nodes of both selections: of two nested nodes the inner one."""
    path = axis.path
    out = []
    for x in a:
        for y in b:
            if x in path[y]:
                out.append(y)
            elif y in path[x]:
                out.append(x)
    return tuple(sorted(set(out)))


def compile_bundle(bundle: Bundle, cuts: Sequence[dt.date], *, scope: bool = True) -> Compiled:
    """Atoms for every claim, on a time axis cut at `cuts` (the first is the start).
    `scope=False` leaves the contracts' scope claims out: only the rules on scope
    (outside-scope, gray-zone) read `State.scope`, so an owner index or a coverage
    matrix answers the same without them, on fewer and coarser regions."""
    out = Compiled(bundle, list(cuts))
    atoms = Atoms(bundle.space)
    always = frozenset(range(len(cuts)))

    def add(kind: ClaimKind, where: Where | None, excepts: Sequence[Where], time: frozenset[int],
            info: ClaimInfo) -> None:  # fmt: skip
        claim = len(out.claims)
        out.claims.append(info)
        out.active.append(time)
        out.atoms.extend(atoms.of(where, excepts, claim))

    def add_open(time: frozenset[int], info: ClaimInfo) -> int:
        out.claims.append(info)
        out.active.append(time)
        return len(out.claims) - 1

    for claim in bundle.alliance.spec.customer_face:
        add("face", claim.where, claim.except_, always, ClaimInfo("face", claim.partner))
    for i, waiver in enumerate(bundle.waivers):
        add("waiver", waiver.spec.where, [], always, ClaimInfo("waiver", "", entry=i))
    for k, contract in enumerate(bundle.contracts):
        time = frozenset(i for i, day in enumerate(cuts) if is_active(contract, day))
        if not time:
            continue
        spec, partner = contract.spec, contract.spec.partner
        for scoped in spec.scope if scope else ():
            add("scope", scoped.where, scoped.except_, time, ClaimInfo("scope", partner, k))
        for owned in spec.accountable:
            add("accountable", owned.where, owned.except_, time,
                ClaimInfo("accountable", partner, k))  # fmt: skip
        for i, consulted in enumerate(spec.consulted):
            info = ClaimInfo("consult", partner, k, i, consulted.partner)
            if consulted.where is None:
                out.open_consults.setdefault(k, []).append(add_open(time, info))
            else:
                add("consult", consulted.where, [], time, info)
        for i, handoff in enumerate(spec.handoffs):
            info = ClaimInfo("handoff", partner, k, i)
            if handoff.where is None:
                out.open_handoffs.setdefault(k, []).append(add_open(time, info))
            else:
                add("handoff", handoff.where, [], time, info)
    return out


def change_days(bundle: Bundle) -> list[dt.date]:
    days: set[dt.date] = set()
    for contract in bundle.contracts:
        effective = contract.spec.effective
        if effective is not None:
            days.update(d for d in (effective.from_, effective.until) if d is not None)
    return sorted(days)


def horizon_end(as_of: dt.date, horizon: dt.timedelta) -> dt.date:
    """The last day within the horizon: `asOf + horizon`."""
    # A horizon of whole days plus a part (P1DT12H) reaches no further whole day;
    # one that runs past the calendar's last day stops there.
    return as_of + min(dt.timedelta(days=horizon.days), dt.date.max - as_of)


def window_cuts(bundle: Bundle, as_of: dt.date, horizon: dt.timedelta) -> list[dt.date]:
    """`as_of`, then every change day in (as_of, as_of + horizon]."""
    end = horizon_end(as_of, horizon)
    return [as_of, *(d for d in change_days(bundle) if as_of < d <= end)]


def all_time_cuts(bundle: Bundle) -> list[dt.date]:
    """Every day an owner answer can change: contract bounds and waiver expiries."""
    days = {*change_days(bundle), *(w.spec.expires for w in bundle.waivers)}
    return [dt.date.min, *sorted(d for d in days if d > dt.date.min)]
