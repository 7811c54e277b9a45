"""The coverage matrix: rows of one dimension's tree (the categories), columns of
another (regions or channels), each cell who is accountable there on one day,
the remaining dimensions aggregated.

It is read off the owner index's arrangement, never off cells: every leaf box of
the arrangement is visited once, its label turned into a share (owned by one
partner, a gap, an overlap) and added, with its cell count, to the deepest
rendered rows and the columns its box meets; a rendered parent row is the sum
of its children. A large alliance (200 million cells) is some ten thousand
boxes, so the matrix costs a pass over them whatever the number of cells. Rows
are rendered for a budget of tree nodes: whole levels from the top, and below
every node asked for (`expand`).

The remaining dimensions can be fixed to a node each (`fixed`, e.g. channel =
web): each box's span on such a dimension is cut to the node's interval before
its cells are counted, so a cell that is mixed only because of an aggregated
dimension can be seen part by part.
"""

from __future__ import annotations

import datetime as dt
import threading
import weakref
from bisect import bisect_right
from collections.abc import Collection, Hashable, Mapping
from dataclasses import dataclass, field
from math import prod
from typing import Literal

from registry.bundle import Bundle
from registry.dimensions import Dimension
from registry.resolve import OwnerIndex
from registry.rules import coverage_gap, coverage_overlap
from registry.rules.rule import CellRule, Timeline
from registry.rules.waivers import live_waivers, silencing

# The most columns a matrix shows: a deeper level of the column tree is used only
# while it fits.
MAX_COLUMNS = 16
DETAIL_PARTS = 8  # parts a cell's description names
# A dimension to fix is offered as a list of its nodes up to this many; a larger
# one is fixed by typing a node's name.
MAX_CHOICES = 200
ShareState = Literal["owned", "gap", "overlap"]
CellState = Literal["owned", "gap", "overlap", "mixed", "empty"]
# The share each coverage rule's label makes; where neither fires, one partner owns it.
FAULTS: tuple[tuple[CellRule, ShareState], ...] = (
    (coverage_gap.RULE, "gap"),
    (coverage_overlap.RULE, "overlap"),
)


@dataclass(frozen=True, slots=True)
class Share:
    """What holds on part of a matrix cell: one owner, nobody, or several."""

    state: ShareState
    partners: tuple[str, ...]  # sorted; empty for a gap
    waived: bool  # a live waiver silences this gap or overlap

    @property
    def text(self) -> str:
        """`fastnet`, `gap`, `overlap of a + b`; a waived one says so after a comma
        (`gap, waived`), so that it never reads as a partner's."""
        if self.state == "owned":
            return self.partners[0]
        name = "gap" if self.state == "gap" else "overlap of " + " + ".join(self.partners)
        return name + (", waived" if self.waived else "")


@dataclass(frozen=True, slots=True)
class Cell:
    """One matrix cell: its largest parts (a share and its cell count, largest
    first; DETAIL_PARTS of them), and what holds over all of its parts."""

    row: str
    column: str
    cells: int
    shares: tuple[tuple[Share, int], ...]
    state: CellState
    partners: tuple[str, ...]  # every partner accountable somewhere in the cell
    faults: frozenset[tuple[ShareState, bool]]  # (gap or overlap, waived) of its parts
    parts: int  # how many distinct shares it holds

    @property
    def owner(self) -> str | None:
        return self.partners[0] if self.state == "owned" else None

    def has(self, state: ShareState, waived: bool | None = None) -> bool:
        if waived is None:
            return (state, False) in self.faults or (state, True) in self.faults
        return (state, waived) in self.faults

    def largest_owners(self, most: int) -> list[str]:
        """The partners owning the largest parts of the cell, largest first."""
        out: list[str] = []
        for share, _ in self.shares:
            if share.state == "owned" and len(out) < most:
                out.append(share.partners[0])
        return out

    @property
    def waived(self) -> bool:
        """Every gap and overlap in the cell is waived (and there is one)."""
        return bool(self.faults) and all(waived for _, waived in self.faults)

    @property
    def detail(self) -> str:
        """`fastnet: 12 cells; gap (waived): 4 cells`: the cell in words (the
        largest parts, and how many more)."""
        shown = [
            f"{share.text}: {count:,} cell{'s' if count != 1 else ''}"
            for share, count in self.shares
        ]
        if self.parts > len(self.shares):
            shown.append(f"and {self.parts - len(self.shares)} more")
        return "; ".join(shown)


def _cell(
    where: tuple[str, str], cells: int, shares: list[Share], bucket: dict[int, int],
    rank: dict[int, int],
) -> Cell:  # fmt: skip
    ids = sorted(bucket, key=rank.__getitem__)
    ids.sort(key=bucket.__getitem__, reverse=True)  # stable: ties keep the rank
    found = [shares[i] for i in ids]
    state: CellState = "empty" if not found else found[0].state if len(found) == 1 else "mixed"
    return Cell(
        row=where[0],
        column=where[1],
        cells=cells,
        shares=tuple((shares[i], bucket[i]) for i in ids[:DETAIL_PARTS]),
        state=state,
        partners=tuple(sorted({p for share in found for p in share.partners})),
        faults=frozenset((s.state, s.waived) for s in found if s.state != "owned"),
        parts=len(ids),
    )


@dataclass(slots=True)
class Row:
    """A node of the row tree and its cells; `children` are the rendered ones."""

    name: str
    depth: int
    leaves: int
    has_children: bool
    cells: list[Cell] = field(default_factory=list)
    children: list[Row] = field(default_factory=list)
    open: bool = False  # shown unfolded: asked for, or above a node asked for

    @property
    def hidden_children(self) -> bool:
        """It has children, but they are not rendered (ask with `expand`)."""
        return self.has_children and not self.children


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    leaves: int


@dataclass(frozen=True, slots=True)
class Fix:
    """A dimension besides the rows and columns: aggregated in every cell, or fixed
    to one of its nodes. `nodes` are its nodes in tree order with their depth (empty
    when there are more than MAX_CHOICES: then a node is named by typing it)."""

    dimension: str
    node: str | None
    nodes: tuple[tuple[str, int], ...]


@dataclass
class Matrix:
    row_dimension: str
    column_dimension: str
    choices: list[str]  # the dimensions that can be the columns
    columns: list[Column]
    rows: list[Row]
    as_of: dt.date
    partners: list[str]  # every partner seen in the rendered cells
    cells_per_pair: int  # cells of the other dimensions behind each leaf pair
    others: list[Fix] = field(default_factory=list)  # the other dimensions, in order

    @property
    def fixed(self) -> list[tuple[str, str]]:
        """The other dimensions fixed to a node: (dimension, node)."""
        return [(f.dimension, f.node) for f in self.others if f.node is not None]

    @property
    def aggregated(self) -> list[str]:
        """The other dimensions every cell adds up."""
        return [f.dimension for f in self.others if f.node is None]

    def walk(self) -> list[Row]:
        """Every rendered row, in tree order."""
        out: list[Row] = []

        def visit(row: Row) -> None:
            out.append(row)
            for child in row.children:
                visit(child)

        for row in self.rows:
            visit(row)
        return out

    def find(self, name: str) -> Row | None:
        return next((row for row in self.walk() if row.name == name), None)


def row_dimension(bundle: Bundle) -> str:
    names = bundle.space.names
    return "category" if "category" in names else names[0]


def column_choices(bundle: Bundle) -> list[str]:
    rows = row_dimension(bundle)
    return [name for name in bundle.space.names if name != rows]


def default_columns(bundle: Bundle) -> str | None:
    choices = column_choices(bundle)
    if not choices:
        return None
    return "region" if "region" in choices else choices[0]


def build(
    bundle: Bundle,
    index: OwnerIndex,
    as_of: dt.date,
    *,
    columns: str | None = None,
    expand: Collection[str] = (),
    budget: int = 300,
    fixed: Mapping[str, str] | None = None,
) -> Matrix:
    """The matrix on `as_of`: rows of the category tree (levels within `budget`
    rows, and the children of each node in `expand`), columns of `columns`, the
    other dimensions aggregated but those `fixed` to a node. A fix of the rows' or
    the columns' dimension is left out (the columns show that dimension whole);
    a dimension or node the alliance does not have is a ValueError."""
    space = bundle.space
    row_name = row_dimension(bundle)
    choices = column_choices(bundle)
    column_name = columns or default_columns(bundle)
    if column_name is not None and column_name not in choices:
        raise ValueError(column_name)
    fixed = fixed or {}
    for name, node in fixed.items():
        if name not in space.by_name or node not in space.dimensions[space.by_name[name]].nodes:
            raise ValueError(f"{name}={node}")
    rdim = space.dimensions[space.by_name[row_name]]
    cdim = space.dimensions[space.by_name[column_name]] if column_name else None
    rows = _rows(rdim, expand, budget)
    cols = _columns(cdim)
    r = space.by_name[row_name]
    c = space.by_name[column_name] if column_name else -1
    others = [i for i in range(len(space.dimensions)) if i not in (r, c)]
    fixes = [_fix(space.dimensions[i], fixed.get(space.dimensions[i].name)) for i in others]
    cuts = tuple(
        (i, space.dimensions[i].nodes[f.node].lo, space.dimensions[i].nodes[f.node].hi)
        for i, f in zip(others, fixes, strict=True)
        if f.node is not None
    )
    widths = {i: hi - lo for i, lo, hi in cuts}
    per_pair = prod(widths.get(i, space.dimensions[i].size) for i in others)
    flat: list[tuple[Row, int, int]] = []  # (row, lo, hi) in tree order

    def collect(row: Row) -> None:
        node = rdim.nodes[row.name]
        flat.append((row, node.lo, node.hi))
        for child in row.children:
            collect(child)

    for row in rows:
        collect(row)
    bounds = [(cdim.nodes[col.name].lo, cdim.nodes[col.name].hi) for col in cols] if cdim else []
    shares, share_of = _shares(bundle, index, as_of)
    # Only the rows whose children are not rendered are counted (they are disjoint);
    # a rendered parent is the sum of its children.
    frontier = [(lo, hi) for row, lo, hi in flat if not row.children]
    counted = iter(_count(index, share_of, frontier, (r, c, others), bounds, cuts=cuts))
    counts: list[list[dict[int, int]]] = []

    def total(row: Row) -> list[dict[int, int]]:
        slot = len(counts)
        counts.append([])
        if not row.children:
            counts[slot] = next(counted)
            return counts[slot]
        summed: list[dict[int, int]] = [{} for _ in range(max(1, len(bounds)))]
        for child in row.children:
            for bucket, part in zip(summed, total(child), strict=True):
                for sid, n in part.items():
                    bucket[sid] = bucket.get(sid, 0) + n
        counts[slot] = summed
        return summed

    for row in rows:
        total(row)
    # Largest parts first, then gaps, overlaps and owners by name (C-level keys).
    ranked = sorted(range(len(shares)), key=lambda i: _order(shares[i]))
    rank = {sid: n for n, sid in enumerate(ranked)}
    seen: set[int] = set()
    names = [col.name for col in cols] or [""]
    for (row, lo, hi), per_column in zip(flat, counts, strict=True):
        for col_index, bucket in enumerate(per_column):
            width = cols[col_index].leaves if cols else 1
            cells = (hi - lo) * width * per_pair
            row.cells.append(_cell((row.name, names[col_index]), cells, shares, bucket, rank))
            seen.update(bucket)
    return Matrix(
        row_dimension=row_name,
        column_dimension=column_name or "",
        choices=choices,
        columns=cols,
        rows=rows,
        as_of=as_of,
        partners=sorted({p for i in seen for p in shares[i].partners}),
        cells_per_pair=per_pair,
        others=fixes,
    )


def _fix(dim: Dimension, node: str | None) -> Fix:
    names = list(dim.axis.ids)[1:]  # pre-order; id 0 is the whole dimension
    listed: tuple[tuple[str, int], ...] = ()
    if len(names) <= MAX_CHOICES:
        listed = tuple((name, dim.axis.depth[dim.axis.ids[name]] - 1) for name in names)
    return Fix(dim.name, node, listed)


# Per box of an index's arrangement, for one choice of columns and fixed nodes: its
# label, its row span, and the cells it gives each column it meets (its other
# dimensions multiplied in, cut to the fixed nodes). The same for every request at a
# revision: kept with the index.
_Placed = list[tuple[int, tuple[tuple[int, int], ...], list[tuple[int, int]]]]
_Cuts = tuple[tuple[int, int, int], ...]  # (dimension, lo, hi) of each fixed node
_PLACED: weakref.WeakKeyDictionary[OwnerIndex, dict[Hashable, _Placed]] = (
    weakref.WeakKeyDictionary()
)


def _placed(
    index: OwnerIndex,
    dims: tuple[int, int, list[int]],
    bounds: list[tuple[int, int]],
    cuts: _Cuts = (),
) -> _Placed:
    r, c, others = dims
    key = (r, c, tuple(bounds), cuts)
    with _SHARES_LOCK:
        found = _PLACED.setdefault(index, {}).get(key)
    if found is not None:
        return found
    col_los = [lo for lo, _ in bounds]
    cut = {i: (lo, hi) for i, lo, hi in cuts}
    placed: _Placed = []
    for box, lid in index.arrangement.leaves:
        rest = 1
        for i in others:
            if i in cut:
                flo, fhi = cut[i]
                rest *= sum(max(0, min(hi, fhi) - max(lo, flo)) for lo, hi in box[i])
            else:
                rest *= sum(hi - lo for lo, hi in box[i])
        if not rest:
            continue  # the box lies outside a fixed node
        col_parts = [(0, rest)]
        if c >= 0:
            col_parts = []
            for lo, hi in box[c]:
                k = max(0, bisect_right(col_los, lo) - 1)
                while k < len(bounds) and bounds[k][0] < hi:
                    inside = min(hi, bounds[k][1]) - max(lo, bounds[k][0])
                    if inside > 0:
                        col_parts.append((k, inside * rest))
                    k += 1
        placed.append((lid, box[r], col_parts))
    with _SHARES_LOCK:
        kept = _PLACED.setdefault(index, {})
        if len(kept) > 16:  # every choice of columns and fixed nodes is one more
            kept.clear()
        kept[key] = placed
    return placed


def _count(
    index: OwnerIndex,
    share_of: list[int],
    frontier: list[tuple[int, int]],
    dims: tuple[int, int, list[int]],
    bounds: list[tuple[int, int]],
    *,
    cuts: _Cuts = (),
) -> list[list[dict[int, int]]]:
    """Per frontier row (disjoint leaf intervals, in order), per column: how many
    cells each share holds. One pass over the arrangement's leaf boxes; a box adds
    its cells to every row and column its spans meet."""
    los = [lo for lo, _ in frontier]
    his = [hi for _, hi in frontier]
    counts: list[list[dict[int, int]]] = [
        [{} for _ in range(max(1, len(bounds)))] for _ in frontier
    ]
    for lid, span, col_parts in _placed(index, dims, bounds, cuts):
        sid = share_of[lid]
        for lo, hi in span:
            k = max(0, bisect_right(los, lo) - 1)
            while k < len(los) and los[k] < hi:
                inside = min(hi, his[k]) - max(lo, los[k])
                if inside > 0:
                    target = counts[k]
                    for col, weight in col_parts:
                        bucket = target[col]
                        bucket[sid] = bucket.get(sid, 0) + inside * weight
                k += 1
    return counts


def _order(share: Share) -> tuple[int, tuple[str, ...], bool]:
    # A total order (shares are distinct): never the order the engine numbered them in.
    return ({"gap": 0, "overlap": 1, "owned": 2}[share.state], share.partners, share.waived)


# Per owner index (one per alliance revision) and day: each label's share id.
_SHARES: weakref.WeakKeyDictionary[OwnerIndex, dict[Hashable, tuple[list[Share], list[int]]]] = (
    weakref.WeakKeyDictionary()
)
_SHARES_LOCK = threading.Lock()


def _shares(bundle: Bundle, index: OwnerIndex, as_of: dt.date) -> tuple[list[Share], list[int]]:
    """The distinct shares on `as_of`, and the share id of every label of the index's
    arrangement. Answers change only on contract days and waiver expiries, so the
    result is kept per time segment and set of live waivers."""
    compiled = index.compiled
    segment = compiled.segment(as_of)
    shown = {rule.id for rule, _ in FAULTS}
    live = {i: rule for i, rule in live_waivers(bundle, as_of).items() if rule in shown}
    key = (segment, tuple(sorted(live.items())))
    with _SHARES_LOCK:
        known = _SHARES.setdefault(index, {})
        found = known.get(key)
    if found is not None:
        return found
    ids: dict[Share, int] = {}
    shares: list[Share] = []
    share_of: list[int] = []
    by_state: dict[int, int] = {}  # equal states are one object (`claims.Compiled`)
    for label in index.arrangement.labels:
        state = compiled.state_at(label, segment)
        sid = by_state.get(id(state))
        if sid is None:
            # The matrix shows one day: a timeline of one state.
            share = _share(Timeline.read((state,), compiled), live)
            sid = ids.get(share)
            if sid is None:
                sid = ids[share] = len(shares)
                shares.append(share)
            by_state[id(state)] = sid
        share_of.append(sid)
    with _SHARES_LOCK:
        if len(known) > 16:
            known.clear()
        known[key] = (shares, share_of)
    return shares, share_of


def _share(timeline: Timeline, live: dict[int, str]) -> Share:
    """What the coverage rules say of a timeline: a gap or an overlap, waived when a
    live waiver silences that rule there; where neither fires, its one owner."""
    for rule, state in FAULTS:
        label = rule.detect(timeline)
        if label is not None:
            waived = bool(silencing(timeline.now, rule.id, live))
            return Share(state, tuple(sorted(label.partners)), waived)
    return Share("owned", tuple(sorted(timeline.owners)), False)


def _rows(dim: Dimension, expand: Collection[str], budget: int) -> list[Row]:
    """The rendered rows: whole levels from the top while they fit the budget, and
    below each node in `expand` (and its ancestors) the same again."""
    axis = dim.axis
    names = {i: name for name, i in axis.ids.items()}
    asked = [axis.ids[name] for name in expand if name in axis.ids and name]
    rendered: set[int] = set()  # node ids whose children are rendered

    def fill(top: int) -> None:
        """Render the children of `top`, and then whole levels below while they fit."""
        level = [top]
        used = 0
        while level:
            below = [kid for n in level for kid in axis.children[n]]
            if not below or (used and used + len(below) > budget):
                return
            rendered.update(level)
            used += len(below)
            level = below

    fill(0)
    opened: set[int] = set()
    for node in asked:
        path = axis.path[node]
        rendered.update(path)  # the way down to it
        opened.update(path[1:])
        fill(node)

    def make(node: int) -> Row:
        name = names[node]
        kids = axis.children[node]
        row = Row(
            name=name,
            depth=axis.depth[node] - 1,
            leaves=axis.hi[node] - axis.lo[node],
            has_children=bool(kids),
            open=node in opened,
        )
        if node in rendered:
            row.children = [make(kid) for kid in kids]
        return row

    return [make(root) for root in axis.children[0]]


def _columns(dim: Dimension | None) -> list[Column]:
    """The deepest level of the column tree that fits in MAX_COLUMNS (at least the
    top level): leaves stay, inner nodes give way to their children."""
    if dim is None:
        return []
    axis = dim.axis
    level = list(axis.children[0])
    while True:
        below = [kid for n in level for kid in (axis.children[n] or (n,))]
        if below == level or len(below) > MAX_COLUMNS:
            break
        level = below
    names = {i: name for name, i in axis.ids.items()}
    return [Column(names[n], axis.hi[n] - axis.lo[n]) for n in level]
