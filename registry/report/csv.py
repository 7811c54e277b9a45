"""`--format csv`: one row per finding, for spreadsheets."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from registry.report.audited import Audited, region_text

COLUMNS = [
    "alliance", "asOf", "rule", "severity", "partners", "documents", "region", "cells",
    "example", "date", "message",
]  # fmt: skip


def render(audits: Sequence[Audited], fail_on: str) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for audited in audits:
        report = audited.report
        for f in report.findings:
            example = "/".join(f.example.values()) if f.example else ""
            writer.writerow([
                report.alliance, report.as_of, f.rule, f.severity, " ".join(f.partners),
                " ".join(f.documents), region_text(f), "" if f.cells is None else f.cells,
                example, f.date or "", f.message,
            ])  # fmt: skip
    return out.getvalue()  # the last row ends in a newline too, as files of lines do
