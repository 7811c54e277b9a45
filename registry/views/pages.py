"""The auditor's page as data: one function builds what the templates show, from a
Bundle, its audit Report and its OwnerIndex, for the web page (`/ui/`) and the
offline report (`registry audit --format html`) alike.

Nothing here imports litestar or the store: the change log comes in as entries.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from registry.bundle import Bundle
from registry.findings import Finding, Report
from registry.resolve import OwnerIndex
from registry.rules import RULES
from registry.views import matrix as matrices
from registry.views.history import HistoryView
from registry.views.matrix import Matrix
from registry.views.timeline import Timeline, timeline

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
class Listed:
    """An alliance in the list the page starts from: its title and how its audit
    of the day stands."""

    alliance: str
    title: str | None
    revision: int | None
    error: int
    warning: int


def listed(bundle: Bundle, report: Report) -> Listed:
    s = report.summary
    return Listed(bundle.name, bundle.alliance.metadata.title, report.revision, s.error, s.warning)


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
    fixed: Mapping[str, str] | None = None,
) -> AlliancePage:
    """Everything the page shows of one alliance on the report's `asOf`: a matrix
    per dimension in `columns` (None: the default), rows as `matrix.build` says,
    the other dimensions aggregated but those `fixed` to a node."""
    as_of = dt.date.fromisoformat(report.as_of)
    budget = ROW_BUDGET if budget is None else budget
    palette = colors(bundle.partners)
    built = [
        matrices.build(bundle, index, as_of, columns=c, expand=expand, budget=budget, fixed=fixed)
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
