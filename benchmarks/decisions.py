# ruff: noqa: E402 - the imports follow the import-path fix at the top
"""The decision log's figures, each beside a baseline of the same run:

(a) GET owner with decision logging on, and off, under wrk: req/s as ratios of the bare
    litestar endpoint (`baseline_app.py`, served the same way; target >= 0.5 logging on);
(b) the decisions the log took in sustained (its rate is (a)'s; target >= 5,000/s), and
    after the server stopped, every answered request is in the database (no loss); and
    the recorder alone, in process: RECORDED decisions recorded one per call (as the
    owner query does) and flushed, for when the endpoint itself is below 5,000 req/s;
(c) owner:batch of 10,000 with logging on: median latency (target < 300 ms);
(d) replay of 10,000 decisions across 5 revisions, in process (target < 5 s);
(e) the evidence file of the large synthetic alliance: build and verify (targets < 5 s
    and < 10 s), beside the audit it holds (the largest part of both).

    .venv/bin/python benchmarks/decisions.py [--database-url URL] [--seconds 5] [--rounds 3]

SQLite by default; a PostgreSQL URL (an empty database or schema) measures that. wrk
shares the machine's cores with the server: compare figures of one run only.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]

import argparse
import base64
import datetime as dt
import importlib.util
import tempfile
import time

import msgspec
from sqlalchemy import text

from registry import synth
from registry.access import Principal
from registry.checkpoint import Signer
from registry.serve import WORKER_HEALTHCHECK_SECONDS, examples_dir
from registry.service import Filters, Recorder, Registry, verify_evidence
from registry.service.decisions import new_id, now, record_of
from registry.service.writes import Request, write
from registry.store import Store

_spec = importlib.util.spec_from_file_location("bench_http", HERE / "http.py")
assert _spec is not None and _spec.loader is not None
bench = importlib.util.module_from_spec(_spec)
sys.modules["bench_http"] = bench  # its dataclasses look their module up
_spec.loader.exec_module(bench)

SYNTH = "synth-medium"
LARGE = "synth-large"
REPLAYED = 10_000
REVISIONS = 5
RECORDED = 50_000


def serve(name: str, url: str, port: int, work: Path, env: dict[str, str]) -> object:
    settings = [f"{k}={v}" for k, v in env.items()]
    command = [
        *("env", *settings, sys.executable, "-m", "registry", "serve", "--database-url", url),
        *("--port", str(port), "--workers", "1", "--log-level", "warning"),
    ]
    return bench.Server(name, command, port, "/health", work)


def decisions_in(url: str) -> int:
    with Store(url) as store, store.engine.connect() as connection:
        return int(connection.execute(text("SELECT count(*) FROM decisions")).scalar_one())


def replay_figure(url: str, signer: Signer, cells: list[dict[str, str]]) -> tuple[float, int]:
    """Record REPLAYED decisions over REVISIONS revisions of synth-medium, then time
    replaying all of them (each revision compiled once, as the evidence verifier does)."""
    store = Store(url, signer)
    registry = Registry(store, recorder=Recorder(store, 60))
    registry.refresh()
    first = registry.revision(SYNTH)
    partner = next(d for d in store.documents(SYNTH) if d.kind == "Partner")
    per = REPLAYED // REVISIONS
    at = dt.datetime.now(dt.UTC).date()
    since = now()  # the HTTP measures recorded decisions of their own before these
    for n in range(REVISIONS):
        if n:
            body = msgspec.json.decode(partner.body)
            body["spec"]["legalName"] = f"{body['spec'].get('legalName', 'x')} {n}"
            text_ = msgspec.json.encode(body).decode()
            write(store, Request(SYNTH, [("p.json", text_)], force=True), "bench", "apply")
            registry.refresh()
        view = registry.view(SYNTH)
        records = []
        for cell in cells[:per]:
            answer = view.index.owner(cell, at)
            records.append(record_of(answer, new_id(), now(), _PRINCIPAL, kind="batch"))
        registry.record(records)
        assert registry.recorder is not None
        registry.recorder.flush()
    found = store.decisions.page(SYNTH, Filters(since=since), REPLAYED)
    revisions = {d.revision for d in found}
    fresh = Registry(store)  # no view compiled yet: the replay compiles each revision once
    start = time.perf_counter()
    replays = fresh.replay_all(found)
    elapsed = time.perf_counter() - start
    assert all(r.result == "match" for r in replays), "a decision did not replay"
    assert len(found) == REPLAYED and len(revisions) == REVISIONS, (len(found), revisions)
    assert first >= 1
    store.close()
    return elapsed, len(revisions)


def recorder_figure(url: str, signer: Signer, cells: list[dict[str, str]]) -> dict[str, float]:
    """RECORDED decisions through a Recorder: recorded one per call, then one flush."""
    store = Store(url, signer)
    registry = Registry(store)
    registry.refresh()
    view = registry.view(SYNTH)
    at = dt.datetime.now(dt.UTC).date()
    answers = [view.index.owner(cell, at) for cell in cells]
    recorder = Recorder(store, 3600)
    start = time.perf_counter()
    for n in range(RECORDED):
        answer = answers[n % len(answers)]
        recorder.record([record_of(answer, new_id(), "", _PRINCIPAL, kind="owner")])
    recorded_s = time.perf_counter() - start
    written = recorder.flush()
    total_s = time.perf_counter() - start
    recorder.close()
    assert written == RECORDED, written
    store.close()
    return {"record_s": recorded_s, "total_s": total_s, "per_s": RECORDED / total_s}


def evidence_figure(url: str, signer: Signer, work: Path) -> dict[str, float]:
    synth.write(work / "large", "large", seed=1)
    store = Store(url, signer)
    registry = Registry(store)
    registry.seed([work / "large"], "bench seed")
    admin = store.create_token("admin", None, None, "bench")[0]
    principal = next(p for p in store.principals().values() if p.id == admin)
    day = dt.datetime.now(dt.UTC).date()
    view = registry.view(LARGE)  # compiled first: a server has it compiled already
    start = time.perf_counter()
    view.audit(day + dt.timedelta(days=1))
    audit_s = time.perf_counter() - start
    start = time.perf_counter()
    data = registry.evidence(principal, LARGE, None, day)
    build_s = time.perf_counter() - start
    start = time.perf_counter()
    verified = verify_evidence(data, signer.verifier)
    verify_s = time.perf_counter() - start
    assert not verified.problems, verified.problems[:3]
    store.close()
    return {"build_s": build_s, "verify_s": verify_s, "audit_s": audit_s, "mb": len(data) / 1e6}


_PRINCIPAL = Principal(1, "admin")


def main() -> None:  # noqa: PLR0915 - one run, printed in order
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="default: a SQLite file in a temporary folder")
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    signer = Signer.generate()
    key = base64.b64encode(signer.pem()).decode()
    with tempfile.TemporaryDirectory(prefix="registry-decisions-") as tmp:
        work = Path(tmp)
        url = args.database_url or f"sqlite:///{work}/registry.db"
        synth.write(work / "synth", "medium", seed=1)
        store = Store(url, signer)
        Registry(store).seed([examples_dir(), work / "synth"], "demo seed")
        resolver = store.create_token("resolver", SYNTH, None, "bench resolver")[1]
        bundle_index = Registry(store)
        bundle_index.refresh()
        view = bundle_index.view(SYNTH)
        store.close()
        cells = bench.full_cells(view.bundle, bench.CELLS, 7)
        queries = [
            f"/v1/alliances/{SYNTH}/owner?" + "&".join(f"{k}={v}" for k, v in c.items())
            for c in cells
        ]
        script = bench.rotation_script(work / "owner.lua", queries, resolver)
        base_port = bench.free_port()
        serve_baseline = (
            f"import sys; sys.path.append({str(HERE)!r}); import uvicorn; "
            f"uvicorn.run('baseline_app:app', host='127.0.0.1', port={base_port}, "
            f"workers=1, log_level='warning', "
            f"timeout_worker_healthcheck={WORKER_HEALTHCHECK_SECONDS})"
        )
        baseline = bench.Server(
            "baseline", [sys.executable, "-c", serve_baseline], base_port, "/constant", work
        )
        figures = {}
        with baseline:
            for mode in ("on", "off"):
                port = bench.free_port()
                env = {"REGISTRY_SIGNING_KEY": key, "REGISTRY_DECISIONS": mode}
                before = decisions_in(url)
                with serve(f"registry-{mode}", url, port, work, env):
                    status, _ = bench.get(port, queries[0], {"Authorization": f"Bearer {resolver}"})
                    assert status == 200, status
                    print(f"(a) GET owner, logging {mode}", flush=True)
                    constant, owner, ratio = bench.measure_load(
                        _Named(port), baseline, script, args.seconds, args.rounds
                    )
                    batch = None
                    if mode == "on":
                        print("(c) owner:batch, logging on", flush=True)
                        batch = bench.measure_batch(
                            port,
                            resolver,
                            bench.full_cells(view.bundle, bench.BATCH, 8),
                            view.index,
                            dt.datetime.now(dt.UTC).date(),
                        )
                recorded = decisions_in(url) - before
                figures[mode] = (constant, owner, ratio, batch, recorded)
        print("(b) the recorder alone", flush=True)
        alone = recorder_figure(url, signer, cells)
        print("(d) replay", flush=True)
        replay_s, revisions = replay_figure(url, signer, cells * 5)
        print("(e) evidence of the large alliance", flush=True)
        evidence = evidence_figure(url, signer, work)

    on_constant, on_owner, on_ratio, batch, recorded = figures["on"]
    _, off_owner, off_ratio, _, off_recorded = figures["off"]
    # Every answer is a decision: the measured rounds' requests, the first query and
    # every batch's queries at least (wrk's warm-up rounds are not counted by it).
    counted = on_owner.requests + 1 + (bench.BATCH_RUNS + 3) * bench.BATCH
    print()
    print(f"database: {'PostgreSQL' if url.startswith('postgresql') else 'SQLite'}")
    print(f"(a) bare litestar endpoint        {on_constant.rps:>9,.0f} req/s")
    print(
        f"(a) GET owner, logging on         {on_owner.rps:>9,.0f} req/s  {on_ratio:.2f} of bare "
        f"(target >= 0.50: {'met' if on_ratio >= 0.5 else 'NOT MET'}); logging off "
        f"{off_owner.rps:,.0f} req/s, {off_ratio:.2f} of bare; non-2xx {on_owner.bad}"
    )
    print(
        f"(b) decisions recorded            {recorded:>9,}        while serving "
        f"{on_owner.rps:,.0f} answers/s (target >= 5,000/s: "
        f"{'met' if on_owner.rps >= 5000 else 'NOT MET'}); logging off recorded "
        f"{off_recorded}"
    )
    print(
        f"    no loss: {recorded:,} in the database after the server stopped, for at least "
        f"{counted:,} answers counted ({'met' if recorded >= counted else 'LOST SOME'})"
    )
    print(
        f"(b) the recorder alone: {RECORDED:,} recorded and flushed in {alone['total_s']:.2f} s, "
        f"{alone['per_s']:,.0f}/s (target >= 5,000/s: "
        f"{'met' if alone['per_s'] >= 5000 else 'NOT MET'}); recording alone "
        f"{1e6 * alone['record_s'] / RECORDED:.1f} us each"
    )
    assert batch is not None
    print(
        f"(c) owner:batch of {bench.BATCH:,}, logging on  {batch['median_ms']:>6.1f} ms  "
        f"(target < 300 ms: {'met' if batch['median_ms'] < 300 else 'NOT MET'}); the same "
        f"queries in process {batch['in_process_ms']:.1f} ms"
    )
    print(
        f"(d) replay of {REPLAYED:,} decisions, {revisions} revisions  {replay_s:>6.2f} s  "
        f"(target < 5 s: {'met' if replay_s < 5 else 'NOT MET'})"
    )
    print(
        f"(e) evidence of {LARGE} ({evidence['mb']:.1f} MB): build {evidence['build_s']:.2f} s "
        f"(target < 5 s), verify {evidence['verify_s']:.2f} s (target < 10 s); the audit "
        f"alone {evidence['audit_s']:.2f} s"
    )


class _Named:
    def __init__(self, port: int) -> None:
        self.port = port


if __name__ == "__main__":
    main()
