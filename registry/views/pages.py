"""The auditor's page as data: one function builds what the templates show, from a
Bundle, its audit Report and its OwnerIndex, for the web page (`/ui/`) and the
offline report (`registry audit --format html`) alike.

Nothing here imports litestar or the store: the change log comes in as entries.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from registry.bundle import Bundle
from registry.findings import Finding, Report
from registry.resolve import OwnerIndex
from registry.rules import RULES
from registry.views import matrix as matrices
from registry.views.matrix import Matrix

# Owner colours: light enough for dark text, none red, orange or grey (those mark
# gaps, overlaps and waived cells). Classes p0..p19 in registry.css, the first ten
# the most distinct.
PALETTE_SIZE = 20
ROW_BUDGET = 300  # rows the page renders before a subtree needs `expand`
# The offline report shows the same rows (it has no `expand`: what is beyond says so).
REPORT_ROW_BUDGET = ROW_BUDGET


def colors(partners: Collection[str]) -> dict[str, str]:
    """A colour class per partner, by its place among the alliance's partners in name
    order: the same in the matrix, the legend and the timeline, on every page and
    day, and the first ten colours are far apart (most alliances have fewer)."""
    return {name: f"p{i % PALETTE_SIZE}" for i, name in enumerate(sorted(partners))}


@dataclass(frozen=True)
class SummaryView:
    cells: int
    owned: int
    error: int
    warning: int
    info: int
    waived_cells: int
    partners: int
    contracts: int
    waivers: int
    policy: str

    @property
    def unowned(self) -> int:
        return self.cells - self.owned

    @property
    def owned_share(self) -> str:
        if not self.cells:
            return "0%"
        share = 100 * self.owned / self.cells
        return f"{share:.1f}%" if self.owned != self.cells else "100%"


@dataclass(frozen=True)
class FindingView:
    finding: Finding
    region: list[tuple[str, list[str]]] | None  # per dimension its nodes; [] = every cell
    # The matrix row that shows the finding, and the node to unfold so that it shows.
    row: str | None = None
    unfold: str | None = None

    @property
    def example(self) -> str:
        example = self.finding.example or {}
        return ", ".join(f"{dim}={leaf}" for dim, leaf in example.items())


@dataclass(frozen=True)
class RuleGroup:
    rule: str
    severity: str
    fires_when: str
    findings: list[FindingView]


@dataclass(frozen=True)
class Bar:
    """Contracts of one partner in force over the same span."""

    contracts: tuple[str, ...]
    start: dt.date | None  # None: open (no `from`)
    end: dt.date | None  # None: open (no `until`)
    x: float
    width: float
    y: float = 0.0

    @property
    def label(self) -> str:
        """What fits inside the bar: the first contract, and how many more."""
        more = len(self.contracts) - 1
        text = self.contracts[0] + (f" +{more}" if more else "")
        return text if len(text) * 5.6 + 24 < self.width else ""

    @property
    def text(self) -> str:
        start = self.start.isoformat() if self.start else "open"
        end = self.end.isoformat() if self.end else "open"
        return f"{', '.join(self.contracts)}: {start} → {end}"


@dataclass
class Lane:
    """A partner's contracts; bars that overlap in time go on rows of their own."""

    partner: str
    color: str
    y: float
    rows: int = 1
    bars: list[Bar] = field(default_factory=list)


@dataclass(frozen=True)
class Marker:
    """Future gaps and overlaps of one day."""

    day: dt.date
    x: float
    gaps: int  # cells becoming gaps that day
    overlaps: int
    flip: bool = False  # too near the right edge: the label goes left of the line

    @property
    def label(self) -> str:
        parts = []
        if self.gaps:
            parts.append(f"✗ gap {self.gaps:,}")
        if self.overlaps:
            parts.append(f"‼ overlap {self.overlaps:,}")
        return f"{self.day.isoformat()}: {', '.join(parts)} cells"


@dataclass(frozen=True)
class Tick:
    x: float
    label: str


@dataclass
class ContractRow:
    contract: str
    partner: str
    color: str
    start: dt.date | None
    end: dt.date | None
    active: bool  # in force on `as_of`


@dataclass
class Timeline:
    """An SVG of contracts per partner over time, in viewBox units."""

    start: dt.date
    end: dt.date
    width: int
    height: float
    left: int  # where the time axis starts (partner names before it)
    right: int
    top: int
    lane_height: int
    lanes: list[Lane]
    ticks: list[Tick]
    markers: list[Marker]
    as_of_x: float
    horizon_x: float
    as_of_flip: bool
    contracts: list[ContractRow]
    future: list[Finding]  # future-gap and future-overlap findings, by date


@dataclass(frozen=True)
class ChangeView:
    ref: str
    change: str  # created, changed, deleted


@dataclass(frozen=True)
class EntryView:
    revision: int
    at: str
    actor: str
    action: str
    forced: bool
    documents: list[ChangeView]


@dataclass(frozen=True)
class HistoryView:
    entries: list[EntryView]  # newest first
    after: int  # the entries shown have revision > after
    revision: int
    older: int | None  # the `after` of the older page, or None
    newer: int | None


@dataclass
class AlliancePage:
    alliance: str
    title: str | None
    as_of: dt.date
    horizon: str
    revision: int | None
    summary: SummaryView
    groups: list[RuleGroup]
    matrices: list[Matrix]
    colors: dict[str, str]
    timeline: Timeline
    history: HistoryView | None = None

    @property
    def matrix(self) -> Matrix:
        return self.matrices[0]

    @property
    def legend(self) -> list[tuple[str, str]]:
        return sorted(self.colors.items())


def alliance_page(
    bundle: Bundle,
    report: Report,
    index: OwnerIndex,
    *,
    columns: Sequence[str | None] = (None,),
    expand: Collection[str] = (),
    budget: int | None = None,
    history: HistoryView | None = None,
) -> AlliancePage:
    """Everything the page shows of one alliance on the report's `asOf`: a matrix
    per dimension in `columns` (None: the default), rows as `matrix.build` says."""
    as_of = dt.date.fromisoformat(report.as_of)
    budget = ROW_BUDGET if budget is None else budget
    palette = colors(bundle.partners)
    built = [
        matrices.build(bundle, index, as_of, columns=c, expand=expand, budget=budget)
        for c in columns
    ]
    s = report.summary
    return AlliancePage(
        alliance=bundle.name,
        title=bundle.alliance.metadata.title,
        as_of=as_of,
        horizon=report.horizon,
        revision=report.revision,
        summary=SummaryView(
            cells=s.cells,
            owned=s.owned,
            error=s.error,
            warning=s.warning,
            info=s.info,
            waived_cells=s.waived_cells,
            partners=len(bundle.partners),
            contracts=len(bundle.contracts),
            waivers=len(bundle.waivers),
            policy=bundle.policy.name,
        ),
        groups=rule_groups(report, bundle),
        matrices=built,
        colors=palette,
        timeline=timeline(bundle, report, palette),
        history=history,
    )


def rule_groups(report: Report, bundle: Bundle) -> list[RuleGroup]:
    """The findings grouped by rule, in the catalogue's order (the report's); a cell
    finding knows the matrix row of its first category node."""
    rows = bundle.space.dimensions[bundle.space.by_name[matrices.row_dimension(bundle)]]
    groups: dict[str, RuleGroup] = {}
    for finding in report.findings:
        group = groups.get(finding.rule)
        if group is None:
            info = RULES[finding.rule]
            group = groups[finding.rule] = RuleGroup(
                finding.rule, finding.severity, info.fires_when, []
            )
        region = None if finding.region is None else list(finding.region.items())
        row = unfold = None
        if finding.region is not None:
            nodes = finding.region.get(rows.name) or list(rows.roots)
            row = nodes[0]
            unfold = rows.nodes[row].parent
        group.findings.append(FindingView(finding, region, row, unfold))
    return list(groups.values())


# -- the timeline ---------------------------------------------------------------------

WIDTH, LEFT, RIGHT, TOP, LANE = 1000, 170, 985, 40, 22


def timeline(bundle: Bundle, report: Report, palette: dict[str, str]) -> Timeline:
    as_of = dt.date.fromisoformat(report.as_of)
    horizon_end = as_of + dt.timedelta(days=bundle.policy.horizon.days)
    future = [f for f in report.findings if f.rule.startswith("future-") and f.date]
    future.sort(key=lambda f: (f.date or "", f.rule))
    days = {as_of, horizon_end}
    for contract in bundle.contracts:
        effective = contract.spec.effective
        if effective is not None:
            days.update(d for d in (effective.from_, effective.until) if d is not None)
    days.update(dt.date.fromisoformat(f.date) for f in future if f.date)
    first, last = min(days), max(days)
    pad = dt.timedelta(days=max(30, (last - first).days // 12))
    start, end = first - pad, last + pad
    span = (end - start).days

    def x(day: dt.date) -> float:
        return round(LEFT + (RIGHT - LEFT) * (day - start).days / span, 1)

    by_partner: dict[str, dict[tuple[dt.date | None, dt.date | None], list[str]]] = {}
    rows = []
    for contract in bundle.contracts:
        effective = contract.spec.effective
        begin = effective.from_ if effective else None
        until = effective.until if effective else None
        partner = contract.spec.partner
        by_partner.setdefault(partner, {}).setdefault((begin, until), []).append(contract.name)
        active = (begin is None or begin <= as_of) and (until is None or as_of < until)
        rows.append(ContractRow(contract.name, partner, palette.get(partner, "p0"), begin, until,
                                active))  # fmt: skip
    lanes = []
    y = float(TOP)
    for partner in sorted(by_partner):
        lane = Lane(partner, palette.get(partner, "p0"), y)
        ends: list[dt.date] = []  # per row of the lane: where its last bar ends
        spans = sorted(by_partner[partner].items(), key=lambda i: (i[0][0] or dt.date.min, i[1]))
        for (begin, until), names in spans:
            free = (r for r, end in enumerate(ends) if begin is not None and end <= begin)
            row = next(free, None)
            if row is None:
                row = len(ends)
                ends.append(dt.date.max)
            ends[row] = until or dt.date.max
            x0 = x(begin) if begin else LEFT
            x1 = x(until) if until else RIGHT
            lane.bars.append(Bar(tuple(names), begin, until, x0, max(1.0, x1 - x0), y + row * LANE))
        lane.rows = len(ends)
        y += LANE * lane.rows
        lanes.append(lane)
    markers = []
    per_day: dict[dt.date, list[int]] = {}
    for f in future:
        counts = per_day.setdefault(dt.date.fromisoformat(f.date or ""), [0, 0])
        counts[0 if f.rule == "future-gap" else 1] += f.cells or 0
    for day, (gaps, overlaps) in sorted(per_day.items()):
        markers.append(Marker(day, x(day), gaps, overlaps, flip=x(day) > RIGHT - 90))
    rows.sort(key=lambda r: (r.partner, r.start or dt.date.min, r.contract))
    return Timeline(
        start=start,
        end=end,
        width=WIDTH,
        height=max(y, TOP + LANE) + 8,
        left=LEFT,
        right=RIGHT,
        top=TOP,
        lane_height=LANE,
        lanes=lanes,
        ticks=_ticks(start, end, x),
        markers=markers,
        as_of_x=x(as_of),
        horizon_x=x(horizon_end),
        as_of_flip=x(as_of) > RIGHT - 110,
        contracts=rows,
        future=future,
    )


def _ticks(start: dt.date, end: dt.date, x: Callable[[dt.date], float]) -> list[Tick]:
    years = [dt.date(y, 1, 1) for y in range(start.year + 1, end.year + 1)]
    if len(years) >= 3:
        step = max(1, len(years) // 8)
        return [Tick(x(d), str(d.year)) for d in years[::step]]
    months = []
    day = dt.date(start.year, start.month, 1)
    while day <= end:
        if day > start and day.month in (1, 4, 7, 10):
            months.append(day)
        day = dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return [Tick(x(d), d.strftime("%Y-%m")) for d in months]


# -- the change log -------------------------------------------------------------------

HISTORY_PAGE = 20


def history_window(revision: int, after: int | None) -> int:
    """The `after` of the page to show: the latest entries unless asked."""
    if after is None:
        return max(0, revision - HISTORY_PAGE)
    return max(0, min(after, revision))


class _Change(Protocol):
    """What this page reads of `registry.store.chain.DocumentChange`."""

    @property
    def ref(self) -> str: ...
    @property
    def before(self) -> str | None: ...
    @property
    def after(self) -> str | None: ...


class _Entry(Protocol):
    """What this page reads of `registry.store.Entry` (the store is not imported:
    the offline report has none)."""

    @property
    def revision(self) -> int: ...
    @property
    def at(self) -> str: ...
    @property
    def actor(self) -> str: ...
    @property
    def action(self) -> str: ...
    @property
    def forced(self) -> bool: ...
    @property
    def documents(self) -> Sequence[_Change]: ...


def history_view(entries: Sequence[_Entry], after: int, revision: int) -> HistoryView:
    shown = [
        EntryView(
            e.revision,
            e.at,
            e.actor,
            e.action,
            e.forced,
            [ChangeView(d.ref, _change(d)) for d in e.documents],
        )
        for e in entries
    ]
    shown.reverse()
    older = max(0, after - HISTORY_PAGE) if after > 0 else None
    newer = after + HISTORY_PAGE if after + HISTORY_PAGE < revision else None
    return HistoryView(shown, after, revision, older, newer)


def _change(change: _Change) -> str:
    if change.before is None:
        return "created"
    if change.after is None:
        return "deleted"
    return "changed"
