"""The audit report as data: what `registry audit --format json` and the API return."""

from __future__ import annotations

from typing import Any

import msgspec

from registry.rules import RULES, SEVERITY_RANK


class Finding(msgspec.Struct, kw_only=True):
    rule: str
    severity: str
    message: str
    partners: list[str]
    documents: list[str]
    region: dict[str, list[str]] | None = None
    cells: int | None = None
    example: dict[str, str] | None = None
    date: str | None = None

    def sort_key(self) -> tuple[Any, ...]:
        order = list(RULES).index(self.rule)
        return (
            order,
            self.date or "",
            self.partners,
            self.documents,
            sorted((self.region or {}).items()),
            self.message,
        )


class Summary(msgspec.Struct, kw_only=True):
    cells: int
    owned: int
    error: int = 0
    warning: int = 0
    info: int = 0
    waived_cells: int = msgspec.field(default=0, name="waivedCells")


class Report(msgspec.Struct, kw_only=True, rename="camel"):
    alliance: str
    as_of: str
    horizon: str
    revision: int | None
    summary: Summary
    findings: list[Finding]

    def worst(self) -> int:
        """The rank of the most severe finding (0 when there is none)."""
        return max((SEVERITY_RANK[f.severity] for f in self.findings), default=0)
