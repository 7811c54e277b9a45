"""Cell-by-cell baselines the benchmarks compare against: every cell, every claim."""

from __future__ import annotations

import datetime as dt
from itertools import product

from registry.bundle import Bundle, is_active


def leaf_sets(bundle: Bundle, where: dict[str, list[str]] | None) -> list[set[int]]:
    """The leaf numbers a selector names, per dimension."""
    out = []
    for dim in bundle.space.dimensions:
        names = (where or {}).get(dim.name)
        if names is None:
            out.append(set(range(dim.size)))
        else:
            out.append({x for n in names for x in range(dim.nodes[n].lo, dim.nodes[n].hi)})
    return out


def accountable_claims(
    bundle: Bundle, day: dt.date
) -> list[tuple[str, list[set[int]], list[list[set[int]]]]]:
    claims = []
    for contract in bundle.contracts:
        if not is_active(contract, day):
            continue
        for claim in contract.spec.accountable:
            excepts = [leaf_sets(bundle, e) for e in claim.except_]
            claims.append((contract.spec.partner, leaf_sets(bundle, claim.where), excepts))
    return claims


def owners(
    claims: list[tuple[str, list[set[int]], list[list[set[int]]]]], cell: tuple[int, ...]
) -> frozenset[str]:
    found = set()
    for partner, where, excepts in claims:
        if all(x in s for x, s in zip(cell, where, strict=True)) and not any(
            all(x in s for x, s in zip(cell, e, strict=True)) for e in excepts
        ):
            found.add(partner)
    return frozenset(found)


def gaps_and_overlaps(
    bundle: Bundle, day: dt.date
) -> tuple[set[tuple[int, ...]], dict[tuple[int, ...], frozenset[str]]]:
    """Every gap cell and every overlap cell with its partners, by enumeration."""
    claims = accountable_claims(bundle, day)
    gaps, overlaps = set(), {}
    for cell in product(*(range(d.size) for d in bundle.space.dimensions)):
        found = owners(claims, cell)
        if not found:
            gaps.add(cell)
        elif len(found) > 1:
            overlaps[cell] = found
    return gaps, overlaps
