# ruff: noqa: E402 - the imports follow the import-path fix at the top
"""Replicas on one PostgreSQL, measured in one run (a schema of its own on the server
REGISTRY_TEST_POSTGRES_URL or --postgres-url names; nothing else is touched):

(a) the bare litestar endpoint (`baseline_app.py`) with wrk: the floor;
(b) GET owner on PostgreSQL reading the generation on every request
    (REGISTRY_FRESHNESS=read: what main did before LISTEN/NOTIFY), as a ratio of (a);
(c) GET owner on PostgreSQL with LISTEN/NOTIFY (the default), as a ratio of (a)
    (target >= 0.60); rounds alternate (a), (b), (c);
(d) propagation: 3 processes x 2 workers on the one database; after each write
    through one of them (in turn), the time until every other process answers the
    new revision on each of 4 kept-alive connections (so on both its workers, most
    likely), polled every 2 ms: p50, p99, max (target p99 < 100 ms); and the same
    on processes reading on every request (what main did: no listener, and so no
    compile started before the first request);
(e) the embedded resolver (`registry.client.Resolver`) answering owner queries in
    process, against GET owner on the server (one kept-alive connection, one query
    at a time): median per answer.

    .venv/bin/python benchmarks/replicas.py [--seconds 5] [--rounds 3] [--writes 100]
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
# benchmarks/http.py is named like the standard library's `http`: keep this folder off
# the import path (http.py is loaded by its path below).
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]

import argparse
import http.client
import importlib.util
import json
import os
import shutil
import statistics
import tempfile
import time
import uuid
from typing import Any

import psycopg

from registry import synth
from registry.client import Resolver
from registry.load import load
from registry.serve import WORKER_HEALTHCHECK_SECONDS, examples_dir
from registry.service import Registry
from registry.store import Store

_spec = importlib.util.spec_from_file_location("bench_http", HERE / "http.py")
assert _spec is not None and _spec.loader is not None
bench_http: Any = importlib.util.module_from_spec(_spec)
sys.modules["bench_http"] = bench_http
_spec.loader.exec_module(bench_http)

SYNTH = "synth-medium"
DEMO = "triple-play"
OWNER_TARGET = 0.60
PROPAGATION_TARGET_MS = 100.0
POLL_SECONDS = 0.002
CONNECTIONS = 4  # per process, kept alive: each stays on the worker that accepted it


def registry_server(name: str, url: str, work: Path, freshness: str, workers: int) -> Any:
    port = bench_http.free_port()
    server = bench_http.Server(
        name,
        [
            *(sys.executable, "-m", "registry", "serve", "--database-url", url),
            *("--port", str(port), "--workers", str(workers), "--log-level", "warning"),
        ],
        port,
        "/health",
        work,
    )
    server.freshness = freshness
    return server


class Env:
    """Starts servers with REGISTRY_FRESHNESS set (bench_http.Server passes no
    REGISTRY_* variable of its own), and stops them."""

    def __init__(self, servers: list[Any]) -> None:
        self.servers = servers

    def __enter__(self) -> Env:
        for server in self.servers:
            server.command = ["env", f"REGISTRY_FRESHNESS={server.freshness}", *server.command]
            server.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        for server in self.servers:
            server.__exit__(None, None, None)


def owner_load(servers: dict[str, Any], script: Path, seconds: int, rounds: int) -> dict[str, Any]:
    """wrk on each server in turn, round after round; each figure's ratio to the bare
    endpoint of its round, the median of the rounds."""
    urls = {
        name: f"http://127.0.0.1:{server.port}/" + ("constant" if name == "constant" else "")
        for name, server in servers.items()
    }
    scripts = {name: None if name == "constant" else script for name in servers}
    for name, url in urls.items():
        bench_http.wrk(url, 2, scripts[name])
    loads: dict[str, list[Any]] = {name: [] for name in servers}
    for i in range(rounds):
        for name, url in urls.items():
            loads[name].append(bench_http.wrk(url, seconds, scripts[name]))
        c = loads["constant"][-1].rps
        said = ", ".join(f"{n} {loads[n][-1].rps:,.0f} ({loads[n][-1].rps / c:.2f})" for n in loads)
        print(f"  round {i + 1}: {said}", flush=True)
    report: dict[str, Any] = {name: bench_http.median_load(runs) for name, runs in loads.items()}
    for name, runs in loads.items():
        report[f"{name}_ratio"] = statistics.median(
            r.rps / c.rps for r, c in zip(runs, loads["constant"], strict=True)
        )
    return report


def _answer_revision(connection: http.client.HTTPConnection, path: str, token: str) -> int:
    status, _, data = bench_http.request(
        connection, "GET", path, {"Authorization": f"Bearer {token}"}
    )
    assert status == 200, (status, data[:300])
    revision: int = json.loads(data)["revision"]
    return revision


def propagation(servers: list[Any], admin: str, resolver: str, writes: int) -> dict[str, float]:
    """Milliseconds from each write's answer until every other process's connections
    all answer its revision."""
    owner = f"/v1/alliances/{DEMO}/owner?category=outage&region=north&channel=web"
    partner = f"/v1/alliances/{DEMO}/documents/Partner/fastnet"
    readers = {
        i: [http.client.HTTPConnection("127.0.0.1", s.port, timeout=30) for _ in range(CONNECTIONS)]
        for i, s in enumerate(servers)
    }
    writers = [http.client.HTTPConnection("127.0.0.1", s.port, timeout=60) for s in servers]
    auth = {"Authorization": f"Bearer {admin}"}
    for connections in readers.values():
        for connection in connections:
            _answer_revision(connection, owner, resolver)  # compiled, connected
    times = []
    for n in range(writes):
        i = n % len(servers)
        _, headers, data = bench_http.request(writers[i], "GET", partner, auth)
        document = json.loads(data)
        document["spec"]["legalName"] = f"FastNet Ltd, write {n}"
        status, _, answer = bench_http.request(
            writers[i],
            "PUT",
            partner,
            {**auth, "If-Match": headers["etag"], "Content-Type": "application/json"},
            json.dumps(document).encode(),
        )
        answered = time.perf_counter()
        assert status == 200, answer[:300]
        revision = json.loads(answer)["revision"]
        waiting = [c for j, cs in readers.items() if j != i for c in cs]
        while waiting:
            waiting = [c for c in waiting if _answer_revision(c, owner, resolver) < revision]
            if waiting:  # the next sweep in 2 ms: polling flat out would slow the servers
                time.sleep(POLL_SECONDS)
            if time.perf_counter() - answered > 10:
                raise SystemExit(f"revision {revision} did not reach every process in 10 s")
        times.append((time.perf_counter() - answered) * 1000)
    for connection in [*writers, *(c for cs in readers.values() for c in cs)]:
        connection.close()
    ranked = sorted(times)
    return {
        "p50": statistics.median(ranked),
        "p99": ranked[min(len(ranked) - 1, round(0.99 * (len(ranked) - 1)))],
        "max": ranked[-1],
        "writes": len(ranked),
    }


def resolver_time(server: Any, token: str, cells: list[dict[str, str]]) -> dict[str, float]:
    """Median microseconds per answer: in process, and asked of the server."""
    with Resolver(f"http://127.0.0.1:{server.port}", SYNTH, token) as resolver:
        resolver.refresh()
        rounds = []
        for _ in range(7):
            began = time.perf_counter()
            for cell in cells:
                resolver.owner(cell)
            rounds.append((time.perf_counter() - began) / len(cells) * 1e6)
        local = statistics.median(rounds[1:])
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    auth = {"Authorization": f"Bearer {token}"}
    paths = [
        f"/v1/alliances/{SYNTH}/owner?" + "&".join(f"{k}={v}" for k, v in c.items()) for c in cells
    ]
    for path in paths[:100]:
        bench_http.request(connection, "GET", path, auth)
    each = []
    for path in paths:
        began = time.perf_counter()
        status, _, _ = bench_http.request(connection, "GET", path, auth)
        each.append((time.perf_counter() - began) * 1e6)
        assert status == 200
    connection.close()
    return {"local_us": local, "server_us": statistics.median(each)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--writes", type=int, default=100)
    parser.add_argument("--postgres-url", default=os.environ.get("REGISTRY_TEST_POSTGRES_URL"))
    args = parser.parse_args()
    if not args.postgres_url:
        raise SystemExit("name a PostgreSQL server: --postgres-url or REGISTRY_TEST_POSTGRES_URL")
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")
    load_average = os.getloadavg()
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    plain = args.postgres_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as admin_connection:
        admin_connection.execute(f"CREATE SCHEMA {schema}")
    joined = "&" if "?" in args.postgres_url else "?"
    url = f"{args.postgres_url}{joined}options=-csearch_path%3D{schema}"
    try:
        with tempfile.TemporaryDirectory(prefix="registry-replicas-") as tmp:
            report = run(url, Path(tmp), args)
    finally:
        with psycopg.connect(plain, autocommit=True) as admin_connection:
            admin_connection.execute(f"DROP SCHEMA {schema} CASCADE")
    print_report(report, load_average, os.getloadavg())


def run(url: str, work: Path, args: argparse.Namespace) -> dict[str, Any]:
    synth.write(work / "synth", "medium", seed=1)
    store = Store(url)
    try:
        Registry(store).seed([examples_dir(), work / "synth"], "bench seed")
        admin = store.create_token("admin", None, None, "bench admin")[1]
        resolver = store.create_token("resolver", None, None, "bench resolver")[1]
    finally:
        store.close()
    bundle = load([str(work / "synth")]).bundles[SYNTH]
    cells = bench_http.full_cells(bundle, 2_000, 7)
    queries = [
        f"/v1/alliances/{SYNTH}/owner?" + "&".join(f"{k}={v}" for k, v in c.items()) for c in cells
    ]
    script = bench_http.rotation_script(work / "owner.lua", queries, resolver)
    baseline_port = bench_http.free_port()
    serve_baseline = (
        f"import sys; sys.path.append({str(HERE)!r}); import uvicorn; "
        f"uvicorn.run('baseline_app:app', host='127.0.0.1', port={baseline_port}, "
        f"workers=1, log_level='warning', "
        f"timeout_worker_healthcheck={WORKER_HEALTHCHECK_SECONDS})"
    )
    baseline = bench_http.Server(
        "baseline", [sys.executable, "-c", serve_baseline], baseline_port, "/constant", work
    )
    read = registry_server("read", url, work, "read", 1)
    notify = registry_server("notify", url, work, "notify", 1)
    sqlite_url = f"sqlite:///{work}/registry.db"
    with Store(sqlite_url) as local:
        Registry(local).seed([examples_dir(), work / "synth"], "bench seed")
        local_token = local.create_token("resolver", None, None, "bench resolver")[1]
    on_sqlite = registry_server("sqlite", sqlite_url, work, "read", 1)
    sqlite_script = bench_http.rotation_script(work / "owner-sqlite.lua", queries, local_token)
    report: dict[str, Any] = {"cells": len(cells)}
    with baseline, Env([read, notify, on_sqlite]):
        for server, token in ((read, resolver), (notify, resolver), (on_sqlite, local_token)):
            status, _ = bench_http.get(
                server.port, queries[0], {"Authorization": f"Bearer {token}"}
            )
            assert status == 200, status
        print(f"(a, b, c) wrk -t1 -c32, {args.rounds} rounds of {args.seconds} s", flush=True)
        report["owner"] = owner_load(
            {"constant": baseline, "read": read, "notify": notify}, script, args.seconds,
            args.rounds,
        )  # fmt: skip
        report["owner_sqlite"] = owner_load(
            {"constant": baseline, "sqlite": on_sqlite}, sqlite_script, args.seconds, args.rounds
        )
        print("(e) the embedded resolver against GET owner", flush=True)
        report["resolver"] = resolver_time(notify, resolver, cells)
    for freshness in ("notify", "read"):
        print(f"(d) propagation, 3 processes x 2 workers, freshness {freshness}", flush=True)
        servers = [registry_server(f"{freshness}-{i}", url, work, freshness, 2) for i in range(3)]
        with Env(servers):
            writes = args.writes if freshness == "notify" else max(20, args.writes // 3)
            report[f"propagation_{freshness}"] = propagation(servers, admin, resolver, writes)
    return report


def print_report(
    report: dict[str, Any], before: tuple[float, ...], after: tuple[float, ...]
) -> None:
    owner = report["owner"]
    c, r, n = owner["constant"], owner["read"], owner["notify"]
    print()
    print(
        f"load average before {before[0]:.2f} {before[1]:.2f}, after {after[0]:.2f} {after[1]:.2f}"
    )
    print(
        f"(a) bare endpoint                 {c.rps:>8,.0f} req/s  "
        f"p50 {c.p50_ms:.2f} ms, p99 {c.p99_ms:.2f} ms"
    )
    print(
        f"(b) GET owner, PostgreSQL, read per request  {r.rps:>8,.0f} req/s  "
        f"{owner['read_ratio']:.2f} of (a); p50 {r.p50_ms:.2f} ms, p99 {r.p99_ms:.2f} ms"
    )
    print(
        f"(c) GET owner, PostgreSQL, LISTEN/NOTIFY     {n.rps:>8,.0f} req/s  "
        f"{owner['notify_ratio']:.2f} of (a), target >= {OWNER_TARGET:.2f}: "
        f"{'met' if owner['notify_ratio'] >= OWNER_TARGET else 'NOT MET'}; "
        f"p50 {n.p50_ms:.2f} ms, p99 {n.p99_ms:.2f} ms; "
        f"{owner['notify_ratio'] / owner['read_ratio']:.2f}x (b); "
        f"non-2xx/errors {c.bad + r.bad + n.bad}"
    )
    lite = report["owner_sqlite"]
    print(
        f"    GET owner, SQLite (reference, its own rounds)  {lite['sqlite'].rps:>8,.0f} req/s  "
        f"{lite['sqlite_ratio']:.2f} of (a)"
    )
    p, floor = report["propagation_notify"], report["propagation_read"]
    print(
        f"(d) propagation to every other process, {p['writes']} writes: p50 {p['p50']:.1f} ms, "
        f"p99 {p['p99']:.1f} ms, max {p['max']:.1f} ms; "
        f"target p99 < {PROPAGATION_TARGET_MS:.0f} ms: "
        f"{'met' if p['p99'] < PROPAGATION_TARGET_MS else 'NOT MET'}; reading per request "
        f"instead ({floor['writes']} writes): p50 {floor['p50']:.1f} ms, "
        f"p99 {floor['p99']:.1f} ms"
    )
    e = report["resolver"]
    print(
        f"(e) owner answer, embedded resolver {e['local_us']:.2f} us; GET owner "
        f"{e['server_us']:.0f} us (one connection): {e['server_us'] / e['local_us']:,.0f}x"
    )


if __name__ == "__main__":
    main()
