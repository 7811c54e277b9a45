"""`--format sarif`: SARIF 2.1.0, so a code host annotates the document and line
that caused each finding. Written as msgspec Structs: the official object model
(sarif-om) has been unmaintained since 2020 and needs its own attrs serializer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from registry import __version__
from registry.report.audited import Audited, region_text
from registry.rules import RULES

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVELS = {"error": "error", "warning": "warning", "info": "note"}


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
                "properties": {
                    "alliance": audited.report.alliance, "partners": finding.partners,
                    "region": finding.region, "cells": finding.cells, "date": finding.date,
                },
            })  # fmt: skip
    rules = [
        {
            "id": rule.id,
            "shortDescription": {"text": f"Fires when {rule.fires_when}."},
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
            "results": results,
        }],
    }  # fmt: skip
    return msgspec.json.format(msgspec.json.encode(log).decode(), indent=2)
