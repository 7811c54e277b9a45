"""The rooms of `registry/` and what each may import (docs/architecture.md): the core
imports nothing above it, the store only the core, the service the core and the
store, and each door (CLI, API, web) the core and the service, never the store nor
another door. Read off every import statement of every module, those inside
functions too."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parent.parent / "registry"

# Module -> room, by the longest matching prefix; everything else is the core.
ROOMS = {
    "registry.store": "store",
    "registry.service": "service",
    "registry.api": "api",
    "registry.web": "web",
    "registry.cli": "cli",
    "registry.serve": "cli",  # the server commands of the command line
    "registry.remote": "cli",  # its repository commands (pull, plan/apply --server)
    "registry.__main__": "cli",
    "registry.server": "server",  # the app that mounts the two HTTP doors
    "registry.connections": "server",  # the HTTP/1.1 connections uvicorn serves it on
    "registry.client": "client",  # the HTTP client: the core and httpx, no server room
}
DOORS = {"api", "web", "cli"}
MAY_IMPORT = {
    "core": {"core"},
    "store": {"core", "store"},
    "service": {"core", "store", "service"},
    "api": {"core", "service", "api"},
    "web": {"core", "service", "web"},
    "cli": {"core", "service", "cli", "client"},
    "client": {"core", "client"},
    "server": {"core", "store", "service", "api", "web", "server"},
}


def room(module: str) -> str:
    for prefix, name in sorted(ROOMS.items(), key=lambda item: -len(item[0])):
        if module == prefix or module.startswith(prefix + "."):
            return name
    return "core"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every registry module this file imports."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module_name(path)
    if path.name != "__init__.py":
        package = package.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.append((node.lineno, base))
    return [(line, name) for line, name in found if name.split(".")[0] == "registry"]


MODULES = sorted(PACKAGE.rglob("*.py"))


def test_every_module_is_scanned() -> None:
    names = {module_name(p) for p in MODULES}
    assert {"registry.engine", "registry.service.registry", "registry.api.queries"} <= names
    assert {room(n) for n in names} == set(MAY_IMPORT)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_a_module_imports_only_what_its_room_may(path: Path) -> None:
    here = room(module_name(path))
    wrong = [
        f"{path.relative_to(PACKAGE.parent)}:{line}: the {here} imports {name} ({room(name)})"
        for line, name in imports(path)
        if room(name) not in MAY_IMPORT[here]
    ]
    assert wrong == []


def test_no_door_imports_another_door() -> None:
    for door in DOORS:
        assert not (MAY_IMPORT[door] & DOORS) - {door}, door
