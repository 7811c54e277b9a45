"""Coverage over boxes, never over cells.

Every `where` names tree nodes, and the leaves under a node are one interval
(`dimensions.Axis`), so the claims are products of nodes from laminar families:
two nodes of a dimension are nested or disjoint. The arrangement splits the
space like a k-d tree, but along the trees: a region is, per dimension, a group
of sibling nodes; an atom either covers the group whole there or sits below
some of its members. A split of a dimension partitions the members into groups
that no atom spans across (an atom spanning two members keeps them together),
so only atoms covering the region whole in that dimension are copied into every
branch; the split picks the dimension that copies least. A region whose atoms
all cover it whole is a leaf: the claims covering it are its label.

The work grows with the number of distinct regions the claims carve, not with
the cells: an alliance of 200 million cells is some ten thousand regions. The
boxes of one label are then merged into canonical maximal boxes by a sweep over
their interval endpoints (the one DMN table checkers use for gaps and overlaps).
"""

from __future__ import annotations

import gc
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from math import prod
from types import TracebackType

from registry.dimensions import Axis, Box, Span, normalize, span_size


class _PausedGC:
    """`with paused_gc:` around engine work. An arrangement allocates some 10^5
    tuples and no reference cycles (refcounting frees them all), yet each of
    them counts towards the cyclic collector's thresholds, whose full passes
    rescan the whole heap, the loaded documents included: half the time of a
    large audit. Nestable and shared between threads; the collector resumes
    when the last holder leaves, if it was on when the first came."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._holders = 0
        self._resume = False

    def __enter__(self) -> None:
        with self._lock:
            if self._holders == 0:
                self._resume = gc.isenabled()
                gc.disable()
            self._holders += 1

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        with self._lock:
            self._holders -= 1
            if self._holders == 0 and self._resume:
                gc.enable()


paused_gc = _PausedGC()


@dataclass(frozen=True, slots=True)
class Atom:
    """One box of a claim: per dimension the fewest nodes covering its leaves (node 0
    is the whole dimension). A negative atom is one of the claim's `except` boxes."""

    nodes: tuple[tuple[int, ...], ...]
    claim: int
    negative: bool = False


# Equal atoms inside a region: (their claims, negative, per dimension their nodes
# inside the region's group there, or () where they cover the group whole).
_Entry = tuple[tuple[int, ...], bool, tuple[tuple[int, ...], ...]]


@dataclass
class Arrangement:
    """Disjoint leaf boxes, each labelled with the set of claims covering it, and the
    split tree to find the leaf of a cell. A reference `r >= 0` is a split; `~r` is
    the label id of a leaf."""

    axes: tuple[Axis, ...]
    labels: list[frozenset[int]] = field(default_factory=list)
    leaves: list[tuple[Box, int]] = field(default_factory=list)
    root: int = -1
    _dim: list[int] = field(default_factory=list, repr=False)
    _depth: list[int] = field(default_factory=list, repr=False)  # depth of the split members
    _branch: list[dict[int, int]] = field(default_factory=list, repr=False)
    _parts: list[list[tuple[Span, int]]] = field(default_factory=list, repr=False)

    def label(self, point: Sequence[int]) -> int:
        """The label id of one cell, given a leaf number per dimension."""
        ref, dims, depths, branch = self.root, self._dim, self._depth, self._branch
        paths = [axis.leaf_path for axis in self.axes]
        while ref >= 0:
            d = dims[ref]
            ref = branch[ref][paths[d][point[d]][depths[ref]]]
        return ~ref

    def splits(self) -> list[tuple[int, int, dict[int, int]]]:
        """Per split: its dimension, the depth of its members and where each member
        leads; the owner index walks these inline, as `label` does."""
        return list(zip(self._dim, self._depth, self._branch, strict=True))

    def project(self, lo: int, hi: int) -> Arrangement:
        """The arrangement as the claims `lo <= c < hi` alone see it, numbered from
        0: the same leaves and split tree, each label cut to those claims. Of an
        arrangement of two claim sets (a plan's two versions) each set's own."""
        ids: dict[frozenset[int], int] = {}
        out = Arrangement(self.axes, _dim=self._dim, _depth=self._depth)
        relabel = []
        for label in self.labels:
            cut = frozenset(c - lo for c in label if lo <= c < hi)
            lid = ids.get(cut)
            if lid is None:
                lid = ids[cut] = len(out.labels)
                out.labels.append(cut)
            relabel.append(~lid)
        out.leaves = [(box, ~relabel[lid]) for box, lid in self.leaves]
        out.root = self.root if self.root >= 0 else relabel[~self.root]
        out._branch = [
            {m: r if r >= 0 else relabel[~r] for m, r in branch.items()} for branch in self._branch
        ]
        out._parts = [
            [(span, r if r >= 0 else relabel[~r]) for span, r in parts] for parts in self._parts
        ]
        return out

    def labels_in(self, box: Box) -> set[int]:
        """The label ids found anywhere inside a box."""
        found: set[int] = set()
        stack, seen = [self.root], set()
        while stack:
            ref = stack.pop()
            if ref in seen:
                continue
            seen.add(ref)
            if ref < 0:
                found.add(~ref)
                continue
            span = box[self._dim[ref]]
            stack.extend(target for part, target in self._parts[ref] if _meets(part, span))
        return found


def arrange(axes: Sequence[Axis], atoms: Sequence[Atom]) -> Arrangement:
    """The arrangement of `atoms`: a label is `{claims with a positive atom covering
    the leaf} - {claims with a negative atom covering it}`."""
    # Equal atoms of different claims (a scope and an accountable claim on the same
    # `where`, a contract and its successor) travel as one entry.
    same: dict[tuple[bool, tuple[tuple[int, ...], ...]], list[int]] = {}
    for a in atoms:
        same.setdefault((a.negative, a.nodes), []).append(a.claim)
    entries: list[_Entry] = [
        (tuple(claims), negative, tuple(() if n == (0,) else n for n in nodes))
        for (negative, nodes), claims in same.items()
    ]
    return _Splitter(tuple(axes)).arrange(entries)


class _Splitter:
    """The recursion of `arrange`. A method, not a closure calling itself: that
    would be a reference cycle keeping the work alive until the collector runs."""

    def __init__(self, axes: tuple[Axis, ...]) -> None:
        self.axes = axes
        self.out = Arrangement(axes)
        self.label_ids: dict[frozenset[int], int] = {}
        self.blank = ((),) * len(axes)  # the nodes of an entry covering its region whole

    def arrange(self, entries: list[_Entry]) -> Arrangement:
        whole: list[Span] = [((0, axis.hi[0]),) for axis in self.axes]
        root: list[tuple[int, ...]] = [(0,) for _ in self.axes]
        self.out.root = self.split(root, whole, entries, frozenset(), frozenset())
        return self.out

    def leaf(self, spans: list[Span], label: frozenset[int]) -> int:
        out = self.out
        lid = self.label_ids.get(label)
        if lid is None:
            lid = self.label_ids[label] = len(out.labels)
            out.labels.append(label)
        out.leaves.append((tuple(spans), lid))
        return ~lid

    def split(
        self,
        region: list[tuple[int, ...]],
        spans: list[Span],
        active: list[_Entry],
        pos: frozenset[int],
        neg: frozenset[int],
    ) -> int:
        axes, out, blank = self.axes, self.out, self.blank
        partial = [entry for entry in active if entry[2] != blank]
        new_pos: list[int] = []
        new_neg: list[int] = []
        if len(partial) < len(active):
            for entry in active:
                if entry[2] == blank:
                    (new_neg if entry[1] else new_pos).extend(entry[0])
        if new_pos or new_neg:
            pos, neg = pos.union(new_pos), neg.union(new_neg)
            # A claim excluded here is excluded below; one included needs only its excepts.
            partial = [
                e
                for e in partial
                if not neg.issuperset(e[0]) and (e[1] or not pos.issuperset(e[0]))
            ]
        if not partial:
            return self.leaf(spans, pos - neg)
        region = region.copy()
        for d, axis in enumerate(axes):
            # One node with atoms strictly below it: its children are the group.
            children = axis.children
            while len(region[d]) == 1 and children[region[d][0]] and any(e[2][d] for e in partial):
                region[d] = children[region[d][0]]
        d, groups = _choose_split(axes, region, partial)
        axis = axes[d]
        node = len(out._dim)
        out._dim.append(d)
        out._depth.append(axis.depth[region[d][0]])
        out._branch.append({})
        out._parts.append([])
        for members, entries in _branches(axis, groups, partial, d):
            below_region, below_spans = region.copy(), spans.copy()
            below_region[d] = members
            below_spans[d] = normalize((axis.lo[m], axis.hi[m]) for m in members)
            ref = self.split(below_region, below_spans, entries, pos, neg)
            out._branch[node].update(dict.fromkeys(members, ref))
            out._parts[node].append((below_spans[d], ref))
        return node


def _choose_split(
    axes: Sequence[Axis], region: list[tuple[int, ...]], partial: list[_Entry]
) -> tuple[int, list[tuple[int, ...]]]:
    """The dimension to split and its groups of members. Members one atom spans
    stay in one group, so no atom below the split is copied, only the atoms
    covering the region whole in that dimension. Where atoms link every member,
    each member is its own group and the atoms spanning several are copied too."""
    best: tuple[int, int, int] | None = None
    chosen: tuple[int, list[tuple[int, ...]]] | None = None
    for d, axis in enumerate(axes):
        counts = Counter([entry[2][d] for entry in partial])
        below = len(partial) - counts[()]
        if not below:
            continue
        members = region[d]
        k = axis.depth[members[0]]
        path = axis.path
        parent = {m: m for m in members}

        def find(m: int, parent: dict[int, int] = parent) -> int:
            while parent[m] != m:
                parent[m] = parent[parent[m]]
                m = parent[m]
            return m

        spread = 0
        # Most atoms have one node here, nothing to link; equal node lists link once.
        for nodes, times in counts.items():
            if len(nodes) < 2:
                continue
            touched = {path[n][k] for n in nodes}
            if len(touched) == 1:
                continue
            spread += times * (len(touched) - 1)
            first = find(touched.pop())
            for m in touched:
                parent[find(m)] = first
        linked: dict[int, list[int]] = {}
        for m in members:
            linked.setdefault(find(m), []).append(m)
        copied = len(partial) - below
        if len(linked) > 1:
            rank = (0, (len(linked) - 1) * copied, -below)
            groups = [tuple(g) for g in linked.values()]
        else:
            rank = (1, (len(members) - 1) * copied + spread, -below)
            groups = [(m,) for m in members]
        if best is None or rank < best:
            best, chosen = rank, (d, groups)
    assert chosen is not None
    return chosen


def _branches(
    axis: Axis, groups: list[tuple[int, ...]], partial: list[_Entry], d: int
) -> list[tuple[tuple[int, ...], list[_Entry]]]:
    """The entries of each group, clipped to it. Groups no atom sits in are one
    branch: nothing tells them apart."""
    k = axis.depth[groups[0][0]]
    group_of = {m: i for i, group in enumerate(groups) for m in group}
    per_group: list[list[_Entry]] = [[] for _ in groups]
    everywhere: list[_Entry] = []
    path, depth = axis.path, axis.depth
    for entry in partial:
        nodes = entry[2]
        mine = nodes[d]
        if not mine:
            everywhere.append(entry)
            continue
        if len(mine) == 1:  # most atoms: one node, in one group
            n = mine[0]
            g = group_of[path[n][k]]
            if depth[n] == k and len(groups[g]) == 1:  # covers its group whole
                per_group[g].append((entry[0], entry[1], (*nodes[:d], (), *nodes[d + 1 :])))
            else:
                per_group[g].append(entry)  # unchanged: no copy
            continue
        inside: dict[int, list[int]] = {}
        for n in mine:
            inside.setdefault(group_of[path[n][k]], []).append(n)
        for g, ns in inside.items():
            if len(ns) == len(groups[g]) and all(depth[n] == k for n in ns):
                clipped: tuple[int, ...] = ()
            elif len(ns) == len(mine):  # all in this group: unchanged
                per_group[g].append(entry)
                continue
            else:
                clipped = tuple(ns)
            per_group[g].append((entry[0], entry[1], (*nodes[:d], clipped, *nodes[d + 1 :])))
    out = [(groups[g], per_group[g] + everywhere) for g in range(len(groups)) if per_group[g]]
    rest = tuple(sorted(m for g in range(len(groups)) if not per_group[g] for m in groups[g]))
    if rest:
        out.append((rest, everywhere))
    return out


def merged(sizes: Sequence[int], boxes: Iterable[Box]) -> list[Box]:
    """The union of disjoint boxes as canonical maximal boxes: a sweep over the
    interval endpoints level by level, equal sub-results shared, then boxes that
    differ in one dimension joined. The same union always gives the same boxes."""
    boxes = list(boxes)
    depth = len(sizes)
    memo: dict[tuple[int, tuple[int, ...]], tuple[tuple[Span, ...], ...]] = {}

    def visit(level: int, active: tuple[int, ...]) -> tuple[tuple[Span, ...], ...]:
        if not active:
            return ()
        if level == depth:
            return ((),)
        key = (level, active)
        found = memo.get(key)
        if found is not None:
            return found
        points = {0, sizes[level]}
        for b in active:
            for lo, hi in boxes[b][level]:
                points.update((lo, hi))
        by_rest: dict[tuple[tuple[Span, ...], ...], list[tuple[int, int]]] = {}
        for lo, hi in pairwise(sorted(points)):
            inside = tuple(b for b in active if _meets(boxes[b][level], ((lo, hi),)))
            rests = visit(level + 1, inside)
            if rests:
                by_rest.setdefault(rests, []).append((lo, hi))
        found = memo[key] = tuple(
            (normalize(intervals), *rest) for rests, intervals in by_rest.items() for rest in rests
        )
        return found

    return merge_boxes(list(visit(0, tuple(range(len(boxes))))))


def merge_boxes(boxes: list[Box]) -> list[Box]:
    """Join disjoint boxes that agree on every dimension but one, until none do."""
    if not boxes:
        return []
    depth = len(boxes[0])
    current = list(boxes)
    changed = True
    while changed:
        changed = False
        for d in range(depth):
            groups: dict[tuple[Span, ...], list[Span]] = {}
            for box in current:
                groups.setdefault(box[:d] + box[d + 1 :], []).append(box[d])
            if len(groups) == len(current):
                continue
            changed = True
            current = [
                (*rest[:d], normalize(iv for span in spans for iv in span), *rest[d:])
                for rest, spans in groups.items()
            ]
    return sorted(current)


def _meets(a: Span, b: Span) -> bool:
    return any(lo < bhi and blo < hi for lo, hi in a for blo, bhi in b)


def box_cells(box: Box) -> int:
    return prod(span_size(s) for s in box)
