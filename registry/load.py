"""Files, folders and standard input -> one checked Bundle per alliance.

Every error of a load is collected and reported at once, each located as
`file:line:col: $.json.path: message` and saying how to fix it. A load with any
error returns no bundle for the alliance it concerns, and none at all when a file
could not be read (it may have held any alliance's documents): half-checked
contracts are never audited.

A document failing its schema still has its references and dates checked on what
of it is left once the values its errors point at are taken out (`_salvage`); a
reference that only a document of an unreadable file could have satisfied is not
reported, since that file's own error is the mistake (`references.Unchecked`).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, TextIO

import jsonschema
import msgspec
from jsonschema.exceptions import WEAK_MATCHES, ValidationError

from registry import messages
from registry.bundle import Bundle
from registry.engine import paused_gc
from registry.errors import LocatedError
from registry.model import (
    KINDS,
    SLUG_PATTERN,
    TICKET_SOURCES,
    AnyDocument,
    dec_hook,
    selector_names_fit,
)
from registry.references import Located, Place, Spot, Unchecked, assemble
from registry.schema import kind_schema
from registry.yamlnodes import Parsed, ParseError, lazy_json, parse_json, parse_yaml

MAX_FILE_BYTES = 5 * 1024 * 1024
SUFFIXES = (".yaml", ".yml", ".json")
STDIN = "-"


@dataclass
class LoadResult:
    bundles: dict[str, Bundle] = field(default_factory=dict)
    errors: list[LocatedError] = field(default_factory=list)
    files: int = 0
    documents: int = 0
    # Every document that passed its own checks, in load order, whether or not its
    # alliance did: for tools that want documents rather than bundles.
    checked: list[AnyDocument] = field(default_factory=list)
    # id(error) -> the line its document starts on, for ordering only.
    document_lines: dict[int, int] = field(default_factory=dict, repr=False)
    # Files that could not be read as documents (not UTF-8, a syntax error, too
    # large): they may have held any document.
    unread: set[str] = field(default_factory=set, repr=False)

    @property
    def ok(self) -> bool:
        return not self.errors


def load(paths: Sequence[str | Path], stdin: TextIO | None = None) -> LoadResult:
    """Load files and folders (recursively; `-` is standard input)."""
    result = LoadResult()
    texts: list[tuple[str, str]] = []
    for name, raw in _read_all(paths, stdin or sys.stdin, result):
        result.files += 1
        text = decode_text(name, raw, result)
        if text is not None:
            texts.append((name, text))
    return load_texts(texts, result)


def hidden(path: Path) -> bool:
    """A folder's hidden files and folders are not read: a contracts repository's
    .github/ workflows and .pre-commit-config.yaml are no documents."""
    return any(part.startswith(".") for part in path.parts)


def load_texts(texts: Iterable[tuple[str, str]], result: LoadResult | None = None) -> LoadResult:
    """Load documents given as (name, text); a name ending in `.json` is read as JSON."""
    if result is None:
        result = LoadResult()
        texts = list(texts)
        result.files = len(texts)
    # A load makes some 10^6 containers and no reference cycles: the collector's
    # passes over them (and the whole heap) would take as long as the load itself.
    with paused_gc:
        documents = read_documents(texts, result)
        return bundle_documents(documents, result)


@dataclass
class Documents:
    """The documents of some texts: those that passed their own checks, and what the
    envelope of each other one says."""

    located: list[Located] = field(default_factory=list)
    unchecked: list[Unchecked] = field(default_factory=list)
    parsed_files: set[str] = field(default_factory=set)

    def __add__(self, other: Documents) -> Documents:
        return Documents(
            self.located + other.located,
            self.unchecked + other.unchecked,
            self.parsed_files | other.parsed_files,
        )


def read_documents(texts: Iterable[tuple[str, str]], result: LoadResult) -> Documents:
    """Parse texts and check each document on its own (schema, types), not yet its
    references to other documents. Errors go to `result`."""
    found = Documents()
    for name, text in texts:
        documents = _parse(name, text, result)
        if documents:
            found.parsed_files.add(name)
        for parsed in documents:
            result.documents += 1
            document, salvaged = _check_document(name, parsed, result)
            if document is not None:
                found.located.append(Located(document, name, parsed))
                result.checked.append(document)
            else:
                found.unchecked.append(Unchecked.of(parsed.data, Spot(name, parsed), salvaged))
    return found


_STORED = msgspec.json.Decoder(AnyDocument, dec_hook=dec_hook)


def read_stored(
    texts: Iterable[tuple[str, str | AnyDocument]], result: LoadResult, *, trusted: bool = False
) -> Documents:
    """Documents the registry stored after checking them, decoded straight into their
    Structs: some five times faster than the checked path, which a document takes
    only if it no longer decodes (a database edited by hand). A document given
    decoded already (kept from an earlier revision, unchanged since) is taken as is.
    `trusted`: the write path stored these as they are (`StoredDocument.intact`), so
    their selectors' names, which msgspec does not check (model.NodeName), are not
    checked again either."""
    found = Documents()
    with paused_gc:
        for name, text in texts:
            if isinstance(text, str):
                try:
                    document = _STORED.decode(text)
                except msgspec.DecodeError:
                    document = None
                if document is None or not (trusted or selector_names_fit(document)):
                    found += read_documents([(name, text)], result)
                    continue
                parsed = lazy_json(text)
            else:
                document, parsed = text, lazy_json("")
            result.documents += 1
            found.located.append(Located(document, name, parsed))
            found.parsed_files.add(name)
            result.checked.append(document)
    return found


def bundle_documents(
    documents: Documents,
    result: LoadResult,
    *,
    trusted: bool = False,
    earlier: Mapping[str, Bundle] | None = None,
) -> LoadResult:
    """Check every reference between the documents and assemble the bundles.

    `trusted`: the documents are an alliance as the write path stored it, checked
    whole then (`StoredDocument.intact`), so its reference checks are not run again;
    what makes the bundle (the dimension trees, grouping, order, policy) is the same.
    `earlier`: bundles of a revision before, whose unchanged parts are kept (`assemble`)."""

    def report(where: Place, path: tuple[str | int, ...], message: str) -> None:
        _add(result, where.file, where.parsed, path, message)

    unchecked = documents.unchecked + ([Unchecked.unread()] if result.unread else [])
    with paused_gc:
        bundles = assemble(documents.located, report, unchecked, trusted=trusted, earlier=earlier)
    for bundle in bundles:
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
    if failed - documents.parsed_files:
        # A file that could not be read at all may have held any alliance's documents.
        result.bundles.clear()
    # An alliance touched by any failing file is not handed out.
    for name, bundle in list(result.bundles.items()):
        if any(origin.file in failed for origin in bundle.origins.values()):
            del result.bundles[name]
    return result


def _read_all(
    paths: Sequence[str | Path], stdin: TextIO, result: LoadResult
) -> list[tuple[str, bytes]]:
    out: list[tuple[str, bytes]] = []
    seen: set[Path] = set()
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
            files = sorted(f for f in p.rglob("*") if f.is_file() and f.suffix in SUFFIXES
                           and not hidden(f.relative_to(p)))  # fmt: skip
            if not files:
                result.errors.append(
                    _at_start(str(p), "the folder holds no .yaml, .yml or .json file")
                )
        elif p.is_file():
            files = [p]
        else:
            result.errors.append(_at_start(str(p), "no such file or folder"))
            continue
        for f in files:
            if f.resolve() in seen:
                continue  # named twice (a folder and a file in it): load it once
            seen.add(f.resolve())
            size = f.stat().st_size
            if size > MAX_FILE_BYTES:
                result.unread.add(str(f))
                result.errors.append(
                    _at_start(
                        str(f),
                        f"the file is {size / 1048576:.1f} MiB, over the "
                        f"{MAX_FILE_BYTES // 1048576} MiB limit for one file; "
                        "split its documents into several files",
                    )
                )
                continue
            out.append((str(f), f.read_bytes()))
    return out


def decode_text(name: str, raw: bytes, result: LoadResult) -> str | None:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        result.unread.add(name)
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        column = exc.start - (before.rfind(b"\n") + 1) + 1
        result.errors.append(
            LocatedError(
                "$",
                f"the file is not UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start}); "
                "save it as UTF-8",
                name,
                line,
                column,
            )
        )
        return None
    return text.removeprefix("\ufeff")


def _parse(name: str, text: str, result: LoadResult) -> list[Parsed]:
    if not text.strip():
        result.errors.append(_at_start(name, "the file is empty; write at least one document"))
        return []
    try:
        parsed = parse_json(text) if name.endswith(".json") else parse_yaml(text)
    except ParseError as exc:
        result.unread.add(name)
        result.errors.append(
            LocatedError(messages.json_path(exc.path), exc.message, name, exc.line, exc.column)
        )
        return []
    if not parsed:
        result.errors.append(
            _at_start(
                name,
                "the file holds no document, only comments or ---; write one or remove the file",
            )
        )
    return parsed


# Kinds whose schema adds to their Struct only that metadata.alliance is required.
# The Alliance schema adds its trees and ticket sources (`_plain_alliance`); the
# PolicySet's (rule ids) always goes through jsonschema.
_FAST_KINDS = frozenset({"Partner", "Contract", "Waiver", "Expectation"})
_SLUG = re.compile(SLUG_PATTERN)


def _plain_tree(tree: Any) -> bool:
    """Whether a dimension tree surely passes the schema's `$defs/Tree` (null, a list
    of slugs, or slugs to trees); False leaves the verdict to jsonschema."""
    if tree is None:
        return True
    if type(tree) is list:
        return all(type(n) is str and _SLUG.search(n) for n in tree)
    if type(tree) is dict:
        return all(type(k) is str and _SLUG.search(k) and _plain_tree(v) for k, v in tree.items())
    return False


def _plain_alliance(data: dict[str, Any], document: AnyDocument) -> bool:
    """Whether an Alliance msgspec accepted surely passes its schema too: no
    metadata.alliance, every tree plain, every ticket dimension reading exactly one
    source. False leaves the verdict (and the messages) to jsonschema."""
    if document.metadata.alliance is not None:
        return False
    spec = data["spec"]
    try:
        if not all(_plain_tree(tree) for tree in spec["dimensions"].values()):
            return False
    except RecursionError:
        return False
    tickets = spec.get("tickets")
    dimensions = tickets["dimensions"].values() if tickets is not None else ()
    return all(sum(source in d for source in TICKET_SOURCES) == 1 for d in dimensions)


def _check_document(
    name: str, parsed: Parsed, result: LoadResult
) -> tuple[AnyDocument | None, AnyDocument | None]:
    """The document, or None and what of it can be salvaged (`_salvage`)."""
    data = parsed.data
    if not isinstance(data, dict):
        _add(
            result,
            name,
            parsed,
            (),
            "expected a document (a mapping with apiVersion, kind, metadata and spec), "
            f"got {messages.describe_value(data)}",
        )
        return None, None
    kind = data.get("kind")
    if not isinstance(kind, str) or kind not in KINDS:
        _add(result, name, parsed, () if kind is None else ("kind",), _bad_kind(kind))
        return None, None
    if kind in _FAST_KINDS:
        # The schemas are generated from the Structs, so a document msgspec accepts
        # passes them too; jsonschema (100x slower) runs only to explain a failure.
        # The one rule the schemas add, metadata.alliance being required, is checked here.
        try:
            document = msgspec.convert(data, KINDS[kind], dec_hook=dec_hook)
        except msgspec.ValidationError:
            document = None
        if (
            document is not None
            and document.metadata.alliance is not None
            and selector_names_fit(document)
        ):
            return document, None
    elif kind == "Alliance":  # the same, with what its schema adds checked here
        try:
            document = msgspec.convert(data, KINDS[kind], dec_hook=dec_hook)
        except msgspec.ValidationError:
            document = None
        if (
            document is not None
            and _plain_alliance(data, document)
            and selector_names_fit(document)
        ):
            return document, None
    errors = list(_validator(kind).iter_errors(data))
    if errors:
        said = _best_first(errors, parsed)
        for path, message in said:
            _add(result, name, parsed, path, message)
        return None, _salvage(kind, data, [path for path, _ in said])
    try:
        return msgspec.convert(data, KINDS[kind], dec_hook=dec_hook), None
    except msgspec.ValidationError as exc:  # the schema should have caught it; stay precise anyway
        message, path = _conversion_error(exc)
        _add(result, name, parsed, path, message)
        return None, None


def _conversion_error(exc: msgspec.ValidationError) -> tuple[str, tuple[str | int, ...]]:
    text, _, where = str(exc).rpartition(" - at `")
    path = messages.parse_json_path(where.rstrip("`")) if where else ()
    return text or str(exc), path


# A salvage leaves out one value per conversion error: a few suffice in practice.
MAX_SALVAGE_STEPS = 50


def _salvage(
    kind: str, data: dict[str, Any], failed: list[tuple[str | int, ...]]
) -> AnyDocument | None:
    """What of a document failing its schema is still a document once the values its
    errors point at are left out (`_leave_out`), for the reference and date checks
    that can run on the rest; None when too little is left (a required field among
    them). Never of an Alliance: its parts are what its own references point at, so
    a part left out would make them look unknown."""
    if kind == "Alliance":
        return None
    kept = _copy(data)
    for path in failed:
        if not _leave_out(kept, path):
            return None
    for _ in range(MAX_SALVAGE_STEPS):
        try:
            document = msgspec.convert(kept, KINDS[kind], dec_hook=dec_hook)
        except msgspec.ValidationError as exc:
            if not _leave_out(kept, _conversion_error(exc)[1]):
                return None
            continue
        return document if document.metadata.alliance or kind == "PolicySet" else None
    return None


def _leave_out(data: dict[str, Any], path: tuple[str | int, ...]) -> bool:
    """Remove the innermost mapping entry holding the value at `path`. A list item goes
    with its whole list, so that the items left keep the indexes errors name. False
    when that entry would be the envelope itself (apiVersion, kind, metadata, spec)."""
    for end in range(len(path), 1, -1):
        key = path[end - 1]
        container: Any = data
        for step in path[: end - 1]:
            try:
                container = container[step]
            except (KeyError, IndexError, TypeError):
                container = None
                break
        if isinstance(key, str) and isinstance(container, dict) and key in container:
            del container[key]
            return True
    return False


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def _bad_kind(kind: Any) -> str:
    kinds = ", ".join(KINDS)
    if kind is None:
        return f"missing required field 'kind'; add one of {kinds}"
    if not isinstance(kind, str):
        return f"expected a kind ({kinds}), got {messages.describe_value(kind)}"
    message = messages.unknown("kind", kind, list(KINDS))
    return f"{message}; the kinds are {kinds}" if "did you mean" in message else message


def _best_first(
    errors: list[ValidationError], parsed: Parsed
) -> list[tuple[tuple[str | int, ...], str]]:
    """The messages of the best match first, then the rest in file order.

    The best match is the shallowest error, as in jsonschema's `best_match`: a
    missing `spec` says more than a bad duration inside it; ties go to the earliest
    in the file. Messages are ordered by where they point, never by the order
    jsonschema found them in, which follows set iteration in places."""

    def place(pair: tuple[tuple[str | int, ...], str]) -> tuple[tuple[int, int], str, str]:
        return parsed.locate(pair[0]), messages.json_path(pair[0]), pair[1]

    groups = messages.explain_all(errors)
    if not any(groups):  # cannot happen; never let a failing document go unexplained
        groups = [[(tuple(e.absolute_path), e.message)] for e in errors]
    said = [i for i, group in enumerate(groups) if group]
    best = min(
        said,
        key=lambda i: (
            len(errors[i].absolute_path),
            errors[i].validator in WEAK_MATCHES,
            min(place(pair) for pair in groups[i]),
        ),
    )
    rest = [pair for i in said if i != best for pair in groups[i]]
    return sorted(groups[best], key=place) + sorted(rest, key=place)


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
    error = LocatedError(messages.json_path((*parsed.prefix, *path)), message, file, line, column)
    result.document_lines[id(error)] = parsed.line
    result.errors.append(error)


def _at_start(file: str, message: str) -> LocatedError:
    """An error about a whole file or folder: pointed at its first line."""
    return LocatedError("$", message, file, 1, 1)
