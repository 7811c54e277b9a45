"""Files, folders and standard input -> one checked Bundle per alliance.

Every error of a load is collected and reported at once, each located as
`file:line:col: $.json.path: message` and saying how to fix it. A load with any
error returns no bundle for the alliance it concerns: half-checked contracts are
never audited.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, TextIO

import jsonschema
import msgspec
from jsonschema.exceptions import relevance

from registry import messages
from registry.bundle import Bundle
from registry.model import KINDS, AnyDocument, dec_hook
from registry.references import Located, assemble
from registry.schema import kind_schema
from registry.yamlnodes import Parsed, ParseError, parse_json, parse_yaml

MAX_FILE_BYTES = 5 * 1024 * 1024
SUFFIXES = (".yaml", ".yml", ".json")
STDIN = "-"


@dataclass(frozen=True, order=True)
class LoadError:
    file: str
    line: int
    column: int
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.path}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "path": self.path,
            "message": self.message,
        }


@dataclass
class LoadResult:
    bundles: dict[str, Bundle] = field(default_factory=dict)
    errors: list[LoadError] = field(default_factory=list)
    files: int = 0
    documents: int = 0
    # id(error) -> the line its document starts on, for ordering only.
    document_lines: dict[int, int] = field(default_factory=dict, repr=False)

    @property
    def ok(self) -> bool:
        return not self.errors


def load(paths: Sequence[str | Path], stdin: TextIO | None = None) -> LoadResult:
    """Load files and folders (recursively; `-` is standard input)."""
    result = LoadResult()
    texts: list[tuple[str, str]] = []
    for name, raw in _read_all(paths, stdin or sys.stdin, result):
        result.files += 1
        text = _decode(name, raw, result)
        if text is not None:
            texts.append((name, text))
    return load_texts(texts, result)


def load_texts(texts: Iterable[tuple[str, str]], result: LoadResult | None = None) -> LoadResult:
    """Load documents given as (name, text): the HTTP API's door into the same checks."""
    if result is None:
        result = LoadResult()
        texts = list(texts)
        result.files = len(texts)
    located: list[Located] = []
    invalid_alliances: set[str] = set()
    for name, text in texts:
        for parsed in _parse(name, text, result):
            result.documents += 1
            document = _check_document(name, parsed, result)
            if document is not None:
                located.append(Located(document, name, parsed))
            elif isinstance(parsed.data, dict) and parsed.data.get("kind") == "Alliance":
                metadata = parsed.data.get("metadata")
                if isinstance(metadata, dict) and isinstance(metadata.get("name"), str):
                    invalid_alliances.add(metadata["name"])

    def report(where: Located, path: tuple[str | int, ...], message: str) -> None:
        _add(result, where.file, where.parsed, path, message)

    for bundle in assemble(located, report, frozenset(invalid_alliances)):
        result.bundles[bundle.name] = bundle
    # Files in name order, documents in file order, and inside a document the
    # order the checks chose (the schema's best match first).
    starts = result.document_lines
    result.errors = [
        e
        for _, e in sorted(
            enumerate(result.errors), key=lambda ie: (ie[1].file, starts.get(id(ie[1]), 0), ie[0])
        )
    ]
    failed = {e.file for e in result.errors}
    if failed:
        # An alliance touched by any failing file is not handed out.
        for name, bundle in list(result.bundles.items()):
            if any(origin.file in failed for origin in bundle.origins.values()):
                del result.bundles[name]
    return result


def _read_all(
    paths: Sequence[str | Path], stdin: TextIO, result: LoadResult
) -> list[tuple[str, bytes]]:
    out: list[tuple[str, bytes]] = []
    for path in paths:
        if str(path) == STDIN:
            out.append(
                (
                    "<stdin>",
                    stdin.buffer.read() if hasattr(stdin, "buffer") else stdin.read().encode(),
                )
            )
            continue
        p = Path(path)
        if p.is_dir():
            files = sorted(f for f in p.rglob("*") if f.is_file() and f.suffix in SUFFIXES)
            if not files:
                result.errors.append(
                    LoadError(str(p), 1, 1, "$", "the folder holds no .yaml, .yml or .json file")
                )
        elif p.is_file():
            files = [p]
        else:
            result.errors.append(LoadError(str(p), 1, 1, "$", "no such file or folder"))
            continue
        for f in files:
            size = f.stat().st_size
            if size > MAX_FILE_BYTES:
                result.errors.append(
                    LoadError(
                        str(f),
                        1,
                        1,
                        "$",
                        f"the file is {size / 1048576:.1f} MiB, over the {MAX_FILE_BYTES // 1048576} MiB "
                        "limit for one file; split its documents into several files",
                    )
                )
                continue
            out.append((str(f), f.read_bytes()))
    return out


def _decode(name: str, raw: bytes, result: LoadResult) -> str | None:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        column = exc.start - (before.rfind(b"\n") + 1) + 1
        result.errors.append(
            LoadError(
                name,
                line,
                column,
                "$",
                f"the file is not UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start}); save it as UTF-8",
            )
        )
        return None
    return text.removeprefix("\ufeff")


def _parse(name: str, text: str, result: LoadResult) -> list[Parsed]:
    if not text.strip():
        result.errors.append(
            LoadError(name, 1, 1, "$", "the file is empty; write at least one document")
        )
        return []
    try:
        parsed = parse_json(text) if name.endswith(".json") else parse_yaml(text)
    except ParseError as exc:
        result.errors.append(
            LoadError(name, exc.line, exc.column, messages.json_path(exc.path), exc.message)
        )
        return []
    if not parsed:
        result.errors.append(
            LoadError(name, 1, 1, "$", "the file holds no document, only comments or ---")
        )
    return parsed


def _check_document(name: str, parsed: Parsed, result: LoadResult) -> AnyDocument | None:
    data = parsed.data
    if not isinstance(data, dict):
        _add(
            result,
            name,
            parsed,
            (),
            f"expected a document (a mapping with apiVersion, kind, metadata and spec), got {messages.describe_value(data)}",
        )
        return None
    kind = data.get("kind")
    if kind not in KINDS:
        if kind is None:
            message = f"missing required field 'kind'; add one of {', '.join(KINDS)}"
        else:
            message = f"unknown kind {kind!r}{messages.suggest(str(kind), KINDS)}; the kinds are {', '.join(KINDS)}"
        _add(result, name, parsed, ("kind",) if kind is not None else (), message)
        return None
    errors = sorted(_validator(kind).iter_errors(data), key=relevance, reverse=True)
    if errors:
        best, rest = errors[0], errors[1:]
        ordered = [best, *sorted(rest, key=lambda e: parsed.locate(tuple(e.absolute_path)))]
        for error in ordered:
            for path, message in messages.explain(error):
                _add(result, name, parsed, path, message)
        return None
    try:
        return msgspec.convert(data, KINDS[kind], dec_hook=dec_hook)
    except msgspec.ValidationError as exc:  # the schema should have caught it; stay precise anyway
        text, _, where = str(exc).rpartition(" - at `")
        path = messages.parse_json_path(where.rstrip("`")) if where else ()
        _add(result, name, parsed, path, text or str(exc))
        return None


@cache
def _validator(kind: str) -> jsonschema.Draft202012Validator:
    schema = kind_schema(kind)
    return jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


def _add(
    result: LoadResult, file: str, parsed: Parsed, path: tuple[str | int, ...], message: str
) -> None:
    line, column = parsed.locate(path)
    error = LoadError(file, line, column, messages.json_path(path), message)
    result.document_lines[id(error)] = parsed.line
    result.errors.append(error)
