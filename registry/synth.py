"""Deterministic synthetic alliances for tests and benchmarks.

The space is cut into disjoint pieces by splitting the largest piece along one
dimension, again and again; now and then a split becomes a carve-out (the parent
claimed `except` one child, which goes to another partner). Every cell therefore
has exactly one owner. `defects` then plants gaps (an extra `except`) and
overlaps (a second partner claiming part of a piece) and records them.

Documents are written as JSON: machine-written files load two orders of
magnitude faster than YAML.
"""

from __future__ import annotations

import heapq
import json
import random
from dataclasses import dataclass, field
from math import prod
from pathlib import Path
from typing import Any

API = "alliance-registry/v1"


@dataclass(frozen=True)
class Preset:
    category_fanout: tuple[int, ...]  # children per level of the category tree
    region_groups: int
    regions_per_group: int
    channels: int
    services: int
    partners: int
    claims: int  # accountable claims, about
    claims_per_contract: int = 5
    successions: float = 0.05  # share of contracts handed over within the horizon


PRESETS = {
    "small": Preset((3, 3, 2), 2, 3, 3, 2, 5, 40),
    "medium": Preset((4, 5, 10), 5, 5, 4, 5, 20, 800),
    "large": Preset((5, 10, 10, 10), 10, 25, 8, 20, 200, 10_000),
}


@dataclass
class Piece:
    where: dict[str, list[str]]
    cells: int
    excepts: list[dict[str, list[str]]] = field(default_factory=list)
    splittable: bool = True
    partner: int = 0


class _Space:
    def __init__(self, preset: Preset) -> None:
        self.children: dict[str, dict[str, list[str]]] = {"category": {}, "region": {}}
        self.leaves: dict[str, dict[str, int]] = {}
        self.tree: dict[str, Any] = {}
        self.tree["category"] = self._category(preset.category_fanout, "cat")
        regions = {
            f"zone-{g + 1}": [f"zone-{g + 1}-r{r + 1}" for r in range(preset.regions_per_group)]
            for g in range(preset.region_groups)
        }
        self.children["region"] = dict(regions)
        self.tree["region"] = regions
        self.tree["channel"] = [f"channel-{c + 1}" for c in range(preset.channels)]
        self.tree["service"] = [f"service-{s + 1}" for s in range(preset.services)]
        for dim in ("channel", "service"):
            self.children[dim] = {}
        self.roots = {
            "category": list(self.tree["category"]),
            "region": list(regions),
            "channel": list(self.tree["channel"]),
            "service": list(self.tree["service"]),
        }
        for dim in self.roots:
            self.leaves[dim] = {}
            for root in self.roots[dim]:
                self._count(dim, root)

    def _category(self, fanout: tuple[int, ...], prefix: str) -> Any:
        if not fanout:
            return None
        names = [f"{prefix}-{i + 1}" for i in range(fanout[0])]
        if len(fanout) == 1:
            return names
        out = {}
        for name in names:
            out[name] = self._category(fanout[1:], name)
            sub = out[name]
            self.children["category"][name] = (
                list(sub) if isinstance(sub, dict) else list(sub or [])
            )
        return out

    def _count(self, dim: str, node: str) -> int:
        kids = self.children[dim].get(node, [])
        n = sum(self._count(dim, k) for k in kids) if kids else 1
        self.leaves[dim][node] = n
        return n

    def leaf_set(self, dim: str, nodes: list[str]) -> set[str]:
        out: set[str] = set()
        for node in nodes:
            kids = self.children[dim].get(node)
            out |= self.leaf_set(dim, kids) if kids else {node}
        return out

    def cells(self, where: dict[str, list[str]]) -> int:
        return prod(sum(self.leaves[d][n] for n in where.get(d, self.roots[d])) for d in self.roots)

    def split(
        self, where: dict[str, list[str]], rng: random.Random
    ) -> tuple[str, list[list[str]]] | None:
        """Split a piece along one dimension into two or more parts."""
        options = []
        for dim in self.roots:
            nodes = where.get(dim, self.roots[dim])
            if len(nodes) > 1:
                options.append((dim, _chunks(nodes, rng)))
            elif self.children[dim].get(nodes[0]):
                options.append((dim, [[k] for k in self.children[dim][nodes[0]]]))
        if not options:
            return None
        dim, parts = rng.choice(options)
        return dim, parts


def _chunks(nodes: list[str], rng: random.Random) -> list[list[str]]:
    k = min(len(nodes), rng.randint(2, 4))
    size = -(-len(nodes) // k)
    return [nodes[i : i + size] for i in range(0, len(nodes), size)]


def generate(
    preset_name: str, seed: int, defects: int = 0, name: str | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The documents of one synthetic alliance (named `synth-<preset>` unless `name`
    says otherwise), and the defects planted in it."""
    preset = PRESETS[preset_name]
    rng = random.Random(seed)
    space = _Space(preset)
    pieces = _partition(space, preset, rng)
    name = name or f"synth-{preset_name}"
    partners = [f"partner-{i:03d}" for i in range(1, preset.partners + 1)]
    for piece in pieces:
        piece.partner = rng.randrange(len(partners)) if not piece.partner else piece.partner
    planted = _plant(pieces, space, partners, rng, defects)
    docs = [_alliance(name, space)] + [_partner(name, p) for p in ["brand", *partners]]
    docs += _contracts(name, pieces, partners, preset, rng)
    docs += [
        _overlap_contract(name, d, i)
        for i, d in enumerate(planted)
        if d["rule"] == "coverage-overlap"
    ]
    return docs, planted


def _partition(space: _Space, preset: Preset, rng: random.Random) -> list[Piece]:
    pieces: list[Piece] = []
    heap: list[tuple[int, int, Piece]] = []
    counter = 0

    def push(piece: Piece) -> None:
        nonlocal counter
        counter += 1
        if piece.splittable:
            heapq.heappush(heap, (-piece.cells, counter, piece))
        else:
            pieces.append(piece)

    push(Piece({}, space.cells({})))
    while heap and len(heap) + len(pieces) < preset.claims:
        _, _, piece = heapq.heappop(heap)
        split = space.split(piece.where, rng)
        if split is None:
            pieces.append(piece)
            continue
        dim, parts = split
        children = [{**piece.where, dim: part} for part in parts]
        if rng.random() < 0.15:
            j = rng.randrange(len(parts))
            owner = rng.randrange(1, preset.partners)
            # The parent is claimed whole but for one part, which goes to someone else.
            push(
                Piece(piece.where, piece.cells, [{dim: parts[j]}], splittable=False, partner=owner)
            )
            taker = rng.randrange(preset.partners - 1)
            push(
                Piece(children[j], space.cells(children[j]), partner=taker if taker != owner else 0)
            )
        else:
            for child in children:
                push(Piece(child, space.cells(child)))
    pieces.extend(p for _, _, p in heap)
    return pieces


def _plant(
    pieces: list[Piece], space: _Space, partners: list[str], rng: random.Random, count: int
) -> list[dict[str, Any]]:
    """Gaps (an extra `except`) and overlaps (another partner on part of a piece).

    Each defect must be reported as one finding of exactly its region, so a piece whose
    defect could merge with one planted before (into other maximal boxes) is passed
    over."""
    planted: list[dict[str, Any]] = []
    regions: list[list[set[str]]] = []  # each planted defect's leaves, per dimension
    candidates = [p for p in pieces if not p.excepts]
    rng.shuffle(candidates)
    for piece in candidates:
        if len(planted) == count:
            break
        service = piece.where.get("service", space.roots["service"])[0]
        hole = {**piece.where, "service": [service]}
        owner = partners[piece.partner]
        if len(planted) % 2 == 0:
            defect = {"rule": "coverage-gap", "partners": [], "where": hole}
        else:
            other = partners[(piece.partner + 1) % len(partners)]
            defect = {
                "rule": "coverage-overlap",
                "partners": sorted([owner, other]),
                "where": hole,
                "intruder": other,
            }
        leaves = [space.leaf_set(dim, hole.get(dim, roots)) for dim, roots in space.roots.items()]
        if any(
            _would_merge(defect, leaves, d, theirs)
            for d, theirs in zip(planted, regions, strict=True)
        ):
            continue
        if defect["rule"] == "coverage-gap":
            piece.excepts.append({"service": [service]})
        planted.append(defect)
        regions.append(leaves)
    if len(planted) < count:
        # Fewer defects than asked would make the ground truth silently smaller.
        raise ValueError(f"room for {len(planted)} separate defects, not {count}")
    return planted


def _would_merge(
    one: dict[str, Any], mine: list[set[str]], other: dict[str, Any], theirs: list[set[str]]
) -> bool:
    """Whether two defects might show as other boxes than their own: those of one rule
    and partner set unless their regions (leaves per dimension) are disjoint in two
    dimensions or more (then every box holding cells of both holds cells of neither)."""
    if (one["rule"], one["partners"]) != (other["rule"], other["partners"]):
        return False
    return sum(not a & b for a, b in zip(mine, theirs, strict=True)) < 2


def _alliance(name: str, space: _Space) -> dict[str, Any]:
    return {
        "apiVersion": API,
        "kind": "Alliance",
        "metadata": {"name": name, "title": f"Synthetic alliance {name}"},
        "spec": {
            "authority": "board",
            "authorities": [
                {"name": "board", "title": "Steering board", "email": "board@synth.example"}
            ],
            "dimensions": space.tree,
            "customerFace": [{"partner": "brand", "where": {}}],
            "faceAuthority": {
                "compelResponseWithin": "PT4H",
                "creditUpTo": {"amount": 50, "currency": "EUR"},
                "dispatch": True,
            },
            "escalationChains": {
                "standard": [
                    {"after": "PT4H", "to": "duty-manager"},
                    {"after": "P2D", "to": "authority:board"},
                ]
            },
        },
    }


def _partner(alliance: str, name: str) -> dict[str, Any]:
    return {
        "apiVersion": API,
        "kind": "Partner",
        "metadata": {"name": name, "alliance": alliance},
        "spec": {
            "legalName": f"{name.title()} Ltd",
            "contacts": [{"name": "duty-manager", "email": f"duty@{name}.example"}],
            "endpoints": [
                {
                    "name": "tickets",
                    "type": "tmf621",
                    "address": f"https://{name}.example/tmf-api/troubleTicket/v5",
                }
            ],
        },
    }


def _contract(
    alliance: str,
    name: str,
    partner: str,
    claims: list[dict[str, Any]],
    effective: dict[str, str] | None = None,
) -> dict[str, Any]:
    spec: dict[str, Any] = {"partner": partner}
    if effective:
        spec["effective"] = effective
    spec.update(
        {
            "deliveryModel": "outsourcing",
            "scope": claims,
            "accountable": claims,
            "handoffs": [
                {
                    "endpoint": "tickets",
                    "mode": "retain",
                    "acknowledgeWithin": "PT4H",
                    "resolveWithin": "P3D",
                    "requires": ["customerId", "description"],
                }
            ],
            "escalation": "standard",
            "grantsFace": {
                "compelResponseWithin": "PT2H",
                "creditUpTo": {"amount": 100, "currency": "EUR"},
                "dispatch": True,
            },
        }
    )
    return {
        "apiVersion": API,
        "kind": "Contract",
        "metadata": {"name": name, "alliance": alliance},
        "spec": spec,
    }


def _contracts(
    alliance: str, pieces: list[Piece], partners: list[str], preset: Preset, rng: random.Random
) -> list[dict[str, Any]]:
    by_partner: dict[int, list[Piece]] = {}
    for piece in pieces:
        by_partner.setdefault(piece.partner, []).append(piece)
    out = []
    for index in sorted(by_partner):
        own = by_partner[index]
        partner = partners[index]
        for n, start in enumerate(range(0, len(own), preset.claims_per_contract)):
            claims = [_claim(p) for p in own[start : start + preset.claims_per_contract]]
            name = f"{partner}-c{n + 1}"
            if rng.random() < preset.successions:
                # Handed over to a successor contract on a day within any 90-day horizon.
                day = "2026-12-01"
                out.append(_contract(alliance, f"{name}-old", partner, claims, {"until": day}))
                out.append(_contract(alliance, name, partner, claims, {"from": day}))
            else:
                out.append(_contract(alliance, name, partner, claims))
    return out


def _claim(piece: Piece) -> dict[str, Any]:
    claim: dict[str, Any] = {"where": piece.where}
    if piece.excepts:
        claim["except"] = piece.excepts
    return claim


def _overlap_contract(alliance: str, defect: dict[str, Any], i: int) -> dict[str, Any]:
    intruder = defect["intruder"]
    return _contract(alliance, f"{intruder}-overlap-{i}", intruder, [{"where": defect["where"]}])


# What `write` makes in its folder: these, and contracts/<partner>.json.
WRITTEN = ("alliance.json", "partners.json", "defects.jsonl")
CONTRACTS = "contracts"


def ours(path: Path, out: Path) -> bool:
    """Whether `path`, inside `out`, is a file `write` makes there (or its folder of
    contracts)."""
    parts = path.relative_to(out).parts
    if parts == (CONTRACTS,):
        return path.is_dir()
    if len(parts) == 2 and parts[0] == CONTRACTS:
        return parts[1].endswith(".json") and path.is_file()
    return len(parts) == 1 and parts[0] in WRITTEN and path.is_file()


def foreign(out: Path) -> list[Path]:
    """What `out` holds that `write` does not make, in name order."""
    return sorted(p for p in out.rglob("*") if not ours(p, out))


def write(
    out: Path, preset: str, seed: int, defects: int = 0, *, replace: bool = False
) -> list[Path]:
    """Write one file per partner's contracts, plus the alliance and partners.
    `replace` first removes what an earlier `write` made in `out` (nothing else), so
    two alliances never mix; it happens only once the alliance is generated."""
    docs, planted = generate(preset, seed, defects)
    if replace and out.is_dir():
        earlier = [p for p in out.rglob("*") if ours(p, out) and p.is_file()]
        for path in earlier:
            path.unlink()
        if (out / CONTRACTS).is_dir() and not any((out / CONTRACTS).iterdir()):
            (out / CONTRACTS).rmdir()
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, list[dict[str, Any]]] = {}
    for doc in docs:
        if doc["kind"] == "Contract":
            key = f"{CONTRACTS}/{doc['spec']['partner']}.json"
        else:
            key = f"{doc['kind'].lower()}s.json" if doc["kind"] == "Partner" else "alliance.json"
        files.setdefault(key, []).append(doc)
    written = []
    for key, items in files.items():
        path = out / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            json.dumps(items if len(items) > 1 else items[0], separators=(",", ":")) + "\n"
        )
        written.append(path)
    if defects:
        truth = out / "defects.jsonl"
        truth.write_text("".join(json.dumps(d) + "\n" for d in planted))
        written.append(truth)
    return written
