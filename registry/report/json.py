"""`--format json`: a JSON array of the reports of §4, sorted by alliance."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from registry.report.audited import Audited


def render(audits: Sequence[Audited], fail_on: str) -> str:
    return msgspec.json.format(msgspec.json.encode([a.report for a in audits]).decode(), indent=2)
