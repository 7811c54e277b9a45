"""`--format sarif`: SARIF 2.1.0, so a code host annotates the document and line
that caused each finding. Written as msgspec Structs: the official object model
(sarif-om) has been unmaintained since 2020 and needs its own attrs serializer."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import msgspec

from registry import __version__
from registry.findings import Finding
from registry.report.audited import Audited, region_text
from registry.rules import RULES

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVELS = {"error": "error", "warning": "warning", "info": "note"}
# Each rule's line of the rule table (docs/contract-language.md §3 has an anchor per rule).
HELP = "https://alliance-registry.dev/docs/contract-language.md#rule-"
# The name of the fingerprint: bump the version when what it hashes changes.
FINGERPRINT = "allianceFinding/v1"


def fingerprint(alliance: str, finding: Finding) -> str:
    """What makes a finding the same finding from one run to the next: its alliance,
    rule, documents, partners, cells and day; not its line (documents move in their
    files) nor its message (counts and answers change with it)."""
    key = msgspec.json.encode(
        (alliance, finding.rule, finding.documents, finding.partners, finding.region,
         finding.date)
    )  # fmt: skip
    return hashlib.sha256(key).hexdigest()[:32]


def render(audits: Sequence[Audited], fail_on: str) -> str:
    results: list[dict[str, Any]] = []
    for audited in audits:
        for finding in audited.report.findings:
            locations = []
            for ref in finding.documents:
                origin = audited.origins.get(ref)
                if origin is None:
                    continue
                # The key that causes the finding, else where the document starts.
                line, column = origin.at(*RULES[finding.rule].causes)
                locations.append({
                    "physicalLocation": {
                        "artifactLocation": {"uri": origin.file},
                        "region": {"startLine": line, "startColumn": column},
                    },
                    "logicalLocations": [{"name": ref, "kind": "object"}],
                })  # fmt: skip
            where = region_text(finding)
            results.append({
                "ruleId": finding.rule,
                "level": LEVELS[finding.severity],
                "message": {"text": f"{audited.report.alliance}: {finding.message}"
                            + (f" ({where})" if where else "")},
                "locations": locations,
                "partialFingerprints": {
                    FINGERPRINT: fingerprint(audited.report.alliance, finding)
                },
                "properties": {
                    "alliance": audited.report.alliance, "partners": finding.partners,
                    "region": finding.region, "cells": finding.cells, "date": finding.date,
                },
            })  # fmt: skip
    rules = [
        {
            "id": rule.id,
            "shortDescription": {"text": f"Fires when {rule.fires_when}."},
            "helpUri": HELP + rule.id,
            "defaultConfiguration": {"level": LEVELS.get(rule.severity, "none")},
        }
        for rule in RULES.values()
    ]
    log = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "alliance-registry", "version": __version__,
                "rules": rules,
            }},
            # A code host keeps one set of alerts per category (the id up to its last
            # slash): one per alliance audited, whatever the day.
            "automationDetails": {"id": automation_id(audits)},
            "results": results,
        }],
    }  # fmt: skip
    return msgspec.json.format(msgspec.json.encode(log).decode(), indent=2)


def automation_id(audits: Sequence[Audited]) -> str:
    """`alliance-registry/audit/triple-play/2026-11-22`: the category, then the run."""
    names = "+".join(sorted({a.report.alliance for a in audits})) or "none"
    days = sorted({a.report.as_of for a in audits})
    return f"alliance-registry/audit/{names}/{days[0] if days else ''}"
