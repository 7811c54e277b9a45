# ruff: noqa: E402 - the imports follow the import-path fix at the top
"""1,000 alliances in one registry: 900 small and 99 medium synthetic ones and the
large one, served by one `registry serve` worker with a memory bound on compiled
views (REGISTRY_VIEW_MEMORY). Figures:

- resident memory per compiled alliance, by preset (the worker's RSS before and
  after compiling a batch of each, divided by the batch);
- the worker's RSS after every alliance has been asked once, against its RSS with
  nothing compiled plus the bound;
- the first owner query of a small alliance evicted since (p50, p99, max) against
  the same query once it is compiled again (the baseline).

    .venv/bin/python benchmarks/many.py [--memory 268435456] [--small 900] [--medium 99]

The alliances are seeded as the write path stores them (`seed_many`): a template of
each preset is checked once, and each copy is its template's stored bodies under
another name, committed through the store, with no plan or audit per copy.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]

import argparse
import http.client
import json
import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

import msgspec

from registry import synth
from registry.load import load_texts
from registry.model import to_builtins
from registry.store import Store
from registry.store.repository import Write


def names(small: int, medium: int, large: bool = True) -> dict[str, list[str]]:
    return {
        "small": [f"small-{i:04d}" for i in range(1, small + 1)],
        "medium": [f"medium-{i:03d}" for i in range(1, medium + 1)],
        "large": ["synth-large"] if large else [],
    }


def template(preset: str) -> tuple[list[tuple[str, str, str]], str]:
    """(kind, name, body) of each document of a checked synthetic alliance named
    `template`, as the write path stores them (indented JSON of the checked form),
    and an owner query of one full cell of it."""
    docs, _ = synth.generate(preset, seed=1, name="template")
    result = load_texts([("template.json", json.dumps(docs))])
    assert result.ok, result.errors[:3]
    bundle = result.bundles["template"]
    stored = [
        (
            d.kind,
            d.name,
            msgspec.json.format(msgspec.json.encode(to_builtins(d)), indent=2).decode(),
        )
        for d in bundle.documents()
    ]
    query = "&".join(f"{d.name}={d.leaves[0]}" for d in bundle.space.dimensions)
    return stored, query


def seed_many(store: Store, alliances: dict[str, list[str]]) -> dict[str, str]:
    """Commit every alliance named (preset -> names); the owner query of each preset."""
    queries = {}
    for preset, members in alliances.items():
        if not members:
            continue
        bodies, queries[preset] = template(preset)
        for name in members:
            writes = [
                Write(
                    kind,
                    name if kind == "Alliance" else doc,
                    body.replace('"template"', f'"{name}"'),
                )
                for kind, doc, body in bodies
            ]
            with store.writing(name) as draft:
                draft.commit(writes, "bench seed", "apply", before={})
    return queries


def rss(pid: int) -> int:
    """Resident bytes of a process."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for {pid}")


@contextmanager
def serving(url: str, memory: int, tmp: Path) -> Iterator[tuple[int, int]]:
    """A one-worker `registry serve`; yields its port and pid."""
    import socket  # noqa: PLC0415

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    env["REGISTRY_VIEW_MEMORY"] = str(memory)
    log = (tmp / "server.log").open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "registry", "serve", "--database-url", url, "--port", str(port),
         "--log-level", "warning"],
        stdout=log, stderr=subprocess.STDOUT, env=env, cwd=tmp,  # not beside http.py
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if get(port, "/health", None)[0] == 200:
                    break
            except OSError:
                if process.poll() is not None:
                    raise RuntimeError(f"the server exited; see {tmp}/server.log") from None
                time.sleep(0.1)
        yield port, process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


_CONNECTIONS: dict[int, http.client.HTTPConnection] = {}


def get(port: int, path: str, token: str | None) -> tuple[int, float]:
    """Status and seconds of one GET on a kept connection."""
    connection = _CONNECTIONS.get(port)
    if connection is None:
        connection = _CONNECTIONS[port] = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    start = time.perf_counter()
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        response.read()
    except OSError:
        del _CONNECTIONS[port]
        connection.close()
        raise
    return response.status, time.perf_counter() - start


QUERIES: dict[str, str] = {}  # preset -> a full-cell query


def preset_of(alliance: str) -> str:
    return alliance.split("-", maxsplit=1)[0] if not alliance.startswith("synth-") else "large"


def owner(port: int, alliance: str, token: str) -> float:
    query = QUERIES[preset_of(alliance)]
    status, seconds = get(port, f"/v1/alliances/{alliance}/owner?{query}", token)
    assert status == 200, (alliance, status)
    return seconds


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--memory", type=int, default=256 * 1024 * 1024)
    parser.add_argument("--small", type=int, default=900)
    parser.add_argument("--medium", type=int, default=99)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-many-"))
    url = f"sqlite:///{tmp}/registry.db"
    store = Store(url)
    alliances = names(args.small, args.medium)
    start = time.perf_counter()
    QUERIES.update(seed_many(store, alliances))
    _, token = store.create_token("admin", None, None, "bench")
    store.close()
    total = sum(map(len, alliances.values()))
    print(f"{total:,} alliances seeded in {time.perf_counter() - start:.1f} s; "
          f"bound {args.memory / 2**20:.0f} MiB; load {os.getloadavg()[0]:.2f}")  # fmt: skip
    with serving(url, args.memory, tmp) as (port, pid):
        get(port, "/health", None)
        empty = rss(pid)
        print(f"worker RSS with nothing compiled: {empty / 2**20:.1f} MiB")
        per: dict[str, float] = {}
        for preset, batch in (("small", 100), ("medium", 10), ("large", 1)):
            members = alliances[preset][:batch]
            before = rss(pid)
            for name in members:
                owner(port, name, token)
            per[preset] = (rss(pid) - before) / len(members)
            print(f"  {preset:6}: {per[preset] / 2**20:8.2f} MiB resident per compiled alliance "
                  f"({len(members)} compiled)")  # fmt: skip
        peak = 0
        for preset in ("small", "medium"):
            for name in alliances[preset]:
                owner(port, name, token)
                peak = max(peak, rss(pid))
        after = rss(pid)
        print(f"every alliance asked once: RSS {after / 2**20:.1f} MiB (peak {peak / 2**20:.1f}); "
              f"nothing compiled + bound = {(empty + args.memory) / 2**20:.1f} MiB: "
              f"{'within' if peak <= empty + args.memory else 'OVER'}")  # fmt: skip
        evicted = [owner(port, name, token) for name in alliances["small"][:50]]
        again = [owner(port, name, token) for name in alliances["small"][:50]]
        p50 = statistics.median(evicted) * 1000
        print(f"first query of an evicted small alliance: p50 {p50:.1f} ms, "
              f"p99 {percentile(evicted, 0.99) * 1000:.1f} ms, max {max(evicted) * 1000:.1f} ms "
              f"(target < 50 ms); compiled again: p50 {statistics.median(again) * 1000:.2f} ms "
              f"({statistics.median(evicted) / statistics.median(again):.0f}x)")  # fmt: skip


if __name__ == "__main__":
    main()
