"""`--format text`: readable at a glance. A summary line per alliance, then the
findings grouped by rule, their regions in the alliance's own node names."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import groupby

from registry.report.audited import Audited, region_text


def render(audits: Sequence[Audited], fail_on: str) -> str:
    lines: list[str] = []
    for audited in audits:
        report, s = audited.report, audited.report.summary
        lines.append(
            f"{report.alliance}: as of {report.as_of} (horizon {report.horizon}): "
            f"{s.owned:,} of {s.cells:,} cells owned; {s.error} error(s), "
            f"{s.warning} warning(s), {s.info} info; {s.waived_cells:,} waived cell(s)"
        )
        for rule, found in groupby(report.findings, key=lambda f: f.rule):
            items = list(found)
            lines.append(f"  {rule} ({items[0].severity}): {len(items)}")
            for f in items:
                lines.append(f"    - {f.message}")
                if f.region is not None:
                    example = "/".join(f.example.values()) if f.example else ""
                    lines.append(f"      where: {region_text(f)}  (e.g. {example})")
                if f.documents:
                    lines.append(f"      documents: {', '.join(f.documents)}")
    return "\n".join(lines)
