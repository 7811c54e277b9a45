"""JSON Schemas (draft 2020-12) generated from the model.

The loader validates with these, so the published files in `schemas/` and the
checks users get are the same thing; a test fails when the files drift.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import msgspec

from registry.model import ALLIANCE_FIELD, KINDS, SLUG_PATTERN, TICKET_SOURCES, schema_hook
from registry.rules import RULES

DRAFT = "https://json-schema.org/draft/2020-12/schema"
BASE_ID = "https://alliance-registry.dev/schemas/v1/"

TREE_SCHEMA: dict[str, Any] = {
    "title": "Tree",
    "description": "A mapping node -> subtree, a list of leaf names, or null (a leaf).",
    "anyOf": [
        {"type": "null"},
        {"type": "array", "items": {"type": "string", "pattern": SLUG_PATTERN}},
        {
            "type": "object",
            "propertyNames": {"pattern": SLUG_PATTERN},
            "additionalProperties": {"$ref": "#/$defs/Tree"},
        },
    ],
}


@cache
def components() -> dict[str, Any]:
    _, defs = msgspec.json.schema_components(
        list(KINDS.values()), schema_hook=schema_hook, ref_template="#/$defs/{name}"
    )
    defs["Tree"] = TREE_SCHEMA
    # Rule ids come from the catalogue, not the model: name them in the schema so
    # editors complete them and a typo is reported with the document's other errors.
    defs["PolicySetSpec"]["properties"]["rules"]["propertyNames"] = {"enum": list(RULES)}
    # A ticket mapping reads each dimension from exactly one place in the ticket.
    defs["TicketDimension"]["oneOf"] = [{"required": [s]} for s in TICKET_SOURCES]
    return defs


def kind_schema(kind: str) -> dict[str, Any]:
    defs = components()
    rule = ALLIANCE_FIELD[kind]
    metadata: dict[str, Any] = {}
    if rule == "required":
        metadata = {"required": ["alliance"]}
    elif rule == "never":
        metadata = {"not": {"required": ["alliance"]}}
    schema: dict[str, Any] = {
        "$schema": DRAFT,
        "$id": f"{BASE_ID}{kind.lower()}.json",
        "title": kind,
        "$ref": f"#/$defs/{kind}",
    }
    if metadata:
        schema["properties"] = {"metadata": metadata}
    schema["$defs"] = _reachable(defs, kind)
    return schema


def bundle_schema() -> dict[str, Any]:
    """Any file of documents: one document, or an array of them."""
    kinds = sorted(KINDS)
    document = {
        "type": "object",
        "required": ["kind"],
        "properties": {"kind": {"enum": kinds}},
        "allOf": [
            {
                "if": {"properties": {"kind": {"const": k}}, "required": ["kind"]},
                "then": {"$ref": f"{k.lower()}.json"},
            }
            for k in kinds
        ],
    }
    return {
        "$schema": DRAFT,
        "$id": f"{BASE_ID}bundle.json",
        "title": "Bundle",
        "anyOf": [
            {"$ref": "#/$defs/Document"},
            {"type": "array", "items": {"$ref": "#/$defs/Document"}},
        ],
        "$defs": {"Document": document},
    }


def _reachable(defs: dict[str, Any], root: str) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    stack = [root]
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen[name] = defs[name]
        stack.extend(_refs(defs[name]))
    return {k: seen[k] for k in sorted(seen)}


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        out = []
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith("#/$defs/"):
                out.append(value.removeprefix("#/$defs/"))
            else:
                out.extend(_refs(value))
        return out
    if isinstance(node, list):
        return [r for item in node for r in _refs(item)]
    return []


def published() -> dict[str, dict[str, Any]]:
    """File name -> schema, as `registry schema --out` writes them."""
    files = {f"{kind.lower()}.json": kind_schema(kind) for kind in KINDS}
    files["bundle.json"] = bundle_schema()
    return files


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=False) + "\n"


def write(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in published().items():
        path = out / name
        path.write_text(render(schema), encoding="utf-8")
        written.append(path)
    return written
