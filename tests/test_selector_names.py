"""The names a selector (`where`) holds are checked by `selector_names_fit`, one regular
expression over a whole document, not by msgspec per string (model.NodeName). These
tests prove that check sees every place the model holds such a name: the types are
walked to find each place, the examples are shown to fill each one, and a bad name put
in the first spot of each place (a dimension, a node) in every example file is refused
with the schema's message, read from a file and from the store alike."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec.inspect as mi
import pytest
from conftest import REPO

from registry.load import LoadResult, read_documents, read_stored
from registry.model import KINDS, SLUG_PATTERN
from registry.yamlnodes import parse_yaml

Spot = tuple[str, tuple[str | int, ...], bool]  # the model's place, the path, a key?

BAD = "Bad_Name"
# Every place of the model that holds selector names: the fields from the kind down.
PLACES = {
    "Alliance.spec.customer_face.where",
    "Alliance.spec.customer_face.except_",
    "Contract.spec.scope.where",
    "Contract.spec.scope.except_",
    "Contract.spec.accountable.where",
    "Contract.spec.accountable.except_",
    "Contract.spec.consulted.where",
    "Contract.spec.handoffs.where",
    "Waiver.spec.where",
}


def is_node_name(info: mi.Type) -> bool:
    return (
        isinstance(info, mi.Metadata)
        and isinstance(info.type, mi.StrType)
        and info.type.pattern is None
        and (info.extra_json_schema or {}).get("pattern") == SLUG_PATTERN
    )


def places(info: mi.Type, place: str) -> Iterator[str]:
    """The place of every node name the type can hold."""
    if is_node_name(info):
        yield place
    elif isinstance(info, mi.Metadata):
        yield from places(info.type, place)
    elif isinstance(info, mi.StructType):
        for f in info.fields:
            yield from places(f.type, f"{place}.{f.name}")
    elif isinstance(info, mi.ListType):
        yield from places(info.item_type, place)
    elif isinstance(info, mi.DictType):
        yield from places(info.key_type, place)
        yield from places(info.value_type, place)
    elif isinstance(info, mi.UnionType):
        for member in info.types:
            yield from places(member, place)


def spots(info: mi.Type, data: Any, path: tuple[str | int, ...], place: str) -> Iterator[Spot]:
    """Every node name in `data` (decoded JSON of the type `info`), with its place."""
    if is_node_name(info):
        yield place, path, False
    elif isinstance(info, mi.Metadata):
        yield from spots(info.type, data, path, place)
    elif isinstance(info, mi.StructType) and isinstance(data, dict):
        for f in info.fields:
            if f.encode_name in data:
                field_path = (*path, f.encode_name)
                yield from spots(f.type, data[f.encode_name], field_path, f"{place}.{f.name}")
    elif isinstance(info, mi.ListType) and isinstance(data, list):
        for i, item in enumerate(data):
            yield from spots(info.item_type, item, (*path, i), place)
    elif isinstance(info, mi.DictType) and isinstance(data, dict):
        for key, value in data.items():
            if is_node_name(info.key_type):
                yield place, (*path, key), True
            yield from spots(info.value_type, value, (*path, key), place)
    elif isinstance(info, mi.UnionType):
        for member in info.types:
            yield from spots(member, data, path, place)


def documents() -> list[tuple[str, dict[str, Any]]]:
    """The example documents, and two made of them to fill the places none fills (a
    customer face over part of the space, a handoff of part of a contract's)."""
    found = []
    for path in sorted((REPO / "examples").glob("*/*.yaml")):
        for parsed in parse_yaml(path.read_text(encoding="utf-8")):
            data = parsed.data
            if isinstance(data, dict) and data.get("kind") in KINDS:
                found.append((f"{path.parent.name}/{path.name}", json.loads(json.dumps(data))))
    alliance = copy.deepcopy(next(d for n, d in found if n == "triple-play/alliance.yaml"))
    part = {"region": ["north"], "channel": ["phone", "web"]}
    alliance["spec"]["customerFace"][0].update(where=part, **{"except": [{"region": ["east"]}]})
    contract = copy.deepcopy(next(d for _, d in found if d["spec"].get("handoffs")))
    contract["spec"]["handoffs"][0]["where"] = part
    return [*found, ("made/alliance.yaml", alliance), ("made/contract.yaml", contract)]


def all_spots() -> list[tuple[str, dict[str, Any], Spot]]:
    return [
        (name, data, spot)
        for name, data in documents()
        for spot in spots(mi.type_info(KINDS[data["kind"]]), data, (), data["kind"])
    ]


def test_the_types_hold_selector_names_in_these_places_only() -> None:
    assert {p for name, kind in KINDS.items() for p in places(mi.type_info(kind), name)} == PLACES


def test_the_examples_fill_every_place() -> None:
    assert {place for _, _, (place, _, _) in all_spots()} == PLACES


def with_bad_name(data: dict[str, Any], path: tuple[str | int, ...], key: bool) -> dict[str, Any]:
    changed = copy.deepcopy(data)
    parent: Any = changed
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    if key:
        parent[BAD] = parent.pop(last)
    else:
        parent[last] = BAD
    return changed


def json_path(path: tuple[str | int, ...]) -> str:
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)


# The first spot of each place (a key, a node) in each example file: every place is
# tried, in each example, without thousands of cases.
def sample() -> list[tuple[str, dict[str, Any], Spot]]:
    chosen: dict[tuple[str, str, bool], tuple[str, dict[str, Any], Spot]] = {}
    for name, data, spot in all_spots():
        chosen.setdefault((name, spot[0], spot[2]), (name, data, spot))
    return list(chosen.values())


@pytest.mark.parametrize(
    ("name", "data", "spot"),
    sample(),
    ids=lambda v: v if isinstance(v, str) else json_path(v[1]) if isinstance(v, tuple) else "",
)
def test_a_bad_name_in_any_selector_is_refused_with_the_schemas_message(
    name: str, data: dict[str, Any], spot: Spot
) -> None:
    _, path, key = spot
    file = f"{Path(name).stem}.json"
    assert read_documents([(file, json.dumps(data))], result := LoadResult()).located
    assert result.errors == []
    bad = json.dumps(with_bad_name(data, path, key))
    where = (*path[:-1], BAD) if key else path
    message = (
        f"{json_path(where)}: '{BAD}' is not a valid name: use lowercase letters, digits and "
        "'-', 1 to 63 characters, starting and ending with a letter or digit"
    )
    for read in (read_documents, read_stored):
        result = LoadResult()
        assert read([(file, bad)], result).located == []
        assert message in [f"{e.path}: {e.message}" for e in result.errors]
