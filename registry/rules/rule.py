"""What a rule is: its id, default severity, parameters, when it fires and how it
finds that out, its message, and the spec keys that cause its findings.

A cell rule reads one region's timeline (what holds on its cells on the audit's
days) and gives a label, or None where it does not fire; the audit merges the
regions of one label into findings. A forecast rule reads the timeline too, and
the audit's outlook: what the cell rules will say there on later days. A document
rule checks one contract or one waiver and gives each finding's message, partners
and documents.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, Literal, NamedTuple

from registry.model import Duration, Severity

if TYPE_CHECKING:
    from registry.bundle import Bundle
    from registry.claims import ClaimInfo, Compiled, State
    from registry.model import Contract, Expectation, Waiver

SEVERITY_RANK = {"off": 0, "info": 1, "warning": 2, "error": 3}


@dataclass(slots=True)  # not frozen: one is read per distinct timeline, and frozen costs
class Timeline:
    """What holds on a region's cells on the audit's days: on `as_of` (`now`, and
    its accountable partners, `owners`), then on each later day something changes
    (`changes`: the day and the accountable partners from then on)."""

    now: State
    owners: frozenset[str]
    changes: tuple[tuple[dt.date, frozenset[str]], ...]
    claims: Sequence[ClaimInfo]
    states: tuple[State, ...]  # from segment `start` of the time axis on
    compiled: Compiled
    start: int = 0

    @classmethod
    def read(cls, states: tuple[State, ...], compiled: Compiled, start: int = 0) -> Timeline:
        """The timeline of a leaf box: its state on each segment of the audit's time axis
        from segment `start` on."""
        contracts = compiled.bundle.contracts
        now = states[0]
        owners = frozenset(contracts[k].spec.partner for k in now.accountable)
        changes: tuple[tuple[dt.date, frozenset[str]], ...] = ()
        # Most boxes hold one state all along (equal states are one object).
        if states.count(now) != len(states):
            cuts = compiled.cuts
            changes = tuple(
                (
                    cuts[start + i],
                    frozenset(contracts[k].spec.partner for k in states[i].accountable),
                )
                for i in range(1, len(states))
                if states[i] is not states[i - 1]
            )
        return cls(now, owners, changes, compiled.claims, states, compiled, start)

    def on(self, day: dt.date) -> Timeline:
        """The timeline as an audit of a later `day` reads it, looking no further than
        this one does (the end of the audit's horizon)."""
        segment = self.compiled.segment(day)
        return Timeline.read(self.states[segment - self.start :], self.compiled, segment)


@dataclass(frozen=True, slots=True)
class Label:
    """What a cell rule says of a region: the partners involved, the day it happens
    (`future-*`, `waiver-expiring`), the (owner, other) pairs (`gray-zone`) and the
    (waiver, rule) of the waivers expiring (`waiver-expiring`). The regions of one
    rule with the same partners, day and waivers make one finding (§4)."""

    partners: frozenset[str]
    date: str | None = None
    pairs: frozenset[tuple[str, str]] = frozenset()
    expiring: frozenset[tuple[str, str]] = frozenset()

    @property
    def accountable(self) -> frozenset[str]:
        """The partners whose contracts the finding names: of a pair, its owner."""
        return frozenset(owner for owner, _ in self.pairs) if self.pairs else self.partners


class Said(NamedTuple):
    """One finding of a document rule (an expectation's names the cells it is about)."""

    message: str
    partners: list[str]
    documents: list[str]
    region: dict[str, list[str]] | None = None
    cells: int | None = None
    example: dict[str, str] | None = None
    date: str | None = None


@dataclass(frozen=True, slots=True)
class Context:
    """What a document rule knows besides its document: the alliance, the day, and
    which waivers silenced a cell rule somewhere."""

    bundle: Bundle
    as_of: dt.date
    used_waivers: frozenset[int]

    def parameters(self, rule: str) -> Mapping[str, Duration]:
        """The rule's parameters under the alliance's policy."""
        return self.bundle.policy.parameters.get(rule, {})


@dataclass(frozen=True, slots=True)
class Outlook:
    """What a forecast rule knows besides a region's timeline: the waivers live on the
    audit's day that expire within its horizon (by index in the bundle), and what a
    cell rule says of a timeline read on a later day (`Timeline.on`), after the
    waivers live that day: None where it does not fire or they silence it."""

    expiring: Mapping[int, Waiver]
    fires: Callable[[str, Timeline, dt.date], Label | None]


# Which documents a cell finding names: the Alliance (whose dimensions or customer
# face cause it), the contracts of its accountable partners in force on the audit's
# day or on the finding's date, or the waivers its label names.
Documents = Literal["alliance", "contracts now", "contracts on its date", "waivers"]


@dataclass(frozen=True, eq=False, kw_only=True)
class Rule:
    id: str
    severity: Severity  # by default
    fires_when: str
    # The spec keys that cause a finding: SARIF points at the first one its document has.
    causes: tuple[str, ...]
    parameters: Mapping[str, Duration] = field(default_factory=dict)  # name -> default
    cell: ClassVar[bool] = False


@dataclass(frozen=True, eq=False, kw_only=True)
class RegionRule(Rule):
    """A rule whose findings are regions of cells."""

    message: Callable[[Label, str], str]  # of a finding's label and its cells in words
    documents: Documents
    cell: ClassVar[bool] = True


@dataclass(frozen=True, eq=False, kw_only=True)
class CellRule(RegionRule):
    detect: Callable[[Timeline], Label | None]


@dataclass(frozen=True, eq=False, kw_only=True)
class ForecastRule(RegionRule):
    """Says what the cell rules will say of a region later, within the horizon."""

    foresee: Callable[[Timeline, Outlook], Label | None]

    def detector(self, outlook: Outlook) -> Callable[[Timeline], Label | None]:
        """The rule as a cell rule reads, given the audit's outlook."""
        return lambda timeline: self.foresee(timeline, outlook)


@dataclass(frozen=True, eq=False, kw_only=True)
class ContractRule(Rule):
    """Checks each contract in force on the audit's day or later."""

    check: Callable[[Contract, Context], Iterable[Said]]


@dataclass(frozen=True, eq=False, kw_only=True)
class WaiverRule(Rule):
    """Checks each waiver (and its index in the bundle)."""

    check: Callable[[int, Waiver, Context], Iterable[Said]]


@dataclass(frozen=True, eq=False, kw_only=True)
class ExpectationRule(Rule):
    """Checks the alliance's Expectations (all at once: they share one owner index)."""

    check: Callable[[Sequence[Expectation], Context], Iterable[Said]]
