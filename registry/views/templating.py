"""The one Jinja environment of the page: litestar renders it for `/ui/`, and the
offline report renders the same templates to one standalone file."""

from __future__ import annotations

import functools
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"


@functools.cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["n"] = lambda value: f"{value:,}"
    env.filters["plural"] = lambda count, word: f"{count:,} {word}{'' if count == 1 else 's'}"
    return env


@functools.cache
def stylesheet() -> str:
    """The page's CSS, inlined by the offline report."""
    return (STATIC / "registry.css").read_text(encoding="utf-8")
