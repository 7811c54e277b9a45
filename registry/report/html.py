"""`--format html`: the auditor's page as one standalone file (inline CSS, no
script, no server): per alliance the summary, the coverage matrix (a tab per
column dimension), the findings grouped by rule and the timeline. The same
templates and view model as `/ui/` (`registry.views`), imported only when used."""

from __future__ import annotations

from collections.abc import Sequence

from registry import __version__
from registry.report.audited import Audited


def render(audits: Sequence[Audited], fail_on: str) -> str:
    # Jinja and the page's modules load only for this format: `registry audit` starts fast.
    from registry.resolve import OwnerIndex  # noqa: PLC0415
    from registry.views.matrix import column_choices  # noqa: PLC0415
    from registry.views.pages import REPORT_ROW_BUDGET, alliance_page  # noqa: PLC0415
    from registry.views.templating import environment, stylesheet  # noqa: PLC0415

    pages = []
    for audited in audits:
        bundle = audited.bundle
        if bundle is None:
            raise ValueError("the html report draws the matrix from the documents: pass the bundle")
        columns: list[str | None] = [*column_choices(bundle)] or [None]
        index = OwnerIndex(bundle, audited.report.revision)
        pages.append(
            alliance_page(bundle, audited.report, index, columns=columns, budget=REPORT_ROW_BUDGET)
        )
    template = environment().get_template("report.html")
    return template.render(pages=pages, css=stylesheet(), version=__version__)
