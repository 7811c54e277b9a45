"""What every renderer receives: one alliance's report and where its documents are."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from registry.bundle import Bundle, Origin
from registry.findings import Finding, Report
from registry.rules import SEVERITY_RANK


@dataclass(frozen=True)
class Audited:
    report: Report
    origins: Mapping[str, Origin]
    # The audited documents: the html report draws the coverage matrix from them.
    bundle: Bundle | None = None


def region_text(finding: Finding) -> str:
    """`category=refund,invoice-error region=north`, or `every cell`."""
    if finding.region is None:
        return ""
    if not finding.region:
        return "every cell"
    return " ".join(f"{dim}={','.join(nodes)}" for dim, nodes in finding.region.items())


def failing(finding: Finding, fail_on: str) -> bool:
    return SEVERITY_RANK[finding.severity] >= SEVERITY_RANK[fail_on]
