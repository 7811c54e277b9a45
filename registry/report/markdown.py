"""`--format markdown`: audits and plans as a pull-request comment. A summary line,
tables of findings (added and removed, for a plan) and of owner moves in the
alliance's own node names, the rest folded in `<details>`; never longer than
MAX_CHARS (what code hosts keep of a comment), with a note of what was left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from registry.findings import Finding
from registry.plan import OwnerMove, Plan
from registry.report.audited import Audited, failing, region_text

MAX_CHARS = 60_000
# Room kept for the note saying what was left out, and the closing lines.
RESERVE = 600
SIGNS = {"created": "+", "updated": "~", "deleted": "-"}


def cell(text: str) -> str:
    """Text for a table cell: no line breaks, pipes escaped."""
    return " ".join(text.split()).replace("|", "\\|") or " "


def where(finding: Finding) -> str:
    """The cells, in the alliance's node names; for a document's finding, the document."""
    return region_text(finding) or ", ".join(finding.documents)


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


@dataclass
class _Page:
    """Lines added while they fit; what did not fit, counted by what it was."""

    limit: int = field(default_factory=lambda: MAX_CHARS)
    lines: list[str] = field(default_factory=list)
    size: int = 0
    left_out: dict[str, int] = field(default_factory=dict)

    def add(self, line: str, what: str | None = None) -> bool:
        """Add a line (`what` names a row, counted when it is left out)."""
        if what is not None and (self.left_out or self.size + len(line) + 1 > self.limit - RESERVE):
            self.left_out[what] = self.left_out.get(what, 0) + 1
            return False
        self.lines.append(line)
        self.size += len(line) + 1
        return True

    def table(
        self, title: str, header: Sequence[str], rows: Sequence[Sequence[str]], what: str
    ) -> None:
        if not rows:
            return
        self.add("")
        self.add(f"#### {title}")
        self.add("")
        self.add("| " + " | ".join(header) + " |")
        self.add("|" + "---|" * len(header))
        for row in rows:
            self.add("| " + " | ".join(cell(c) for c in row) + " |", what)

    def text(self) -> str:
        if self.left_out:
            parts = ", ".join(
                f"{n:,} {'row' if n == 1 else 'rows'} of {what}"
                for what, n in self.left_out.items()
            )
            self.lines += ["", f"_Left out to stay under {self.limit:,} characters: {parts}._"]
        return "\n".join(self.lines) + "\n"


def _finding_rows(findings: Sequence[Finding]) -> list[list[str]]:
    return [[f.severity, f"`{f.rule}`", where(f), f.message] for f in findings]


def _details(page: _Page, findings: Sequence[tuple[str, Finding]]) -> None:
    """Every finding in full, folded; as many as fit, none if the tables did not."""
    if not findings:
        return
    items = [_detail(sign, f) for sign, f in findings]
    head = ["", "<details><summary>Details of each finding</summary>", ""]
    room = page.limit - RESERVE - page.size - sum(len(line) + 1 for line in head) - 12
    fit = 0
    while not page.left_out and fit < len(items) and len(items[fit]) + 1 <= room:
        room -= len(items[fit]) + 1
        fit += 1
    if fit:
        for line in head:
            page.add(line)
        for item in items[:fit]:
            page.add(item)
        page.add("")
        page.add("</details>")
    if fit < len(items):
        page.left_out["the details"] = len(items) - fit


def _detail(sign: str, f: Finding) -> str:
    example = "/".join(f.example.values()) if f.example else ""
    said = [f"{sign}**{f.rule}** ({f.severity}): {cell(f.message)}"]
    if f.documents:
        said.append(f"documents {', '.join(f.documents)}")
    if f.partners:
        said.append(f"partners {', '.join(f.partners)}")
    if f.cells is not None:
        said.append(f"{_plural(f.cells, 'cell')}" + (f", e.g. {example}" if example else ""))
    if f.date:
        said.append(f"on {f.date}")
    return "- " + "; ".join(said)


def render(audits: Sequence[Audited], fail_on: str) -> str:
    page = _Page()
    for audited in audits:
        report = audited.report
        s = report.summary
        bad = sum(failing(f, fail_on) for f in report.findings)
        mark = "✗" if bad else "✓"
        share = f"{100 * s.owned / s.cells:.1f}%" if s.cells and s.owned != s.cells else "100%"
        page.add(f"### registry audit: {report.alliance} as of {report.as_of}")
        page.add("")
        page.add(
            f"**{mark} {_plural(s.error, 'error')}, {_plural(s.warning, 'warning')}, "
            f"{s.info:,} info** · {s.cells:,} cells, {s.owned:,} owned ({share}) · "
            f"{bad:,} at or above {fail_on}"
        )
        page.table(
            "Findings", ["severity", "rule", "where", "message"], _finding_rows(report.findings),
            "findings",
        )  # fmt: skip
        _details(page, [("", f) for f in report.findings])
        page.add("")
    return page.text()


def _move_rows(moves: Sequence[OwnerMove]) -> list[list[str]]:
    return [
        [
            " ".join(f"{d}={','.join(n)}" for d, n in m.region.items()) or "every cell",
            ", ".join(m.before) or "nobody",
            ", ".join(m.after) or "nobody",
            f"{m.cells:,}",
        ]
        for m in moves
    ]


def plan(
    p: Plan | None,
    *,
    title: str,
    changes: Sequence[tuple[str, str]] = (),
    kept: Sequence[str] = (),
) -> str:
    """One plan: `changes` are the (document, action) pairs of a plan against a
    server (unchanged ones are counted, not listed), `kept` the documents it leaves."""
    page = _Page()
    _plan(page, p, title, changes, kept)
    return page.text()


def plans(found: Sequence[Plan]) -> str:
    """The plans of `registry plan OLD NEW`, one alliance each."""
    page = _Page()
    for p in found:
        _plan(page, p, f"registry plan: {p.alliance} as of {p.as_of}", (), ())
    return page.text()


def _plan(
    page: _Page,
    p: Plan | None,
    title: str,
    changes: Sequence[tuple[str, str]],
    kept: Sequence[str],
) -> None:
    page.add(f"### {title}")
    page.add("")
    counts = {a: sum(1 for _, action in changes if action == a) for a in (*SIGNS, "unchanged")}
    summary = []
    if p is not None:
        errors = sum(f.severity == "error" for f in p.added)
        mark = "✗" if errors else "✓"
        summary.append(
            f"{mark} {_plural(len(p.added), 'finding')} added ({_plural(errors, 'error')}), "
            f"{len(p.removed):,} removed"
        )
        if p.moves is None:
            summary.append("owners not compared (the dimension trees differ)")
        else:
            moved = sum(m.cells for m in p.moves)
            summary.append(f"{_plural(moved, 'cell')} change owner")
    if changes:
        summary.append(
            f"documents: {counts['created']} created, {counts['updated']} changed, "
            f"{counts['deleted']} deleted, {counts['unchanged']} unchanged"
        )
    page.add("**" + " · ".join(summary) + "**")
    rows = [[SIGNS[a], f"`{ref}`", a] for ref, a in changes if a in SIGNS]
    rows += [["=", f"`{ref}`", "kept: on the server, not in the folder (--prune deletes it)"]
             for ref in kept]  # fmt: skip
    page.table("Documents", ["", "document", "change"], rows, "documents")
    if p is not None:
        header = ["severity", "rule", "where", "message"]
        page.table("Findings added", header, _finding_rows(p.added), "findings added")
        page.table("Findings removed", header, _finding_rows(p.removed), "findings removed")
        if p.moves:
            page.table(
                "Owner moves", ["where", "before", "after", "cells"], _move_rows(p.moves),
                "owner moves",
            )  # fmt: skip
        _details(page, [("+ ", f) for f in p.added] + [("- ", f) for f in p.removed])
    page.add("")
