"""`registry serve` with two workers, JSON logs and the metrics token, as a real
process: metrics add up across the workers, every log line is JSON and carries the
request's id, and on SIGTERM a request in flight (its body half sent) still gets
its answer before the workers stop their background work and exit."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import time
from pathlib import Path

import httpx
import pytest

from registry.store import Store
from tests.conftest import SIGNER, bearer, seed
from tests.live import LiveServer

pytestmark = pytest.mark.slow

SCRAPE = "scrape-secret-for-tests"
OWNER = "/v1/alliances/metro-home/owner?category=refund&region=north"
PARTNER = """\
apiVersion: alliance-registry/v1
kind: Partner
metadata: {name: metro, alliance: metro-home}
spec:
  legalName: Metro Home plc
  contacts:
    - {name: duty-manager, email: duty@metro.example}
"""


def test_two_workers_json_logs_and_sigterm(tmp_path: Path, alliance_dir: Path) -> None:
    url = f"sqlite:///{tmp_path}/registry.db"
    store = Store(url, SIGNER)
    seed(store, [alliance_dir])
    _, token = store.create_token("admin", None, None, "admin")
    store.close()
    log = tmp_path / "server.log"
    server = LiveServer(
        url,
        log,
        workers=2,
        log_level="info",
        settings={"REGISTRY_LOG_FORMAT": "json", "REGISTRY_METRICS_TOKEN": SCRAPE},
    ).start()
    try:
        with httpx.Client(base_url=server.base, timeout=10) as client:
            for i in range(20):
                answer = client.get(OWNER, headers={**bearer(token), "X-Request-Id": f"t-{i}"})
                assert answer.status_code == 200 and answer.headers["x-request-id"] == f"t-{i}"
            text = client.get("/metrics", headers=bearer(SCRAPE)).text
        # Both workers' counts, added up by the one answering (multiprocess mode).
        route = 'method="GET",route="/v1/alliances/{alliance}/owner",status="200"'
        assert f"registry_http_requests_total{{{route}}} 20.0" in text
        gap = 'registry_findings{alliance="metro-home",rule="coverage-gap",severity="error"} 0.0'
        assert gap in text

        # A request in flight when SIGTERM comes: headers and half its body sent.
        body = PARTNER.encode()
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
        sock.sendall(
            b"POST /v1/alliances/metro-home/apply?dryRun=true HTTP/1.1\r\n"
            b"Host: 127.0.0.1\r\nContent-Type: application/yaml\r\n"
            + f"Authorization: Bearer {token}\r\nX-Request-Id: in-flight\r\n".encode()
            + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            + body[:40]
        )
        time.sleep(0.5)
        assert server.process is not None
        os.kill(server.process.pid, signal.SIGTERM)  # the supervisor, as systemd would
        time.sleep(1.5)
        assert server.process.poll() is None, "the server left a request unanswered"
        sock.sendall(body[40:])
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
        sock.close()
        assert answer.startswith(b"HTTP/1.1 200 "), answer[:300]
        assert b"x-request-id: in-flight" in answer.lower()
        assert server.process.wait(timeout=30) == 0
        server.process = None
    finally:
        server.stop()

    lines = [line for line in server.output().splitlines() if not line.startswith("--- ")]
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    access = [r for r in records if r["logger"] == "registry.access"]
    assert {r["requestId"] for r in access} >= {f"t-{i}" for i in range(20)} | {"in-flight"}
    flight = next(r for r in access if r["requestId"] == "in-flight")
    assert (flight["route"], flight["status"], flight["message"]) == (
        "/v1/alliances/{alliance}/apply",
        200,
        "POST /v1/alliances/{alliance}/apply 200",
    )
    stopping = [r for r in records if r["message"] == "stopping: background work, then the store"]
    assert len(stopping) == 2  # each worker, after its requests finished
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT[\d:.]+\+00:00", r["time"]) for r in records)
