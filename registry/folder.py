"""A contracts folder, the way alliance managers keep theirs in a repository: the
documents of one alliance pulled into YAML files, and the documents a folder holds
for one alliance, to send.

A pull writes one file per kind (`alliance.yaml`, `partners.yaml`, ...), or, for a
document the folder holds already, the file it stands in, at its place there; each
document is written from the server's canonical form in one fixed style, so a pull
right after an apply changes no byte. A file whose documents are all gone is removed.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from registry.errors import InvalidRequest
from registry.load import SUFFIXES, LoadResult, hidden
from registry.model import KINDS, Alliance, AnyDocument, PolicySet, to_builtins

# Where a pull puts a document the folder does not hold yet.
KIND_FILES = {
    "Alliance": "alliance.yaml",
    "Partner": "partners.yaml",
    "Contract": "contracts.yaml",
    "Waiver": "waivers.yaml",
    "PolicySet": "policies.yaml",
    "Expectation": "expectations.yaml",
}
KIND_ORDER = list(KINDS)


@dataclass(frozen=True)
class Pulled:
    """One stored document: its kind, name and body (the server's canonical JSON)."""

    kind: str
    name: str
    body: Mapping[str, Any]

    @property
    def ref(self) -> str:
        return f"{self.kind}/{self.name}"


def _yaml() -> YAML:
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = None  # collections of scalars on one line: {from: ...}, [a, b]
    yaml.sort_base_mapping_type_on_output = False  # type: ignore[assignment]  # field order
    yaml.width = 4096  # no folded lines: a diff shows the value that changed
    yaml.allow_unicode = True
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def render(documents: Sequence[Mapping[str, Any]], json_file: bool = False) -> str:
    """The text of one file holding these documents, in the one style of a pull."""
    if json_file:
        data: Any = documents[0] if len(documents) == 1 else list(documents)
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    out = io.StringIO()
    _yaml().dump_all([_envelope_first(d) for d in documents], out)
    return out.getvalue()


def _envelope_first(document: Mapping[str, Any]) -> dict[str, Any]:
    """apiVersion, kind, metadata, spec: the order people write (the stored form puts
    the kind, its tag, first)."""
    order = ("apiVersion", "kind", "metadata", "spec")
    return {k: document[k] for k in order if k in document} | dict(document)


def layout(folder: Path) -> dict[str, tuple[Path, int]]:
    """Ref -> (the file that holds the document, its place in it) for every document
    the folder's files hold; a file that cannot be read is refused."""
    found: dict[str, tuple[Path, int]] = {}
    if not folder.is_dir():
        return found
    files = (p for p in folder.rglob("*") if p.is_file() and p.suffix in SUFFIXES)
    for path in sorted(p for p in files if not hidden(p.relative_to(folder))):
        for i, data in enumerate(_read(path)):
            if isinstance(data, Mapping) and isinstance(data.get("metadata"), Mapping):
                ref = f"{data.get('kind')}/{data['metadata'].get('name')}"
                found.setdefault(ref, (path, i))
    return found


def _read(path: Path) -> list[Any]:
    try:
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".json":
            data = json.loads(text)
            return data if isinstance(data, list) else [data]
        return list(YAML(typ="safe", pure=True).load_all(text))
    except (OSError, UnicodeDecodeError, ValueError, YAMLError) as error:
        raise InvalidRequest(
            f"{path}: cannot be read ({str(error).splitlines()[0]}); the pull keeps each "
            "document where the folder holds it, so fix or remove the file first"
        ) from None


def write(folder: Path, documents: Iterable[Pulled]) -> tuple[list[Path], list[Path]]:
    """Write the documents into the folder; (the files written, the files removed).
    Files whose text would not change are not touched."""
    where = layout(folder)
    held: dict[Path, list[tuple[tuple[Any, ...], Pulled]]] = {}
    for doc in documents:
        path, place = where.get(doc.ref, (folder / KIND_FILES[doc.kind], -1))
        # Documents keep their place; new ones follow, by kind and name.
        key = (place if place >= 0 else 1 << 30, KIND_ORDER.index(doc.kind), doc.name)
        held.setdefault(path, []).append((key, doc))
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for path, entries in sorted(held.items()):
        bodies = [doc.body for _, doc in sorted(entries, key=lambda e: e[0])]
        text = render(bodies, json_file=path.suffix == ".json")
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            written.append(path)
    removed = []
    for path in sorted({p for p, _ in where.values()} - set(held)):
        path.unlink()
        removed.append(path)
    return written, removed


def alliance_documents(result: LoadResult, alliance: str) -> list[AnyDocument]:
    """The documents of a load that belong to the alliance: its Alliance, every
    document naming it, and the PolicySet it names when that one names no alliance."""
    bundle = result.bundles[alliance]
    policy = bundle.alliance.spec.policy
    return [
        doc
        for doc in result.checked
        if (isinstance(doc, Alliance) and doc.name == alliance)
        or (not isinstance(doc, Alliance) and doc.metadata.alliance == alliance)
        or (isinstance(doc, PolicySet) and doc.metadata.alliance is None and doc.name == policy)
    ]


def sendable(documents: Iterable[AnyDocument]) -> list[Any]:
    return [to_builtins(doc) for doc in documents]
