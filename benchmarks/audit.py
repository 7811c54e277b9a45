"""Audit speed: the engine against naive cell enumeration on `medium`, and the
targets on `large` (engine and rules once loaded; the whole `registry audit`
command; `registry plan` between two versions differing in one contract).

    .venv/bin/python benchmarks/audit.py
"""

from __future__ import annotations

import datetime as dt
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from itertools import product
from pathlib import Path

from naive import gaps_and_overlaps, leaf_sets

from registry import synth
from registry.bundle import Bundle
from registry.load import load
from registry.plan import plan
from registry.rules import audit

AS_OF = dt.date(2026, 11, 23)
REGISTRY = str(Path(sys.executable).with_name("registry"))


def timed(fn, repeat: int) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    times, value = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), value


def bundle_of(folder: Path) -> Bundle:
    result = load([str(folder)])
    assert result.ok, result.errors[:3]
    return next(iter(result.bundles.values()))


def cells_of(bundle: Bundle, region: dict[str, list[str]]) -> set[tuple[int, ...]]:
    return set(product(*leaf_sets(bundle, region)))


def medium(tmp: Path) -> None:
    folder = tmp / "medium"
    synth.write(folder, "medium", seed=1, defects=6)
    bundle = bundle_of(folder)
    engine_s, report = timed(lambda: audit(bundle, AS_OF), 5)
    naive_s, (gaps, overlaps) = timed(lambda: gaps_and_overlaps(bundle, AS_OF), 1)
    found_gaps, found_overlaps = set(), {}
    for f in report.findings:  # type: ignore[attr-defined]
        if f.rule == "coverage-gap":
            found_gaps |= cells_of(bundle, f.region)
        elif f.rule == "coverage-overlap":
            found_overlaps.update(dict.fromkeys(cells_of(bundle, f.region), frozenset(f.partners)))
    same = found_gaps == gaps and found_overlaps == overlaps
    print(f"medium ({bundle.space.cells:,} cells, {len(bundle.contracts)} contracts, 6 defects)")
    print(f"  naive enumeration   {naive_s * 1000:10.1f} ms  (baseline)")
    print(f"  engine + rules      {engine_s * 1000:10.1f} ms  {naive_s / engine_s:8.0f}x faster")
    print(f"  identical gap and overlap cells: {same} "
          f"({len(gaps)} gap cells, {len(overlaps)} overlap cells)")  # fmt: skip


def large(tmp: Path) -> None:
    folder = tmp / "large"
    synth.write(folder, "large", seed=1)
    load_s, bundle = timed(lambda: bundle_of(folder), 1)
    engine_s, report = timed(lambda: audit(bundle, AS_OF), 3)  # type: ignore[arg-type]
    start = time.perf_counter()
    done = subprocess.run([REGISTRY, "audit", str(folder), "--as-of", AS_OF.isoformat()],
                          capture_output=True, text=True, check=False)  # fmt: skip
    cli_s = time.perf_counter() - start
    rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    b: Bundle = bundle  # type: ignore[assignment]
    print(f"large ({b.space.cells:,} cells, {len(b.partners)} partners, "
          f"{len(b.contracts)} contracts, {sum(len(c.spec.accountable) for c in b.contracts):,} "
          f"accountable claims)")  # fmt: skip
    print(f"  load (in process)   {load_s * 1000:10.1f} ms")
    print(f"  engine + rules      {engine_s * 1000:10.1f} ms  target < 1000 ms "
          f"({len(report.findings)} findings)")  # type: ignore[attr-defined]  # fmt: skip
    print(f"  registry audit      {cli_s * 1000:10.1f} ms  target < 4000 ms; "
          f"peak RSS {rss_mb:.0f} MB (target < 500); exit {done.returncode}")  # fmt: skip

    changed = tmp / "large-changed"
    shutil.copytree(folder, changed)
    first = sorted((changed / "contracts").iterdir())[0]
    documents = json.loads(first.read_text())
    documents = documents if isinstance(documents, list) else [documents]
    documents[0]["spec"]["accountable"].pop()  # one contract gives up one claim
    first.write_text(json.dumps(documents))
    new = bundle_of(changed)
    # Rounds alternate plan and baseline, so a busy machine slows both alike.
    plans, audits, result = [], [], None
    for _ in range(5):
        plan_s, result = timed(lambda: plan(b, new, AS_OF), 1)
        two_s, _ = timed(lambda: (audit(b, AS_OF), audit(new, AS_OF)), 1)
        plans.append(plan_s)
        audits.append(two_s)
    ratio = statistics.median(p / a for p, a in zip(plans, audits, strict=True))
    plan_ms, audits_ms = statistics.median(plans) * 1000, statistics.median(audits) * 1000
    moves = result.moves or []  # type: ignore[attr-defined]
    print(f"  plan, one contract changed {plan_ms:8.1f} ms  target < 2000 ms "
          f"({len(result.added)} findings added, {len(moves)} boxes change owner)")  # type: ignore[attr-defined]  # fmt: skip
    print(f"  audits of both versions    {audits_ms:8.1f} ms  (baseline) "
          f"plan takes {ratio:.2f}x their time")  # fmt: skip


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        medium(Path(tmp))
        large(Path(tmp))


if __name__ == "__main__":
    main()
