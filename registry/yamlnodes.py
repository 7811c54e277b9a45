"""YAML and JSON text -> plain data plus the position of every value.

YAML goes through ruamel's composer (YAML 1.2, so `no` stays a string) and our
own walk of its nodes, which lets us record positions, refuse duplicate keys and
refuse alias bombs before they expand. JSON takes the standard library's C decoder
(told to refuse duplicate keys; msgspec words its syntax errors); positions are
only worked out (from the text's tokens, where the YAML composer would put them)
when a document has errors to point at, once per text however many errors there are. Both refuse
nesting past MAX_DEPTH before anything recursive walks the data.

What one text (a file, a request body) may cost is bounded before the costly steps
run: at most MAX_DOCUMENTS documents (counted on the raw text, before composing),
at most MAX_ALIAS_VALUES values added by aliases across all its documents (counted
on the node graph, before constructing), integers of at most MAX_INT_DIGITS digits,
and no lone UTF-16 surrogate in any text, which no database could store.
"""

from __future__ import annotations

import io
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

import msgspec
from ruamel.yaml import YAML
from ruamel.yaml.composer import MaxDepthExceededError
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

Path = tuple[str | int, ...]
# Aliases let a few lines name millions of values; real contracts stay far below this.
MAX_EXPANDED_NODES = 1_000_000
# What aliases may add to one text in all: constructing a value costs some 5 us, so
# this bounds them to well under a second (a contract needs a few dozen).
MAX_ALIAS_VALUES = 100_000
# Documents in one text: twice the largest alliance we generate (2,396 documents,
# 4 MB as JSON), which still fits one 5 MiB request body.
MAX_DOCUMENTS = 5_000
# Python's own bound on converting an integer to and from decimal text: a longer one
# would fail wherever it is read or printed. No contract needs a tenth of it.
MAX_INT_DIGITS = 4_300
_INT_BOUND = 10**MAX_INT_DIGITS
# Parsing, schema checks and tree numbering recurse once per level (or more): a limit
# far above any contract (a dozen levels) keeps a hostile file off the stack's end.
MAX_DEPTH = 64
TOO_DEEP = f"the document nests deeper than {MAX_DEPTH} levels; no contract needs that: flatten it"
JSON_SYNTAX = "JSON syntax error"  # how every error of a text that is not JSON begins
# A line that starts or ends a YAML document (never content, even in a block scalar).
_DOCUMENT_MARKERS = {
    "---": re.compile(r"^---(?=[ \t\r\n]|\Z)", re.M),
    "...": re.compile(r"^\.\.\.(?=[ \t\r\n]|\Z)", re.M),
}
_SURROGATE = re.compile("[\ud800-\udfff]")
# A JSON escape that decodes to half a surrogate pair (or to one whole, if paired).
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


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
    # Where the document stands in its file: `(i,)` for item i of a JSON array.
    prefix: Path = ()

    def locate(self, path: Path) -> tuple[int, int]:
        """The position of the value at `path`, or of its nearest ancestor."""
        for end in range(len(path), -1, -1):
            found = self.positions.get(path[:end])
            if found:
                return found
        return self.line, self.column


# What to do when a document's `apiVersion` or `kind` comes twice: most often two
# documents run together (`cat *.yaml | registry validate -`).
SEPARATE_YAML = "separate the documents with a line '---'"
SEPARATE_JSON = "put the documents in a JSON list"


def parse_yaml(text: str, separate: str = SEPARATE_YAML) -> list[Parsed]:
    _count_documents(text)
    yaml = YAML(typ="rt")
    yaml.max_depth = MAX_DEPTH + 1  # the composer counts the document itself
    try:
        nodes = list(yaml.compose_all(io.StringIO(text)))
    except MaxDepthExceededError as exc:
        mark = exc.problem_mark
        raise ParseError(TOO_DEEP, mark.line + 1, mark.column + 1) from None
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise ParseError(
            f"YAML syntax error: {_yaml_problem(exc)}",
            mark.line + 1 if mark else 1,
            mark.column + 1 if mark else 1,
        ) from None
    except YAMLError as exc:
        raise ParseError(f"YAML syntax error: {exc}") from None
    # `---` with nothing after it, as many files end, is no document.
    documents = [node for node in nodes if node is not None and not _is_empty(node)]
    added = 0
    for node in documents:
        added += _check_expansion(node)
        if added > MAX_ALIAS_VALUES:
            raise ParseError(
                f"with this document, aliases add {added:,} values to the text, over the "
                f"limit of {MAX_ALIAS_VALUES:,} for one file or request body; write the "
                "values out or use fewer aliases",
                node.start_mark.line + 1,
                node.start_mark.column + 1,
            )
    out = []
    for node in documents:
        positions: dict[Path, tuple[int, int]] = {}
        try:
            data = _construct(node, (), positions)
        except ParseError as error:
            raise _documents_run_together(error, separate) from None
        out.append(Parsed(data, node.start_mark.line + 1, node.start_mark.column + 1, positions))
    return out


def _documents_run_together(error: ParseError, separate: str) -> ParseError:
    """A top-level `apiVersion` or `kind` seen twice: a second document starts there,
    without the separator."""
    if error.path not in (("apiVersion",), ("kind",)) or not error.message.startswith(
        "duplicate key"
    ):
        return error
    said = error.message.removesuffix("; keep one of them")
    return ParseError(
        f"{said}; if a second document starts here, {separate} (else keep one of them)",
        error.line,
        error.column,
        error.path,
    )


def _count_documents(text: str) -> None:
    """Refuse a text of more than MAX_DOCUMENTS documents before composing any: the
    composer takes some 2 ms per document of a contract's size."""
    for marker, pattern in _DOCUMENT_MARKERS.items():
        for n, match in enumerate(pattern.finditer(text), 1):
            if n > MAX_DOCUMENTS:
                raise ParseError(
                    _too_many_documents(f"'{marker}' number {n:,} is here"),
                    *_end_position(text[: match.start()]),
                )


def _too_many_documents(where: str) -> str:
    return (
        f"over {MAX_DOCUMENTS:,} documents in one file or request body ({where}); "
        f"split them into parts of at most {MAX_DOCUMENTS:,}"
    )


def _is_empty(node: Node) -> bool:
    return isinstance(node, ScalarNode) and (node.tag or "").endswith(":null") and not node.value


_OPENERS = {
    "while parsing a flow sequence": ("[", "]"),
    "while parsing a flow mapping": ("{", "}"),
}


def _yaml_problem(exc: MarkedYAMLError) -> str:
    """ruamel's wording says what the parser saw; add what the writer should do."""
    problem = str(exc.problem or exc.context or "invalid YAML")
    context = str(exc.context or "")
    opened = exc.context_mark
    at = f"line {opened.line + 1}, column {opened.column + 1}" if opened else "above"
    if "'\\t'" in problem:
        return "a tab character; YAML indents with spaces only: replace the tab with spaces"
    alias = re.match(r"found undefined alias '(.*)'", problem)
    if alias:
        name = alias.group(1)
        return (
            f"the alias *{name} has no anchor &{name} before it in this document "
            "(anchors do not reach across ---); define the anchor first or write the value out"
        )
    if context in _OPENERS:
        start, end = _OPENERS[context]
        return f"{problem}: the '{start}' at {at} is not closed; add the missing '{end}' or ','"
    if context == "while scanning a quoted scalar":
        return f"{problem}: the quote at {at} is not closed; add the closing quote"
    if problem == "mapping values are not allowed here":
        return (
            "a ': ' inside a plain value; put the value in quotes, "
            "or start the nested mapping on its own line"
        )
    if problem.startswith("expected <block end>"):
        return (
            f"this line's indentation matches no level of the block that starts at {at}; "
            "indent it like its siblings"
        )
    detail = f" ({context})" if context and exc.problem else ""
    return f"{problem}{detail}; fix the indentation, quoting or brackets here"


def _check_expansion(root: Node) -> int:
    """Refuse documents whose aliases expand past MAX_EXPANDED_NODES, or loop;
    return how many values the aliases add (the expanded size less the nodes).

    Sizes are memoised per node, so this walks each node once however many
    aliases point at it: an alias bomb costs its length, not its expansion."""
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def size(node: Node, path: Path) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        where = (node.start_mark.line + 1, node.start_mark.column + 1)
        if key in active:
            raise ParseError(
                "an alias refers to its own anchor, so the document never ends; remove the alias",
                *where,
                path,
            )
        active.add(key)
        total = 1
        if isinstance(node, MappingNode):
            total += sum(size(k, path) + size(v, (*path, str(k.value))) for k, v in node.value)
        elif isinstance(node, SequenceNode):
            total += sum(size(v, (*path, i)) for i, v in enumerate(node.value))
        active.discard(key)
        sizes[key] = total
        if total > MAX_EXPANDED_NODES:
            raise ParseError(
                f"aliases expand this value past {MAX_EXPANDED_NODES:,} values (an alias bomb?); "
                "write the values out instead of nesting aliases",
                *where,
                path,
            )
        return total

    return size(root, ()) - len(sizes)


def _construct(node: Node, path: Path, positions: dict[Path, tuple[int, int]]) -> Any:
    positions.setdefault(path, (node.start_mark.line + 1, node.start_mark.column + 1))
    if isinstance(node, MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            merge = (key_node.tag or "").endswith(":merge")
            if merge or not isinstance(key_node, ScalarNode):
                raise ParseError(
                    "merge keys (<<: *anchor) are not supported; write the fields out"
                    if merge
                    else "a key must be plain text, not a list or mapping; write it as text",
                    key_node.start_mark.line + 1,
                    key_node.start_mark.column + 1,
                    path,
                )
            key = _text(str(key_node.value), key_node, path)
            if key in out:
                first = positions[(*path, key)]
                raise ParseError(
                    f"duplicate key '{key}' (first at line {first[0]}, column {first[1]}); "
                    "keep one of them",
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
    assert isinstance(node, ScalarNode)
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
        number = None
        if len(text.lstrip("+-")) <= MAX_INT_DIGITS:
            try:
                number = int(text, 10)
            except ValueError:
                number = int(text, 0)
        if number is None or abs(number) >= _INT_BOUND:
            raise ParseError(
                f"a number of over {MAX_INT_DIGITS:,} digits; no contract needs one that "
                "long (nor can it be read back): write a shorter one",
                node.start_mark.line + 1,
                node.start_mark.column + 1,
                path,
            )
        return number
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
        return _text(value, node, path)
    raise ParseError(
        f"the YAML tag '{tag}' is not supported; remove it",
        node.start_mark.line + 1,
        node.start_mark.column + 1,
        path,
    )


def _text(value: str, node: Node, path: Path) -> str:
    """A text with no lone surrogate: `\\ud83d\\ude00` escapes, which JSON reads as one
    character, make one here too; half a pair is refused, as no UTF-8 text (and so
    no database) can hold it."""
    if _SURROGATE.search(value) is None:
        return value
    try:
        return value.encode("utf-16-le", "surrogatepass").decode("utf-16-le")
    except UnicodeDecodeError:
        raise ParseError(
            _lone_surrogate(value), node.start_mark.line + 1, node.start_mark.column + 1, path
        ) from None


def _lone_surrogate(value: str) -> str:
    lone = ord(_SURROGATE.findall(value)[0])
    return (
        f"the text holds U+{lone:04X}, half of a UTF-16 surrogate pair and no character "
        "on its own; remove it, or write the whole character"
    )


class _DuplicateKeyError(Exception):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        raise _DuplicateKeyError
    return out


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_json(text: str) -> list[Parsed]:
    try:
        # The standard decoder can refuse duplicate keys, which JSON leaves open and
        # which would otherwise drop a value without a word.
        data = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constants)
        too_deep = deeper_than(data, MAX_DEPTH)
    except _DuplicateKeyError:
        try:
            _json_layout(text)  # points at the second key
        except ParseError as error:
            raise _documents_run_together(error, SEPARATE_JSON) from None
        raise ParseError("duplicate key; keep one of them") from None
    except ValueError as error:
        if "Exceeds the limit" in str(error):  # Python's bound on decimal integers
            raise _json_long_number(text) from None
        raise _json_syntax_error(text) from None
    except RecursionError:  # nested past the decoder's own limit
        too_deep = True
    if too_deep:
        raise _json_too_deep(text)
    if _SURROGATE_ESCAPE.search(text) and holds_surrogate(data):
        _json_layout(text)  # points at the string
        raise ParseError("a text holds half of a UTF-16 surrogate pair; remove it")
    items = data if isinstance(data, list) else [data]
    if len(items) > MAX_DOCUMENTS:
        raise ParseError(_too_many_documents(f"this array has {len(items):,} items"))
    positions = _JsonPositions(text)
    return [
        _LazyParsed(item, positions, i if isinstance(data, list) else None)
        for i, item in enumerate(items)
    ]


def holds_surrogate(data: Any) -> bool:
    """Whether any key or text in decoded JSON holds a lone UTF-16 surrogate."""
    stack = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            if _SURROGATE.search(value):
                return True
        elif isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return False


def _json_long_number(text: str) -> ParseError:
    found = re.search(rf"\d{{{MAX_INT_DIGITS + 1},}}", text)
    line, column = _end_position(text[: found.start()]) if found else (1, 1)
    return ParseError(
        f"a number of over {MAX_INT_DIGITS:,} digits; no contract needs one that long "
        "(nor can it be read back): write a shorter one",
        line,
        column,
    )


def deeper_than(data: Any, limit: int) -> bool:
    """Whether a mapping or list stands more than `limit` keys and indexes deep."""
    # Level by level, keeping only the containers of each: the texts and numbers (most
    # values) are looked at once, in a comprehension, never pushed on a stack.
    level = [data] if isinstance(data, _CONTAINERS) else []
    depth = 0
    while level:
        if depth > limit:
            return True
        below: list[Any] = []
        for value in level:
            below.extend(value.values() if isinstance(value, dict) else value)
        level = [v for v in below if isinstance(v, _CONTAINERS)]
        depth += 1
    return False


_CONTAINERS = (dict, list)


def _json_too_deep(text: str) -> ParseError:
    """Where the JSON text first opens a bracket too deep, found by counting them."""
    depth = 0
    for match in _JSON_BRACKETS.finditer(text):
        char = match.group()[0]
        if char in "[{":
            depth += 1
            if depth > MAX_DEPTH + 1:  # the outermost bracket is the document itself
                return ParseError(TOO_DEEP, *_end_position(text[: match.start()]))
        elif char in "]}":
            depth -= 1
    return ParseError(TOO_DEEP)


# JSON's tokens: strings (skipped whole, escapes and all), punctuation, and the rest
# (numbers, true, false, null) up to the next punctuation or space.
_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\]:,]|[^\s{}\[\]:,"]+')
_JSON_BRACKETS = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\]]')


class _Lines:
    """Line and column of text offsets asked in increasing order."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._offset = 0
        self._line = 1
        self._line_start = 0

    def at(self, offset: int) -> tuple[int, int]:
        newlines = self._text.count("\n", self._offset, offset)
        if newlines:
            self._line += newlines
            self._line_start = self._text.rfind("\n", self._offset, offset) + 1
        self._offset = offset
        return self._line, offset - self._line_start + 1


def _json_layout(text: str) -> Positions:
    """Where every value of a JSON text stands, as the YAML composer would say (a
    mapping entry at its key), read off its tokens: some twenty times faster than
    composing. Raises, located, the ParseError of a duplicate key or of half a
    surrogate pair."""
    lines = _Lines(text)
    positions: Positions = {}
    # Per open bracket: its path, and a mapping's keys so far (None for an array).
    open_: list[tuple[Path, dict[str, tuple[int, int]] | None]] = []
    items: list[int] = []  # per open bracket, the index of an array's current item
    key, expect_key = "", False
    for match in _JSON_TOKEN.finditer(text):
        token = match.group()
        first = token[0]
        if first == ":":
            continue
        if first == ",":
            if open_[-1][1] is None:
                items[-1] += 1
            else:
                expect_key = True
            continue
        if first in "}]":
            open_.pop()
            items.pop()
            expect_key = False
            continue
        where = lines.at(match.start())
        if expect_key:
            path, keys = open_[-1]
            assert keys is not None
            key = _json_string(token, where, path)
            if key in keys:
                first_at = keys[key]
                raise ParseError(
                    f"duplicate key '{key}' (first at line {first_at[0]}, column "
                    f"{first_at[1]}); keep one of them",
                    *where,
                    (*path, key),
                )
            keys[key] = positions[(*path, key)] = where
            expect_key = False
            continue
        if not open_:
            here: Path = ()
        else:
            path, keys = open_[-1]
            here = (*path, items[-1]) if keys is None else (*path, key)
        positions.setdefault(here, where)
        if first == "{":
            open_.append((here, {}))
            items.append(0)
            expect_key = True
        elif first == "[":
            open_.append((here, None))
            items.append(0)
        elif first == '"':
            _json_string(token, where, here)
    return positions


def _json_string(token: str, where: tuple[int, int], path: Path) -> str:
    value: str = json.loads(token) if "\\" in token else token[1:-1]
    if _SURROGATE.search(value):
        raise ParseError(_lone_surrogate(value), *where, path)
    return value


def _json_syntax_error(text: str) -> ParseError:
    """msgspec words JSON errors better than the standard library; ask it."""
    try:
        msgspec.json.decode(text)
    except msgspec.DecodeError as exc:
        message = str(exc)
    else:
        message = "JSON is malformed: NaN and Infinity are not JSON numbers"
    line, column = _json_error_position(text, message)
    if message == "Input data was truncated":
        line, column = _end_position(text.rstrip())
        problem = "the text ends before the JSON does; close every '{' and '['"
    else:
        problem = re.sub(r" \(byte \d+\)$", "", message.removeprefix("JSON is malformed: "))
        fix = "remove the comma before this" if "trailing comma" in problem else "fix the JSON here"
        problem += f"; {fix}"
    return ParseError(f"{JSON_SYNTAX}: {problem}", line, column)


def lazy_json(text: str) -> Parsed:
    """One JSON document known to parse, whose positions are found only if asked."""
    return _LazyParsed(None, _JsonPositions(text), None)


Positions = dict[Path, tuple[int, int]]


class _JsonPositions:
    """Where the values of one JSON text stand, worked out through the YAML composer
    the first time any of its documents is asked, for all of them at once: locating
    the errors of many documents costs one parse of their text."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._items: dict[int | None, tuple[tuple[int, int], Positions]] | None = None

    def of(self, index: int | None) -> tuple[tuple[int, int], Positions]:
        """Where document `index` of the array (None: the whole text) starts, and
        the positions inside it."""
        if self._items is None:
            self._items = self._work_out()
        return self._items.get(index, ((1, 1), {}))

    def _work_out(self) -> dict[int | None, tuple[tuple[int, int], Positions]]:
        try:
            layout = _json_layout(self._text)
        except (ParseError, ValueError, IndexError):  # not JSON after all: no positions
            return {}
        items: dict[int | None, tuple[tuple[int, int], Positions]] = {
            None: (layout.get((), (1, 1)), layout)
        }
        inside: dict[int, Positions] = {}
        for path, position in layout.items():
            if path and isinstance(path[0], int):
                inside.setdefault(path[0], {})[path[1:]] = position
        for i, positions in inside.items():
            items[i] = (positions.get((), (1, 1)), positions)
        return items


class _LazyParsed(Parsed):
    """A JSON document whose positions are found only when something asks."""

    def __init__(self, data: Any, positions: _JsonPositions, index: int | None) -> None:
        super().__init__(data, 1, 1, prefix=() if index is None else (index,))
        self._positions = positions
        self._index = index
        self._located = False

    def locate(self, path: Path) -> tuple[int, int]:
        if not self._located:
            self._located = True
            (self.line, self.column), self.positions = self._positions.of(self._index)
        return super().locate(path)


def _json_error_position(text: str, message: str) -> tuple[int, int]:
    marker = "(byte "
    if marker not in message:
        return 1, 1
    offset = int(message.split(marker, 1)[1].split(")", 1)[0])
    return _end_position(text.encode("utf-8")[:offset].decode("utf-8", errors="replace"))


def _end_position(before: str) -> tuple[int, int]:
    """The line and column just after `before`."""
    return before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1
