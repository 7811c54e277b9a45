"""What promises cost an audit: the large synthetic alliance audited without and with
an Expectation of 10 promises (each asked of an owner index compiled for the audit),
and the examples' audits without and with their stories; ratios of the same run.

    .venv/bin/python benchmarks/expectations.py
"""

from __future__ import annotations

import datetime as dt
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from registry import synth
from registry.load import load, load_texts
from registry.rules import audit

AS_OF = dt.date(2026, 11, 22)
EXAMPLES = Path(__file__).parent.parent / "examples"


def timed(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def promises(alliance: str, cells: list[dict[str, str]]) -> str:
    spec = {"promises": [{"name": f"p{i}", "where": c, "status": "owned"}
                         for i, c in enumerate(cells)]}  # fmt: skip
    metadata = {"name": "promises", "alliance": alliance}
    return json.dumps(
        {"apiVersion": "alliance-registry/v1", "kind": "Expectation", "metadata": metadata,
         "spec": spec}
    )  # fmt: skip


def main() -> None:
    print(f"load average {os.getloadavg()[0]:.2f}", file=sys.stderr)
    with tempfile.TemporaryDirectory() as tmp:
        synth.write(Path(tmp), "large", 1, 0)
        texts = [(str(p), p.read_text()) for p in sorted(Path(tmp).rglob("*.json"))]
    plain = load_texts(texts).bundles["synth-large"]
    space = plain.space
    cells = [{d.name: d.leaves[(7 * i) % len(d.leaves)] for d in space.dimensions}
             for i in range(10)]  # fmt: skip
    kept = load_texts([*texts, ("promises.json", promises("synth-large", cells))])
    promised = kept.bundles["synth-large"]
    assert len(promised.expectations) == 1
    without = timed(lambda: audit(plain, AS_OF), 3)
    with_them = timed(lambda: audit(promised, AS_OF), 3)
    print(f"large, audit without promises: {without * 1000:.0f} ms")
    print(f"large, audit with 10 promises: {with_them * 1000:.0f} ms ({with_them / without:.2f}x)")
    for name in ("triple-play", "co-branded-card"):
        folder = EXAMPLES / name
        stories = load([str(folder)]).bundles[name]
        bare = load([str(p) for p in folder.glob("*.yaml") if p.name != "expectations.yaml"])
        base = timed(lambda b=bare.bundles[name]: audit(b, AS_OF), 20)  # type: ignore[misc]
        told = timed(lambda b=stories: audit(b, AS_OF), 20)  # type: ignore[misc]
        promised_count = sum(len(e.spec.promises) for e in stories.expectations)
        print(f"{name}, audit without its story: {base * 1000:.1f} ms; with its "
              f"{promised_count} promises: {told * 1000:.1f} ms ({told / base:.2f}x)")  # fmt: skip
    print(f"load average {os.getloadavg()[0]:.2f}", file=sys.stderr)


if __name__ == "__main__":
    main()
