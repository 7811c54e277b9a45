# ruff: noqa: E402 - the imports follow the import-path fix at the top
"""Owner queries while another alliance compiles and audits: `registry serve` (uvicorn,
one worker, SQLite) holding the `large` synthetic alliance (5,000 categories, 200 M
cells, seeded through the write path) and the small example `triple-play`.

Two client threads ask owner queries of `triple-play` on kept connections, one every
PACE_MS each, and the latency of every answer is recorded:

- baseline: the server idle but for those queries;
- loaded: the same queries while the large alliance is compiled cold (its first
  audit), audited on NEW_DAYS days it has not audited yet, written once (checked and
  planned) and compiled cold again at the new revision.

Both phases run in the same run, so the ratios compare like with like; the target is
p99 < 50 ms while loaded.

    .venv/bin/python benchmarks/loop.py [--baseline-seconds 5]
"""

from __future__ import annotations

import sys
from pathlib import Path

# benchmarks/http.py is named like the standard library's `http`: keep this folder off
# the import path, or `import http.client` would find that file.
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]

import argparse
import datetime as dt
import http.client
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field

from registry import synth
from registry.serve import examples_dir
from registry.service import Registry
from registry.store import Store

LARGE = "synth-large"
SMALL = "triple-play"
PACE_MS = 5.0  # each client asks again this long after its previous answer
CLIENTS = 2
NEW_DAYS = 6
TARGET_P99_MS = 50.0
DAY = dt.date(2026, 11, 25)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Server:
    """`registry serve` in its own process group, ready once /health answers."""

    def __init__(self, database_url: str, work: Path) -> None:
        self.port = free_port()
        self.log = work / "serve.log"
        self.command = [
            *(sys.executable, "-m", "registry", "serve", "--database-url", database_url),
            *("--port", str(self.port), "--workers", "1", "--log-level", "warning"),
        ]
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Server:
        env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                self.command, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if call(self.port, "GET", "/health")[0] == 200:
                    return self
            except OSError:
                time.sleep(0.05)
        self.__exit__()
        raise SystemExit(f"the server did not start:\n{self.log.read_text()[-3000:]}")

    def __exit__(self, *_: object) -> None:
        if self.process is not None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=30)
            self.process = None


def call(
    port: int, method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b""
) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        connection.request(method, path, body=body or None, headers=headers or {})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


@dataclass
class Queries:
    """Paced owner queries from CLIENTS threads, each answer's latency in ms."""

    port: int
    token: str
    paths: list[str]
    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def run_for(self, seconds: float) -> list[float]:
        threads = self.start()
        time.sleep(seconds)
        return self.stop(threads)

    def start(self) -> list[threading.Thread]:
        self.latencies = []
        self._stop.clear()
        threads = [threading.Thread(target=self._client, args=(i,)) for i in range(CLIENTS)]
        for thread in threads:
            thread.start()
        return threads

    def stop(self, threads: list[threading.Thread]) -> list[float]:
        self._stop.set()
        for thread in threads:
            thread.join()
        return list(self.latencies)

    def _client(self, i: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = {"Authorization": f"Bearer {self.token}"}
        rng = random.Random(i)
        while not self._stop.is_set():
            path = rng.choice(self.paths)
            start = time.perf_counter()
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            response.read()
            self.latencies.append((time.perf_counter() - start) * 1000)
            if response.status != 200:
                self.failures.append(f"{response.status} {path}")
            time.sleep(PACE_MS / 1000)
        connection.close()


def percentile(values: list[float], p: float) -> float:
    ranked = sorted(values)
    return ranked[min(len(ranked) - 1, round(p / 100 * (len(ranked) - 1)))]


def background(port: int, token: str, work: list[tuple[str, float]]) -> None:
    """The large alliance's heavy steps, one after another; `work` gets their times."""
    auth = {"Authorization": f"Bearer {token}"}

    def timed(
        what: str, method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b""
    ) -> None:
        start = time.perf_counter()
        status, _, data = call(port, method, path, {**auth, **(headers or {})}, body)
        work.append((what, time.perf_counter() - start))
        if status != 200:
            raise SystemExit(f"{what}: {status} {data[:300]!r}")

    audit = f"/v1/alliances/{LARGE}/audit?asOf="
    timed("cold compile + first audit", "GET", f"{audit}{DAY}")
    for n in range(1, NEW_DAYS + 1):
        timed(f"audit of a new day ({n})", "GET", f"{audit}{DAY + dt.timedelta(days=n)}")
    partner = f"/v1/alliances/{LARGE}/documents/Partner/partner-001"
    status, headers, data = call(port, "GET", partner, auth)
    assert status == 200, (status, data[:300])
    document = json.loads(data)
    document["spec"]["legalName"] += " (renamed)"
    timed(
        "write (checked and planned) of one Partner",
        "PUT",
        f"{partner}?force=true",
        headers={"If-Match": headers["etag"], "Content-Type": "application/json"},
        body=json.dumps(document).encode(),
    )
    timed("cold compile at the new revision + audit", "GET", f"{audit}{DAY}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline-seconds", type=float, default=5.0)
    args = parser.parse_args()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"load average at the start (1, 5, 15 min): {load}; {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory(prefix="registry-loop-") as tmp:
        work = Path(tmp)
        database_url = f"sqlite:///{work}/registry.db"
        synth.write(work / "large", "large", seed=1, defects=0)
        store = Store(database_url)
        try:
            start = time.perf_counter()
            Registry(store).seed([work / "large", examples_dir()], "bench seed")
            print(f"seeded {LARGE} and the examples through the write path in "
                  f"{time.perf_counter() - start:.1f} s", flush=True)  # fmt: skip
            admin = store.create_token("admin", None, None, "bench admin")[1]
            small = Registry(store).view(SMALL).bundle
        finally:
            store.close()
        rng = random.Random(7)
        cells = [{d.name: rng.choice(d.leaves) for d in small.space.dimensions} for _ in range(200)]
        paths = [
            f"/v1/alliances/{SMALL}/owner?" + "&".join(f"{k}={v}" for k, v in c.items())
            + f"&at={DAY}"
            for c in cells
        ]  # fmt: skip
        with Server(database_url, work) as server:
            queries = Queries(server.port, admin, paths)
            queries.run_for(1.0)  # warm: the small alliance compiled, connections open
            print(f"(a) baseline: owner queries of {SMALL}, {CLIENTS} clients pacing "
                  f"{PACE_MS:.0f} ms, the server idle otherwise, {args.baseline_seconds:.0f} s",
                  flush=True)  # fmt: skip
            idle = queries.run_for(args.baseline_seconds)
            print(f"(b) loaded: the same while {LARGE} compiles, audits, is written and "
                  "compiles again", flush=True)  # fmt: skip
            steps: list[tuple[str, float]] = []
            threads = queries.start()
            began = time.perf_counter()
            background(server.port, admin, steps)
            loaded_s = time.perf_counter() - began
            loaded = queries.stop(threads)
            if queries.failures:
                raise SystemExit(f"owner queries failed: {queries.failures[:5]}")
    report(idle, loaded, steps, loaded_s)


def report(
    idle: list[float], loaded: list[float], steps: list[tuple[str, float]], s: float
) -> None:
    print()
    for what, seconds in steps:
        print(f"  {what}: {seconds:.2f} s")
    print()
    print("owner queries of the small alliance   p50        p99        max        n")
    rows = (("(a) idle server", idle), ("(b) large compiling, auditing", loaded))
    for name, values in rows:
        p50, p99 = statistics.median(values), percentile(values, 99)
        print(f"  {name:<34} {p50:6.2f} ms  {p99:6.2f} ms  {max(values):7.1f} ms  "
              f"{len(values):6,}")  # fmt: skip
    ratio50 = statistics.median(loaded) / statistics.median(idle)
    ratio99 = percentile(loaded, 99) / percentile(idle, 99)
    verdict = "met" if percentile(loaded, 99) < TARGET_P99_MS else "NOT met"
    print(
        f"  (b) / (a): p50 {ratio50:.2f}x, p99 {ratio99:.2f}x, over {s:.1f} s of background "
        "work; "
        f"target p99 < {TARGET_P99_MS:.0f} ms while loaded: {verdict}"
    )
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"  load average at the end (1, 5, 15 min): {load}; {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
