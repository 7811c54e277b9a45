# ruff: noqa: E402 - the imports follow the import-path fix at the top
"""The HTTP door under load: `registry serve` (uvicorn, one worker) on a registry
holding the example alliances and the synthetic `medium` one, against a bare
litestar endpoint returning a constant msgspec Struct (`baseline_app.py`), served
the same way and measured in the same run:

(a) the bare endpoint with wrk: the floor every figure is a ratio of;
(b) GET /v1/alliances/synth-medium/owner for full cells, wrk rotating through
    2,000 cells with a Lua script: req/s as a ratio of (a) (target >= 0.60);
(c) POST owner:batch of 10,000 full-cell queries: median latency (target
    < 200 ms), and as a ratio of the same 10,000 queries asked in process;
(d) 20 concurrent writers updating one document with If-Match: landed, 412 and
    409 counts, the change log verified, no update lost.

    .venv/bin/python benchmarks/http.py [--seconds 5] [--rounds 3]

wrk shares the machine's cores with the server, so only figures of one run are
compared. Without wrk, (a) and (b) are skipped with a message.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
# This file is named like the standard library's `http`: keep its folder off the
# import path, or `import http.client` (httpx, uvicorn, ...) would find it instead.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]

import argparse
import datetime as dt
import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import msgspec

from registry import synth
from registry.load import load
from registry.resolve import OwnerIndex
from registry.serve import WORKER_HEALTHCHECK_SECONDS, examples_dir
from registry.service import Registry
from registry.store import Store

SYNTH = "synth-medium"
DEMO = "triple-play"
CELLS = 2_000  # rotated through by wrk
BATCH = 10_000
BATCH_RUNS = 15
WRITERS = 20
ATTEMPTS = 3
OWNER_TARGET = 0.60
BATCH_TARGET_MS = 200.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}


class Server:
    """A server subprocess in its own process group, ready once `health` is 200."""

    def __init__(self, name: str, command: list[str], port: int, health: str, cwd: Path) -> None:
        self.name, self.command, self.port, self.health, self.cwd = (
            name,
            command,
            port,
            health,
            cwd,
        )
        self.log = cwd / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Server:
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                self.command,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.cwd,
                env=environment(),
                start_new_session=True,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if get(self.port, self.health)[0] == 200:
                return self
            try:  # wait on the process: returns at once if it died
                self.process.wait(timeout=0.05)
            except subprocess.TimeoutExpired:
                continue
            break
        self.__exit__(None, None, None)
        raise SystemExit(f"{self.name} did not start:\n{self.log.read_text()[-3000:]}")

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self.process is None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.process = None


def request(
    connection: http.client.HTTPConnection,
    method: str,
    path: str,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
) -> tuple[int, dict[str, str], bytes]:
    connection.request(method, path, body=body, headers=headers or {})
    response = connection.getresponse()
    data = response.read()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, data


def get(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        status, _, data = request(connection, "GET", path, headers)
    except OSError:
        return 0, b""
    finally:
        connection.close()
    return status, data


# -- wrk ------------------------------------------------------------------------


@dataclass
class Load:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    bad: int  # non-2xx answers and socket errors


def wrk(url: str, seconds: int, script: Path | None = None) -> Load:
    command = ["wrk", "-t1", "-c32", f"-d{seconds}s", "--latency"]
    if script is not None:
        command += ["-s", str(script)]
    out = subprocess.run(
        [*command, url], capture_output=True, text=True, check=True, timeout=seconds + 60
    ).stdout

    def number(pattern: str) -> float:
        found = re.search(pattern, out)
        return float(found.group(1)) if found else 0.0

    def latency(percent: str) -> float:
        found = re.search(rf"^\s+{percent}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if found is None:
            return float("nan")
        scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[found.group(2)]
        return float(found.group(1)) * scale

    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    bad = int(number(r"Non-2xx or 3xx responses: (\d+)"))
    bad += sum(int(n) for n in errors.groups()) if errors else 0
    return Load(
        rps=number(r"Requests/sec:\s+([\d.]+)"),
        p50_ms=latency("50"),
        p99_ms=latency("99"),
        requests=int(number(r"(\d+) requests in")),
        bad=bad,
    )


def rotation_script(path: Path, queries: list[str], token: str) -> Path:
    """A wrk script sending GET `queries` in turn, with the token."""
    lines = ",\n".join(json.dumps(q) for q in queries)
    path.write_text(
        f"local paths = {{\n{lines}\n}}\n"
        "local n = #paths\n"
        "local i = 0\n"
        f'wrk.headers["Authorization"] = "Bearer {token}"\n'
        "request = function()\n"
        "  i = i % n + 1\n"
        "  return wrk.format(nil, paths[i])\n"
        "end\n"
    )
    return path


# -- the measures ---------------------------------------------------------------


def measure_load(
    registry: Server, baseline: Server, script: Path, seconds: int, rounds: int
) -> tuple[Load, Load, float]:
    """Rounds alternate the two endpoints; the ratio is the median of the rounds'
    ratios, so a slow spell of the machine weighs on both sides of one round."""
    constant = f"http://127.0.0.1:{baseline.port}/constant"
    owner = f"http://127.0.0.1:{registry.port}/"  # the script names every path
    wrk(constant, 2)  # warm both: first requests, connection set-up
    wrk(owner, 2, script)
    constants, owners = [], []
    for i in range(rounds):
        constants.append(wrk(constant, seconds))
        owners.append(wrk(owner, seconds, script))
        print(
            f"  round {i + 1}: constant {constants[-1].rps:,.0f} req/s, "
            f"owner {owners[-1].rps:,.0f} req/s ({owners[-1].rps / constants[-1].rps:.2f})",
            flush=True,
        )
    ratio = statistics.median(o.rps / c.rps for o, c in zip(owners, constants, strict=True))
    return median_load(constants), median_load(owners), ratio


def median_load(loads: list[Load]) -> Load:
    ranked = sorted(loads, key=lambda x: x.rps)
    middle = ranked[len(ranked) // 2]
    return Load(
        middle.rps,
        middle.p50_ms,
        middle.p99_ms,
        sum(x.requests for x in loads),
        sum(x.bad for x in loads),
    )


def measure_batch(
    port: int, token: str, cells: list[dict[str, str]], index: OwnerIndex, at: dt.date
) -> dict[str, float]:
    body = msgspec.json.encode({"queries": [{"where": c} for c in cells], "at": at})
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    times = []
    for i in range(BATCH_RUNS + 3):
        start = time.perf_counter()
        status, _, data = request(
            connection, "POST", f"/v1/alliances/{SYNTH}/owner:batch", headers, body
        )
        elapsed = (time.perf_counter() - start) * 1000
        if status != 200:
            raise SystemExit(f"owner:batch answered {status}: {data[:500]!r}")
        if i >= 3:  # the first ones warm up
            times.append(elapsed)
    connection.close()
    # Checked, not kept: a million live objects would slow the collector below.
    assert len(msgspec.json.decode(data)["answers"]) == len(cells)
    rounds = []
    for _ in range(6):  # warm like the server's index: the first round fills its caches
        start = time.perf_counter()
        for cell in cells:
            index.owner(cell, at)
        rounds.append((time.perf_counter() - start) * 1000)
    in_process = statistics.median(rounds[1:])
    return {
        "median_ms": statistics.median(times),
        "p90_ms": statistics.quantiles(times, n=10)[-1],
        "body_kb": len(body) / 1024,
        "answer_kb": len(data) / 1024,
        "in_process_ms": in_process,
    }


def measure_writers(port: int, token: str, database_url: str, cwd: Path) -> dict[str, Any]:
    path = f"/v1/alliances/{DEMO}/documents/Partner/fastnet"
    auth = {"Authorization": f"Bearer {token}"}
    results: list[dict[str, Any]] = []
    failures: list[BaseException] = []
    start = threading.Barrier(WRITERS)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    status, first_headers, _ = request(connection, "GET", path, auth)
    connection.close()
    assert status == 200, status

    def writer(i: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        try:
            start.wait(timeout=60)
            for attempt in range(ATTEMPTS):
                _, headers, data = request(connection, "GET", path, auth)
                document = json.loads(data)
                name = f"FastNet Ltd, writer {i} attempt {attempt}"
                document["spec"]["legalName"] = name
                status, answer_headers, answer = request(
                    connection,
                    "PUT",
                    path,
                    {**auth, "If-Match": headers["etag"], "Content-Type": "application/json"},
                    json.dumps(document).encode(),
                )
                results.append(
                    {
                        "name": name,
                        "read": headers["etag"],
                        "status": status,
                        "answer": json.loads(answer),
                        "etag": answer_headers.get("etag"),
                    }
                )
                if status in (200, 201):
                    return
        except BaseException as error:
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(WRITERS)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    elapsed = time.perf_counter() - began
    if failures:
        raise SystemExit(f"writers failed: {failures[:3]}")
    landed = sorted(
        (r for r in results if r["status"] in (200, 201)), key=lambda r: r["answer"]["revision"]
    )
    first = landed[0]["answer"]["revision"] if landed else 0
    serialised = [r["answer"]["revision"] for r in landed] == list(
        range(first, first + len(landed))
    ) and [r["read"] for r in landed] == [first_headers["etag"]] + [r["etag"] for r in landed[:-1]]
    status, final = get(port, path, auth)
    no_lost_update = bool(landed) and json.loads(final)["spec"]["legalName"] == landed[-1]["name"]
    store = Store(database_url)
    try:
        revision = store.alliances()[DEMO]
        problems = store.verify()
        entries = store.history(DEMO, 0, 10_000)
    finally:
        store.close()
    cli = subprocess.run(
        [sys.executable, "-m", "registry", "log", "verify", "--database-url", database_url],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=environment(),
        check=False,
    )
    counts = {
        s: sum(r["status"] == s for r in results) for s in sorted({r["status"] for r in results})
    }
    return {
        "attempts": len(results),
        "landed": len(landed),
        "412": counts.get(412, 0),
        "409": counts.get(409, 0),
        "other": {s: n for s, n in counts.items() if s not in (200, 201, 409, 412)},
        "serialised": serialised,
        "no_lost_update": no_lost_update,
        "log_entries_match": len(entries) == revision == first - 1 + len(landed),
        "log_verified": not any(problems.values()) and cli.returncode == 0,
        "seconds": elapsed,
    }


# -- set-up and report ----------------------------------------------------------


def full_cells(bundle: Any, n: int, seed: int) -> list[dict[str, str]]:
    rng = random.Random(seed)
    return [{d.name: rng.choice(d.leaves) for d in bundle.space.dimensions} for _ in range(n)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5, help="per wrk round (default 5)")
    parser.add_argument("--rounds", type=int, default=3, help="wrk rounds per endpoint")
    args = parser.parse_args()
    have_wrk = shutil.which("wrk") is not None
    if not have_wrk:
        print(
            "wrk is not installed (Debian: apt-get install wrk): skipping (a) the bare "
            "endpoint and (b) GET owner; measuring (c) and (d) only",
            flush=True,
        )
    at = dt.datetime.now(dt.UTC).date()
    with tempfile.TemporaryDirectory(prefix="registry-http-") as tmp:
        work = Path(tmp)
        database_url = f"sqlite:///{work}/registry.db"
        synth.write(work / "synth", "medium", seed=1)
        store = Store(database_url)
        try:
            Registry(store).seed([examples_dir(), work / "synth"], "demo seed")
            admin = store.create_token("admin", None, None, "bench admin")[1]
            resolver = store.create_token("resolver", SYNTH, None, "bench resolver")[1]
        finally:
            store.close()
        loaded = load([str(work / "synth")])
        bundle = loaded.bundles[SYNTH]
        index = OwnerIndex(bundle)
        cells = full_cells(bundle, CELLS, 7)
        queries = [
            f"/v1/alliances/{SYNTH}/owner?" + "&".join(f"{k}={v}" for k, v in c.items())
            for c in cells
        ]
        script = rotation_script(work / "owner.lua", queries, resolver)

        port, baseline_port = free_port(), free_port()
        registry = Server(
            "registry",
            [
                *(sys.executable, "-m", "registry", "serve", "--database-url", database_url),
                *("--port", str(port), "--workers", "1", "--log-level", "warning"),
            ],
            port,
            "/health",
            work,
        )
        # Served as `registry serve` serves the API: uvicorn.run, one worker.
        serve_baseline = (
            f"import sys; sys.path.append({str(HERE)!r}); import uvicorn; "
            f"uvicorn.run('baseline_app:app', host='127.0.0.1', port={baseline_port}, "
            f"workers=1, log_level='warning', "
            f"timeout_worker_healthcheck={WORKER_HEALTHCHECK_SECONDS})"
        )
        baseline = Server(
            "baseline", [sys.executable, "-c", serve_baseline], baseline_port, "/constant", work
        )
        print(
            f"registry on :{port} ({SYNTH}: {len(bundle.documents())} documents, "
            f"{DEMO} and the other examples), bare endpoint on :{baseline_port}",
            flush=True,
        )
        with registry, baseline:
            status, _ = get(port, queries[0], {"Authorization": f"Bearer {resolver}"})
            assert status == 200, status  # compiles the alliance's index
            if have_wrk:
                print(f"(a, b) wrk -t1 -c32, {args.rounds} rounds of {args.seconds} s", flush=True)
                constant, owner, ratio = measure_load(
                    registry, baseline, script, args.seconds, args.rounds
                )
            print("(c) owner:batch", flush=True)
            batch = measure_batch(port, resolver, full_cells(bundle, BATCH, 8), index, at)
            print("(d) concurrent writers", flush=True)
            writers = measure_writers(port, admin, database_url, work)

    print()
    print("measure                                   figure            baseline / target")
    if have_wrk:
        print(
            f"(a) bare litestar endpoint, constant      {constant.rps:>9,.0f} req/s   "
            f"p50 {constant.p50_ms:.2f} ms, p99 {constant.p99_ms:.2f} ms"
        )
        print(
            f"(b) GET owner, {CELLS:,} full cells rotated  {owner.rps:>9,.0f} req/s   "
            f"{ratio:.2f} of (a) (median of the rounds' ratios), target >= {OWNER_TARGET:.2f}: "
            f"{'met' if ratio >= OWNER_TARGET else 'NOT MET'}; p50 {owner.p50_ms:.2f} ms, "
            f"p99 {owner.p99_ms:.2f} ms; non-2xx/errors {owner.bad + constant.bad}"
        )
    print(
        f"(c) owner:batch, {BATCH:,} queries          {batch['median_ms']:>9.1f} ms      "
        f"median of {BATCH_RUNS} (p90 {batch['p90_ms']:.1f} ms); "
        f"target < {BATCH_TARGET_MS:.0f} ms: "
        f"{'met' if batch['median_ms'] < BATCH_TARGET_MS else 'NOT MET'} "
        f"({batch['median_ms'] / BATCH_TARGET_MS:.2f} of it); "
        f"{batch['median_ms'] / batch['in_process_ms']:.1f}x the same queries in process "
        f"({batch['in_process_ms']:.1f} ms); body {batch['body_kb']:.0f} KiB, "
        f"answer {batch['answer_kb']:.0f} KiB"
    )
    print(
        f"(d) {WRITERS} writers, If-Match on one document  {writers['landed']} landed, "
        f"{writers['412']} x 412, {writers['409']} x 409 of {writers['attempts']} attempts "
        f"in {writers['seconds']:.1f} s; other statuses {writers['other'] or 'none'}; "
        f"serialised {writers['serialised']}, no lost update {writers['no_lost_update']}, "
        f"log entries match {writers['log_entries_match']}, log verified "
        f"{writers['log_verified']}"
    )


if __name__ == "__main__":
    main()
