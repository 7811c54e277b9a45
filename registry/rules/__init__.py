"""The rules: the catalogue and the audit of one alliance on one day."""

from __future__ import annotations

from typing import TYPE_CHECKING

from registry.rules.catalogue import (
    CELL_RULES,
    DEFAULT_HORIZON,
    RULES,
    SEVERITY_RANK,
)

if TYPE_CHECKING:
    from registry.rules.auditing import audit, audit_arranged, compile_for_audit

__all__ = [
    "CELL_RULES",
    "DEFAULT_HORIZON",
    "RULES",
    "SEVERITY_RANK",
    "audit",
    "audit_arranged",
    "compile_for_audit",
]
_AUDIT = ("audit", "audit_arranged", "compile_for_audit")


def __getattr__(name: str) -> object:
    # The audit needs the bundle, and the bundle reads its defaults off the catalogue:
    # the audit is imported on first use, so `registry.bundle` (or `registry.findings`)
    # imported first finds the catalogue without the audit coming back for it.
    if name in _AUDIT:
        from registry.rules import auditing  # noqa: PLC0415

        found = getattr(auditing, name)
        globals()[name] = found
        return found
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
