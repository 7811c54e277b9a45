"""The published JSON Schemas: valid draft 2020-12, the same as the model generates,
and satisfied by every example document."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from conftest import MINIMAL, REPO
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from registry import schema
from registry.yamlnodes import parse_json, parse_yaml

SCHEMAS = REPO / "schemas"
SCHEMA_FILES = sorted(SCHEMAS.glob("*.json"))
# The shipped policies are documents too.
EXAMPLE_FILES = sorted(
    p
    for folder in ("examples", "policies")
    for p in (REPO / folder).glob("**/*")
    if p.suffix in (".yaml", ".yml", ".json")
)
Validator = jsonschema.Draft202012Validator


def committed(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
    return data


def registry_of_schemas() -> Registry:
    resources = [
        (committed(p.name)["$id"], Resource.from_contents(committed(p.name), DRAFT202012))
        for p in SCHEMA_FILES
    ]
    return Registry().with_resources(resources)


def validator(name: str) -> Validator:
    return Validator(
        committed(name), registry=registry_of_schemas(), format_checker=Validator.FORMAT_CHECKER
    )


def documents(path: Path) -> list[Any]:
    """The documents of a file, parsed as the loader parses them. Examples may sit
    next to other files (an expected report): only what carries the envelope counts."""
    text = path.read_text(encoding="utf-8")
    parsed = parse_json(text) if path.suffix == ".json" else parse_yaml(text)
    return [p.data for p in parsed if isinstance(p.data, dict) and "apiVersion" in p.data]


def assert_valid(name: str, document: Any) -> None:
    errors = [
        f"$.{'.'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator(name).iter_errors(document)
    ]
    assert errors == []


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda p: p.name)
def test_schema_is_valid_draft_2020_12(path: Path) -> None:
    Validator.check_schema(committed(path.name))


def test_committed_schemas_are_what_the_model_generates() -> None:
    generated = schema.published()
    assert sorted(generated) == [p.name for p in SCHEMA_FILES], (
        "run `registry schema --out schemas`"
    )
    for name, content in generated.items():
        text = (SCHEMAS / name).read_text(encoding="utf-8")
        assert schema.render(content) == text, f"schemas/{name} drifted: run `registry schema`"


def test_every_kind_has_a_schema_named_after_it() -> None:
    for kind in ("Alliance", "Partner", "Contract", "Waiver", "PolicySet"):
        assert committed(f"{kind.lower()}.json")["title"] == kind


@pytest.mark.parametrize("name", sorted(MINIMAL))
def test_minimal_alliance_satisfies_the_schemas(name: str) -> None:
    for document in [p.data for p in parse_yaml(MINIMAL[name])]:
        assert_valid("bundle.json", document)
        assert_valid(f"{document['kind'].lower()}.json", document)


def test_bundle_schema_takes_an_array_and_refuses_an_unknown_kind() -> None:
    docs = [p.data for text in MINIMAL.values() for p in parse_yaml(text)]
    assert_valid("bundle.json", docs)
    assert not validator("bundle.json").is_valid({**docs[0], "kind": "Contrakt"})
    assert not validator("bundle.json").is_valid({**docs[0], "spec": {}})


@pytest.mark.skipif(not EXAMPLE_FILES, reason="examples/ holds no documents yet")
@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_example_documents_satisfy_the_schemas(path: Path) -> None:
    for document in documents(path):
        assert_valid("bundle.json", document)
        assert_valid(f"{document['kind'].lower()}.json", document)
