"""Dimension trees, numbered so that every node is one interval of leaves.

Leaves are numbered in pre-order, so the leaves under any node are contiguous:
a node is the half-open interval `[lo, hi)`. A selector is then a union of
intervals per dimension (a *span*), and a claim a union of boxes, which is what
lets the engine work on regions without ever listing cells.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from math import prod
from typing import Any

# A span: sorted, disjoint, non-adjacent half-open intervals of leaf numbers.
Interval = tuple[int, int]
Span = tuple[Interval, ...]
Box = tuple[Span, ...]


@dataclass(frozen=True, slots=True)
class Node:
    name: str
    lo: int
    hi: int
    depth: int
    parent: str | None
    children: tuple[str, ...]

    @property
    def is_leaf(self) -> bool:
        return not self.children


# What is wrong in a dimension's tree: a path below the dimension, as in the document,
# and the message. The loader turns it into a located error of the Alliance document.
TreeProblem = tuple[tuple[str | int, ...], str]


@dataclass
class Dimension:
    name: str
    nodes: dict[str, Node]
    leaves: list[str]
    roots: tuple[str, ...]
    _leaf_index: dict[str, int] = field(default_factory=dict, repr=False)
    _axis: Axis | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self._leaf_index = {leaf: i for i, leaf in enumerate(self.leaves)}

    @property
    def size(self) -> int:
        return len(self.leaves)

    @property
    def full(self) -> Span:
        return ((0, self.size),)

    @property
    def axis(self) -> Axis:
        """The tree as numbers for the engine; built once."""
        if self._axis is None:
            self._axis = Axis.of(self)
        return self._axis

    def leaf_index(self, leaf: str) -> int:
        return self._leaf_index[leaf]

    def span(self, names: Iterable[str]) -> Span:
        return normalize((self.nodes[n].lo, self.nodes[n].hi) for n in names)

    def cover(self, span: Span) -> list[str]:
        """The fewest nodes whose leaves are exactly `span`, in tree order:
        a node stands for its children when all of them are in."""
        out: list[str] = []

        def visit(name: str) -> None:
            node = self.nodes[name]
            inside = overlap(span, node.lo, node.hi)
            if inside == node.hi - node.lo:
                out.append(name)
            elif inside:
                for child in node.children:
                    visit(child)

        for root in self.roots:
            visit(root)
        return out


@dataclass(frozen=True, slots=True)
class Axis:
    """A dimension's tree by number. Node 0 is the whole dimension (depth 0); the
    tree's nodes follow in pre-order. `path[n]` lists the nodes from 0 down to `n`,
    so the ancestor of `n` at depth `k` is `path[n][k]`."""

    ids: dict[str, int]
    lo: tuple[int, ...]
    hi: tuple[int, ...]
    depth: tuple[int, ...]
    children: tuple[tuple[int, ...], ...]
    path: tuple[tuple[int, ...], ...]
    leaf_path: tuple[tuple[int, ...], ...]  # by leaf number

    @classmethod
    def of(cls, dim: Dimension) -> Axis:
        ids = {"": 0}
        order: list[str] = []

        def number(name: str) -> None:
            ids[name] = len(ids)
            order.append(name)
            for child in dim.nodes[name].children:
                number(child)

        for root in dim.roots:
            number(root)
        nodes = [dim.nodes[name] for name in order]
        parent = [-1] + [ids[n.parent] if n.parent else 0 for n in nodes]
        path: list[tuple[int, ...]] = [(0,)]
        for i in range(1, len(parent)):
            path.append((*path[parent[i]], i))  # pre-order: a parent precedes its children
        by_leaf = {n.lo: path[ids[n.name]] for n in nodes if n.is_leaf}
        return cls(
            ids=ids,
            lo=(0, *(n.lo for n in nodes)),
            hi=(dim.size, *(n.hi for n in nodes)),
            depth=tuple(len(p) - 1 for p in path),
            children=(
                tuple(ids[r] for r in dim.roots),
                *(tuple(ids[c] for c in n.children) for n in nodes),
            ),
            path=tuple(path),
            leaf_path=tuple(by_leaf[x] for x in range(dim.size)),
        )

    def nodes_of(self, names: Iterable[str]) -> tuple[int, ...]:
        """The fewest node ids covering exactly the leaves of `names`: a node listed
        with its ancestor is dropped, siblings all listed become their parent."""
        path, children = self.path, self.children
        chosen = {self.ids[n] for n in names}
        chosen = {n for n in chosen if not any(a in chosen for a in path[n][:-1])}
        changed = True
        while changed and 0 not in chosen:
            changed = False
            by_parent: dict[int, list[int]] = {}
            for n in chosen:
                by_parent.setdefault(path[n][-2], []).append(n)
            for parent, kids in by_parent.items():
                if len(kids) == len(children[parent]):
                    chosen.difference_update(kids)
                    chosen.add(parent)
                    changed = True
        return tuple(sorted(chosen))


def overlap(span: Span, lo: int, hi: int) -> int:
    """How many leaves of `[lo, hi)` the span holds."""
    return sum(max(0, min(b, hi) - max(a, lo)) for a, b in span)


def normalize(intervals: Iterable[Interval]) -> Span:
    out: list[list[int]] = []
    for lo, hi in sorted(intervals):
        if lo >= hi:
            continue
        if out and lo <= out[-1][1]:
            out[-1][1] = max(out[-1][1], hi)
        else:
            out.append([lo, hi])
    return tuple((a, b) for a, b in out)


def span_size(span: Span) -> int:
    return sum(b - a for a, b in span)


def _is_empty_group(subtree: Any) -> bool:
    """`node: []` or `node: {}`: a group without children, which the language does
    not have (a leaf is `node:`, null)."""
    return (
        isinstance(subtree, Mapping | Sequence)
        and not isinstance(subtree, str)
        and len(subtree) == 0
    )


def build(name: str, tree: Any) -> tuple[Dimension | None, list[TreeProblem]]:
    """Number a tree given as a mapping, a list of leaf names, or null (a leaf)."""
    nodes: dict[str, Node] = {}
    leaves: list[str] = []
    errors: list[TreeProblem] = []
    first_seen: dict[str, tuple[str | int, ...]] = {}

    def children_of(
        subtree: Any, path: tuple[str | int, ...]
    ) -> list[tuple[str, Any, tuple[str | int, ...]]]:
        if subtree is None:
            return []
        if isinstance(subtree, Mapping):
            return [(str(k), v, (*path, str(k))) for k, v in subtree.items()]
        if isinstance(subtree, Sequence) and not isinstance(subtree, str):
            return [(str(v), None, (*path, i)) for i, v in enumerate(subtree)]
        errors.append(
            (path, "a tree is a mapping of nodes, a list of leaf names, or null for a leaf")
        )
        return []

    def add(
        node: str, subtree: Any, path: tuple[str | int, ...], depth: int, parent: str | None
    ) -> None:
        if node in first_seen:
            where = "$" + "".join(
                f"[{p}]" if isinstance(p, int) else f".{p}" for p in first_seen[node]
            )
            errors.append(
                (
                    path,
                    f"duplicate node '{node}' in dimension '{name}' (first at dimension path "
                    f"{where}); node names must be unique within a dimension",
                )
            )
            return
        first_seen[node] = path
        if _is_empty_group(subtree):
            # Read as a leaf it would hide a group whose children were left out.
            errors.append(
                (
                    path,
                    f"node '{node}' lists no children ({'{}' if subtree == {} else '[]'}); "
                    f"a group lists its children, and a leaf is written '{node}:' with no "
                    "value (null)",
                )
            )
            return
        lo = len(leaves)
        kids = children_of(subtree, path)
        if not kids:
            leaves.append(node)
        for child, sub, child_path in kids:
            add(child, sub, child_path, depth + 1, node)
        nodes[node] = Node(
            node,
            lo,
            len(leaves),
            depth,
            parent,
            tuple(c for c, _, _ in kids if c in nodes and nodes[c].parent == node),
        )

    roots = children_of(tree, ())
    for root, sub, path in roots:
        add(root, sub, path, 0, None)
    if not leaves and not errors:
        errors.append(((), f"dimension '{name}' has no leaves; list at least one node"))
    if errors:
        return None, errors
    return Dimension(name, nodes, leaves, tuple(r for r, _, _ in roots)), []


@dataclass
class Space:
    """The ordered dimensions of an alliance: every cell is one leaf of each."""

    dimensions: tuple[Dimension, ...]
    by_name: dict[str, int] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.by_name = {d.name: i for i, d in enumerate(self.dimensions)}

    @property
    def cells(self) -> int:
        return prod(d.size for d in self.dimensions)

    @property
    def names(self) -> list[str]:
        return [d.name for d in self.dimensions]

    def box(self, where: Mapping[str, Sequence[str]] | None) -> Box:
        """The box a `where` selector names; an omitted dimension is whole."""
        where = where or {}
        return tuple(d.span(where[d.name]) if d.name in where else d.full for d in self.dimensions)

    def region(self, box: Box) -> dict[str, list[str]]:
        """A box in the alliance's own node names; whole dimensions are left out."""
        out: dict[str, list[str]] = {}
        for dim, span in zip(self.dimensions, box, strict=True):
            if span != dim.full:
                out[dim.name] = dim.cover(span)
        return out

    def example(self, box: Box) -> dict[str, str]:
        return {d.name: d.leaves[span[0][0]] for d, span in zip(self.dimensions, box, strict=True)}

    def box_cells(self, box: Box) -> int:
        return prod(span_size(s) for s in box)
