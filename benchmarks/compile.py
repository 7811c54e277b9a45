# ruff: noqa: E402 - the imports follow the import-path fix at the top
"""Loading and compiling the `large` synthetic alliance (2,396 documents, 200 M cells)
against its audit (engine and rules on the loaded bundle), in the same run:

- load from files: `registry.load.load` on the generated folder (every check);
- compile from the store, cold: snapshot, trusted decode and bundle, owner index
  (`Live._build` with no view before: an evicted alliance, a process starting);
- compile from the store after a write of one contract (the view before kept:
  what every replica does after each write);
- the careful compile (every stored document and reference checked, as before
  trust by digest), for the before/after comparison.

Rounds alternate the measures, so a busy machine slows them alike; each figure is
the median of the rounds, each ratio the median of the rounds' ratios.

    .venv/bin/python benchmarks/compile.py [--rounds 5]
"""

from __future__ import annotations

import sys
from pathlib import Path

# benchmarks/http.py is named like the standard library's `http`: keep this folder off
# the import path, or prometheus-client's `from http.server import ...` would find it.
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]

import argparse
import datetime as dt
import gc
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from registry import synth
from registry.engine import paused_gc
from registry.load import LoadResult, bundle_documents, load, read_stored
from registry.model import to_builtins
from registry.resolve import OwnerIndex
from registry.rules import audit
from registry.service import Registry
from registry.service.live import Live
from registry.service.writes import Request, write
from registry.store import Store

AS_OF = dt.date(2026, 11, 23)
ALLIANCE = "synth-large"


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def careful(store: Store) -> OwnerIndex:
    snapshot = store.snapshot(ALLIANCE)
    assert snapshot is not None
    revision, documents = snapshot
    with paused_gc:
        result = LoadResult()
        stored = read_stored(((f"{d.ref}.json", d.body) for d in documents), result)
        bundle = bundle_documents(stored, result).bundles[ALLIANCE]
        return OwnerIndex(bundle, revision)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    rounds = parser.parse_args().rounds
    tmp = Path(tempfile.mkdtemp(prefix="bench-compile-"))
    folder = tmp / "large"
    synth.write(folder, "large", seed=1)
    store = Store(f"sqlite:///{tmp}/registry.db")
    Registry(store).seed([folder], "bench seed")
    bundle = load([str(folder)]).bundles[ALLIANCE]
    live = Live(store)
    live.refresh()
    view = live.view(ALLIANCE)
    print(f"large: {len(bundle.contracts) + len(bundle.partners) + 1:,} documents, "
          f"{bundle.space.cells:,} cells; load average {os.getloadavg()[0]:.2f}")  # fmt: skip
    names = ["audit", "load files", "compile cold", "compile after write", "careful compile"]
    figures: dict[str, list[float]] = {n: [] for n in names}
    for r in range(rounds):
        figures["audit"].append(timed(lambda: audit(bundle, AS_OF))[0])
        kept: Any = None  # freed outside the timed part
        figures["load files"].append(timed(lambda: load([str(folder)]))[0])
        fresh = Live(store)  # no view of any revision before: an evicted alliance
        fresh.refresh()
        seconds, kept = timed(partial(fresh._build, ALLIANCE, 0, current=True))
        figures["compile cold"].append(seconds)
        kept = None
        # One contract gives up (or takes back) one claim, written through the write path.
        contract = to_builtins(view.bundle.contracts[r % 50])
        contract["spec"]["accountable"].pop()
        asked = Request(ALLIANCE, [("c.json", json.dumps(contract))], force=True)
        write(store, asked, "bench", "apply")
        live.refresh()
        live.views.put(view, ALLIANCE)  # the revision before, compiled
        seconds, kept = timed(partial(live._build, ALLIANCE, 0, current=True))
        figures["compile after write"].append(seconds)
        view, kept = kept, None
        seconds, kept = timed(lambda: careful(store))
        figures["careful compile"].append(seconds)
        kept = None
        gc.collect()
    base = figures["audit"]
    print(f"{rounds} alternating rounds, medians:")
    for name in names:
        ms = statistics.median(figures[name]) * 1000
        ratio = statistics.median(x / b for x, b in zip(figures[name], base, strict=True))
        note = "(baseline)" if name == "audit" else f"{ratio:.2f}x the audit"
        print(f"  {name:20} {ms:8.1f} ms  {note}")
    print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
