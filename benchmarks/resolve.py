"""Owner resolution speed: a full-cell query in process on `large`, and on
`medium` against (a) a linear scan of the claims and (b) an indexed SQLite table
holding every cell.

    .venv/bin/python benchmarks/resolve.py
"""

from __future__ import annotations

import datetime as dt
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from itertools import product
from pathlib import Path

from naive import accountable_claims, owners

from registry import synth
from registry.bundle import Bundle
from registry.load import load
from registry.resolve import OwnerIndex

AT = dt.date(2026, 11, 23)
QUERIES = 20_000


def per_query_us(ask: Callable[[int], object], n: int) -> float:
    """Median over 5 rounds of the mean time per query, in microseconds."""
    return statistics.median(rounds_us({"": (ask, n)}, 5)[""])


def rounds_us(
    asks: dict[str, tuple[Callable[[int], object], int]], rounds: int
) -> dict[str, list[float]]:
    """Per round, each contender's mean time per query in microseconds. Rounds
    alternate the contenders, so a busy machine slows them alike."""
    out: dict[str, list[float]] = {name: [] for name in asks}
    for _ in range(rounds):
        for name, (ask, n) in asks.items():
            start = time.perf_counter()
            for i in range(n):
                ask(i)
            out[name].append((time.perf_counter() - start) / n * 1e6)
    return out


def faster(theirs: list[float], ours: list[float]) -> float:
    """How many times faster ours is: the median of the rounds' ratios."""
    return statistics.median(t / o for t, o in zip(theirs, ours, strict=True))


def bundle_of(folder: Path, preset: str) -> Bundle:
    synth.write(folder, preset, seed=1)
    result = load([str(folder)])
    assert result.ok
    return next(iter(result.bundles.values()))


def random_cells(bundle: Bundle, n: int) -> list[dict[str, str]]:
    rng = random.Random(7)
    dims = bundle.space.dimensions
    return [{d.name: rng.choice(d.leaves) for d in dims} for _ in range(n)]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        large = bundle_of(Path(tmp) / "large", "large")
        start = time.perf_counter()
        index = OwnerIndex(large)
        build_s = time.perf_counter() - start
        cells = random_cells(large, QUERIES)
        us = per_query_us(lambda i: index.owner(cells[i], AT), QUERIES)
        print(f"large ({large.space.cells:,} cells): index built in {build_s * 1000:.0f} ms")
        print(f"  OwnerIndex.owner, full cell   {us:8.2f} us per query  target < 10 us")

        medium = bundle_of(Path(tmp) / "medium", "medium")
        index = OwnerIndex(medium)
        cells = random_cells(medium, QUERIES)

        claims = accountable_claims(medium, AT)
        dims = medium.space.dimensions
        points = [tuple(d.leaf_index(c[d.name]) for d in dims) for c in cells]

        db = sqlite3.connect(":memory:")
        names = [d.name for d in dims]
        db.execute(f"create table cells ({', '.join(names)}, owner)")
        db.executemany(
            f"insert into cells values ({', '.join('?' * (len(names) + 1))})",
            (
                (*(d.leaves[x] for d, x in zip(dims, cell, strict=True)),
                 ",".join(sorted(owners(claims, cell))))
                for cell in product(*(range(d.size) for d in dims))
            ),
        )  # fmt: skip
        db.execute(f"create unique index cell on cells ({', '.join(names)})")
        sql = f"select owner from cells where {' and '.join(f'{n} = ?' for n in names)}"
        rows = [tuple(c[n] for n in names) for c in cells]
        times = rounds_us(
            {
                "ours": (lambda i: index.owner(cells[i], AT), QUERIES),
                "lite": (lambda i: db.execute(sql, rows[i]).fetchone(), QUERIES),
                "scan": (lambda i: owners(claims, points[i]), 2_000),
            },
            7,
        )
        ours, scan, lite = (statistics.median(times[k]) for k in ("ours", "scan", "lite"))
        print(f"medium ({medium.space.cells:,} cells), medians of 7 alternating rounds:")
        print(f"  OwnerIndex.owner, full cell   {ours:8.2f} us per query")
        than_scan = faster(times["scan"], times["ours"])
        than_lite = faster(times["lite"], times["ours"])
        print(f"  linear scan of {len(claims)} claims  {scan:8.2f} us  "
              f"ours {than_scan:6.1f}x faster")  # fmt: skip
        print(f"  SQLite, indexed cell table    {lite:8.2f} us  ours {than_lite:6.1f}x faster "
              "(target >= 2x)")  # fmt: skip


if __name__ == "__main__":
    main()
