"""Renderers of audit reports, one module per format, registered by name.

A renderer takes every alliance's report with the origins of its documents (so
SARIF can point at a file and line) and the `--fail-on` threshold, and returns
the text to print.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from registry.report import csv, html, json, junit, markdown, sarif, text
from registry.report.audited import Audited, region_text

__all__ = ["RENDERERS", "Audited", "Renderer", "region_text"]

Renderer = Callable[[Sequence[Audited], str], str]

RENDERERS: dict[str, Renderer] = {
    "text": text.render,
    "json": json.render,
    "sarif": sarif.render,
    "junit": junit.render,
    "csv": csv.render,
    "html": html.render,
    "markdown": markdown.render,
}
