"""YAML and JSON text -> plain data plus the position of every value.

YAML goes through ruamel's composer (YAML 1.2, so `no` stays a string) and our
own walk of its nodes, which lets us record positions, refuse duplicate keys and
refuse alias bombs before they expand. JSON takes msgspec's fast decoder; its
positions are only worked out (through the YAML composer, JSON being YAML) when
a document has errors to point at.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import msgspec
from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

Path = tuple[str | int, ...]
# Aliases let a few lines name millions of values; real contracts stay far below this.
MAX_EXPANDED_NODES = 1_000_000


class ParseError(Exception):
    def __init__(self, message: str, line: int = 1, column: int = 1, path: Path = ()) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column
        self.path = path


@dataclass
class Parsed:
    """One document of a file, with where each of its values stands."""

    data: Any
    line: int
    column: int
    positions: dict[Path, tuple[int, int]] = field(default_factory=dict)

    def locate(self, path: Path) -> tuple[int, int]:
        """The position of the value at `path`, or of its nearest ancestor."""
        for end in range(len(path), -1, -1):
            found = self.positions.get(path[:end])
            if found:
                return found
        return self.line, self.column


def parse_yaml(text: str) -> list[Parsed]:
    yaml = YAML(typ="rt")
    try:
        nodes = list(yaml.compose_all(io.StringIO(text)))
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        context = f" ({exc.context})" if exc.context and exc.problem else ""
        raise ParseError(
            f"YAML syntax error: {problem}{context}; fix the indentation or quoting here",
            mark.line + 1 if mark else 1,
            mark.column + 1 if mark else 1,
        ) from None
    except YAMLError as exc:
        raise ParseError(f"YAML syntax error: {exc}") from None
    out = []
    for node in nodes:
        if node is None:
            continue
        _check_expansion(node)
        positions: dict[Path, tuple[int, int]] = {}
        data = _construct(node, (), positions)
        out.append(Parsed(data, node.start_mark.line + 1, node.start_mark.column + 1, positions))
    return out


def _check_expansion(root: Node) -> None:
    """Refuse documents whose aliases expand past MAX_EXPANDED_NODES, or loop."""
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def size(node: Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in active:
            raise ParseError(
                "an alias refers to its own anchor, so the document never ends; remove the alias",
                node.start_mark.line + 1,
                node.start_mark.column + 1,
            )
        active.add(key)
        total = 1
        if isinstance(node, MappingNode):
            total += sum(size(k) + size(v) for k, v in node.value)
        elif isinstance(node, SequenceNode):
            total += sum(size(v) for v in node.value)
        active.discard(key)
        sizes[key] = total
        if total > MAX_EXPANDED_NODES:
            raise ParseError(
                f"aliases expand this document past {MAX_EXPANDED_NODES:,} values "
                "(an alias bomb?); write the values out or split the document",
                node.start_mark.line + 1,
                node.start_mark.column + 1,
            )
        return total

    size(root)


def _construct(node: Node, path: Path, positions: dict[Path, tuple[int, int]]) -> Any:
    positions.setdefault(path, (node.start_mark.line + 1, node.start_mark.column + 1))
    if isinstance(node, MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode) or key_node.tag.endswith(":merge"):
                raise ParseError(
                    "only plain keys are supported here (no merge keys or complex keys); "
                    "write the fields out",
                    key_node.start_mark.line + 1,
                    key_node.start_mark.column + 1,
                    path,
                )
            key = str(key_node.value)
            if key in out:
                first = positions[(*path, key)]
                raise ParseError(
                    f"duplicate key '{key}' (first at line {first[0]}); keep one of them",
                    key_node.start_mark.line + 1,
                    key_node.start_mark.column + 1,
                    (*path, key),
                )
            # Point a mapping entry at its key: that is the line a person reads.
            positions[(*path, key)] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            out[key] = _construct(value_node, (*path, key), positions)
        return out
    if isinstance(node, SequenceNode):
        return [_construct(item, (*path, i), positions) for i, item in enumerate(node.value)]
    return _scalar(node, path)


def _scalar(node: ScalarNode, path: Path) -> Any:
    tag = node.tag or ""
    value = node.value
    if tag.endswith(":null"):
        return None
    if tag.endswith(":bool"):
        return value.lower() == "true"
    if tag.endswith(":int"):
        text = value.replace("_", "")
        try:
            return int(text, 10)
        except ValueError:
            return int(text, 0)
    if tag.endswith(":float"):
        lowered = value.lower().replace("_", "")
        if lowered.endswith((".inf", ".nan")):
            return (
                math.copysign(math.inf, -1 if lowered.startswith("-") else 1)
                if "inf" in lowered
                else math.nan
            )
        return float(lowered)
    if tag.endswith((":str", ":timestamp")):
        # Dates stay text: the schema checks their form and msgspec parses them.
        return value
    raise ParseError(
        f"the YAML tag '{tag}' is not supported; remove it",
        node.start_mark.line + 1,
        node.start_mark.column + 1,
        path,
    )


def parse_json(text: str) -> list[Parsed]:
    try:
        data = msgspec.json.decode(text)
    except msgspec.DecodeError as exc:
        line, column = _json_error_position(text, str(exc))
        raise ParseError(f"JSON syntax error: {exc}; fix the JSON here", line, column) from None
    items = data if isinstance(data, list) else [data]
    return [
        _LazyParsed(item, text, i if isinstance(data, list) else None)
        for i, item in enumerate(items)
    ]


class _LazyParsed(Parsed):
    """A JSON document whose positions are found only when something asks."""

    def __init__(self, data: Any, text: str, index: int | None) -> None:
        super().__init__(data, 1, 1)
        self._text = text
        self._index = index
        self._located = False

    def locate(self, path: Path) -> tuple[int, int]:
        if not self._located:
            self._located = True
            try:
                (whole,) = parse_yaml(self._text)
            except (ParseError, ValueError):
                return 1, 1
            prefix: Path = () if self._index is None else (self._index,)
            n = len(prefix)
            self.positions = {p[n:]: pos for p, pos in whole.positions.items() if p[:n] == prefix}
            self.line, self.column = whole.positions.get(prefix, (1, 1))
        return super().locate(path)


def _json_error_position(text: str, message: str) -> tuple[int, int]:
    marker = "(byte "
    if marker not in message:
        return 1, 1
    offset = int(message.split(marker, 1)[1].split(")", 1)[0])
    before = text.encode("utf-8")[:offset].decode("utf-8", errors="replace")
    return before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1


def iter_paths(data: Any, path: Path = ()) -> Iterator[Path]:
    yield path
    if isinstance(data, dict):
        for key, value in data.items():
            yield from iter_paths(value, (*path, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from iter_paths(value, (*path, i))
