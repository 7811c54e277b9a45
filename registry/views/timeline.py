"""The timeline of the auditor's page: each partner's contracts over time as an SVG
(in viewBox units), with `asOf`, the horizon, the days future gaps and overlaps
begin and the days waivers expire, for the web page and the offline report alike."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from registry.bundle import Bundle
from registry.findings import Finding, Report

CHAR = 5.6  # the width of a label's character, about, in viewBox units (10px text)


def _label(contracts: tuple[str, ...]) -> str:
    more = len(contracts) - 1
    return contracts[0] + (f" +{more}" if more else "")


def _label_width(contracts: tuple[str, ...]) -> float:
    return len(_label(contracts)) * CHAR


@dataclass(frozen=True)
class Bar:
    """Contracts of one partner in force over the same span. Every bar is labelled:
    inside when the label fits, else just after the bar (or before it, near the
    right edge); the lane keeps that room free of other bars."""

    contracts: tuple[str, ...]
    start: dt.date | None  # None: open (no `from`)
    end: dt.date | None  # None: open (no `until`)
    x: float
    width: float
    y: float = 0.0
    place: str = "inside"  # "inside", "after" or "before" the bar

    @property
    def label(self) -> str:
        """The first contract, and how many more."""
        return _label(self.contracts)

    @property
    def label_x(self) -> float:
        if self.place == "after":
            return round(self.x + self.width + 4, 1)
        if self.place == "before":
            return round(self.x - 4, 1)
        return round(self.x + 12, 1)

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
class Expiry:
    """The waivers expiring on one day, and the cells where their rules then fire
    (`waiver-expiring`, within the horizon)."""

    day: dt.date
    x: float
    waivers: tuple[str, ...]  # "name (rule)", by name
    cells: int
    flip: bool = False

    @property
    def label(self) -> str:
        text = f"{self.day.isoformat()}: waiver{'s' if len(self.waivers) > 1 else ''} "
        text += f"{', '.join(self.waivers)} expire{'' if len(self.waivers) > 1 else 's'}"
        if self.cells:
            text += f"; then {self.cells:,} cell{'s' if self.cells != 1 else ''} show findings"
        return text


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
    expiries: list[Expiry] = field(default_factory=list)  # by day
    expiring: list[Finding] = field(default_factory=list)  # waiver-expiring findings, by date


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
    days.update(w.spec.expires for w in bundle.waivers)
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
        ends: list[float] = []  # per row of the lane: where its last bar (or label) ends
        spans = sorted(by_partner[partner].items(), key=lambda i: (i[0][0] or dt.date.min, i[1]))
        for (begin, until), names in spans:
            x0 = x(begin) if begin else LEFT
            width = max(1.0, (x(until) if until else RIGHT) - x0)
            place, lo, hi = _placement(tuple(names), x0, width)
            # A bar open at the start shares no row; one that starts on the day
            # another ends may follow it on its row.
            free = (r for r, end in enumerate(ends) if begin is not None and end <= lo)
            row = next(free, None)
            if row is None:
                row = len(ends)
                ends.append(hi)
            ends[row] = hi if until else float("inf")
            lane.bars.append(Bar(tuple(names), begin, until, x0, width, y + row * LANE, place))
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
    expiring = sorted(
        (f for f in report.findings if f.rule == "waiver-expiring" and f.date),
        key=lambda f: (f.date or "", f.documents),
    )
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
        expiries=_expiries(bundle, expiring, x),
        expiring=expiring,
    )


def _placement(contracts: tuple[str, ...], x0: float, width: float) -> tuple[str, float, float]:
    """Where a bar's label goes, and the stretch of its row the bar and label take."""
    text = _label_width(contracts)
    if text + 24 < width:
        return "inside", x0, x0 + width
    if x0 + width + 4 + text <= WIDTH - 2:
        return "after", x0, x0 + width + 8 + text
    return "before", x0 - 8 - text, x0 + width


def _expiries(
    bundle: Bundle, expiring: list[Finding], x: Callable[[dt.date], float]
) -> list[Expiry]:
    by_day: dict[dt.date, list[str]] = {}
    for waiver in sorted(bundle.waivers, key=lambda w: w.name):
        by_day.setdefault(waiver.spec.expires, []).append(f"{waiver.name} ({waiver.spec.rule})")
    cells: dict[str, int] = {}
    for f in expiring:
        cells[f.date or ""] = cells.get(f.date or "", 0) + (f.cells or 0)
    return [
        Expiry(day, x(day), tuple(names), cells.get(day.isoformat(), 0), flip=x(day) > RIGHT - 90)
        for day, names in sorted(by_day.items())
    ]


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
