"""Operations in process: GET /metrics (who may read it, what it counts), request
ids, JSON log lines, the background work's stop hooks, and their settings. The
same with real `registry serve` processes and a real SIGTERM is in
tests/test_operations_live.py."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from registry.server import create_app
from registry.service import Registry, Request
from registry.service.lifecycle import Background
from registry.service.logs import REQUEST_ID, JsonFormatter, request_id, uvicorn_config
from registry.service.writes import write
from registry.settings import Settings, SettingsError
from registry.store import Store
from tests.conftest import bearer, seed

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SCRAPE = "scrape-secret-for-tests"
OWNER = "/v1/alliances/metro-home/owner?category=refund&region=north"


@pytest.fixture
def app(database_url: str, alliance_dir: Path) -> Iterator[tuple[TestClient[Litestar], Store]]:
    store = Store(database_url)
    seed(store, [alliance_dir, EXAMPLES / "roaming"])
    settings = Settings(database_url=database_url, metrics_token=SCRAPE)
    with TestClient(create_app(settings, store)) as client:
        yield client, store


def samples(text: str, name: str) -> dict[str, float]:
    """The samples of one metric: the label text -> the value."""
    out = {}
    for line in text.splitlines():
        match = re.fullmatch(rf"{name}\{{(.*)\}} (\S+)", line)
        if match:
            out[match[1]] = float(match[2])
    return out


def scrape(client: TestClient[Litestar], token: str = SCRAPE) -> str:
    response = client.get("/metrics", headers=bearer(token))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    return response.text


def test_who_may_read_metrics(app: tuple[TestClient[Litestar], Store]) -> None:
    client, store = app
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers=bearer("not-" + SCRAPE)).status_code == 401
    # A resolver token reads the metrics, with no alliance's findings.
    _, resolver = store.create_token("resolver", "metro-home", None, "r")
    assert samples(scrape(client, resolver), "registry_findings") == {}
    # The scrape token reads every alliance's findings; an auditor's, its alliance's only.
    every = {labels.split('"')[1] for labels in samples(scrape(client), "registry_findings")}
    assert every == {"metro-home", "roaming"}
    _, auditor = store.create_token("auditor", "roaming", None, "a")
    mine = {
        labels.split('"')[1] for labels in samples(scrape(client, auditor), "registry_findings")
    }
    assert mine == {"roaming"}


def test_requests_are_counted_by_route_template(app: tuple[TestClient[Litestar], Store]) -> None:
    client, store = app
    _, token = store.create_token("admin", None, None, "admin")
    key = 'method="GET",route="/v1/alliances/{alliance}/owner",status="200"'
    before = samples(scrape(client), "registry_http_requests_total").get(key, 0)
    for _ in range(3):
        assert client.get(OWNER, headers=bearer(token)).status_code == 200
    assert client.get("/v1/no/such/route/42").status_code == 404
    text = scrape(client)
    counted = samples(text, "registry_http_requests_total")
    assert counted[key] == before + 3
    assert counted['method="GET",route="unmatched",status="404"'] >= 1
    # Raw paths never become labels.
    assert "/v1/no/such/route/42" not in text and "metro-home/owner" not in text
    timed = samples(text, "registry_http_request_duration_seconds_count")
    assert timed['method="GET",route="/v1/alliances/{alliance}/owner"'] >= 3
    assert samples(text, "registry_compiles_total")['how="trusted"'] >= 1
    assert re.search(r"^registry_view_cache_views \d", text, re.M), "the views kept"
    # The outbox, read off the database: no subscriptions, nothing pending.
    for line in ("registry_outbox_depth 0.0", "registry_outbox_oldest_age_seconds 0.0",
                 "registry_deliveries_failed 0.0"):  # fmt: skip
        assert line in text.splitlines(), line


def test_findings_gauges_follow_writes(app: tuple[TestClient[Litestar], Store]) -> None:
    """Every error and warning rule of the alliance's policy has a gauge, zero
    included; deleting the internet contract opens exactly one coverage gap."""
    client, store = app
    gap = 'alliance="metro-home",rule="coverage-gap",severity="error"'
    findings = samples(scrape(client), "registry_findings")
    assert findings[gap] == 0
    rules = {labels.split('"')[3] for labels in findings if "metro-home" in labels}
    assert {"coverage-gap", "coverage-overlap", "face-gap", "handoff-missing"} <= rules
    asked = Request("metro-home", deletes=["Contract/fastnet-internet"], force=True)
    write(store, asked, "test", "apply")
    assert samples(scrape(client), "registry_findings")[gap] == 1


def test_request_ids(app: tuple[TestClient[Litestar], Store]) -> None:
    client, _ = app
    assert (
        client.get("/health", headers={"X-Request-Id": "ticket-42.a"}).headers["x-request-id"]
        == "ticket-42.a"
    )
    for sent in (b"x" * 129, b"has space", b"new\\nline", "é".encode()):
        answered = client.get("/health", headers={"X-Request-Id": sent}).headers["x-request-id"]
        assert re.fullmatch("[0-9a-f]{32}", answered), sent
    made = client.get("/nowhere").headers["x-request-id"]
    assert re.fullmatch("[0-9a-f]{32}", made)
    assert request_id(None) != request_id(None)


def test_json_log_lines() -> None:
    record = logging.LogRecord(
        "registry.access", logging.INFO, "f.py", 1, "%s %d", ("GET", 200), None
    )
    record.route = "/metrics"
    record.created = 1798761600.25  # 2027-01-01T00:00:00.250Z
    token = REQUEST_ID.set("abc")
    try:
        line = json.loads(JsonFormatter().format(record))
    finally:
        REQUEST_ID.reset(token)
    assert line == {
        "time": "2027-01-01T00:00:00.250+00:00",
        "level": "info",
        "logger": "registry.access",
        "message": "GET 200",
        "requestId": "abc",
        "route": "/metrics",
    }
    assert uvicorn_config("text", "info") is None
    config = uvicorn_config("json", "warning")
    assert config is not None and config["loggers"]["registry"]["level"] == "WARNING"


def test_log_format_setting() -> None:
    assert Settings.from_env({"REGISTRY_LOG_FORMAT": "json"}).log_format == "json"
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({"REGISTRY_LOG_FORMAT": "xml"})
    assert str(refused.value) == (
        "REGISTRY_LOG_FORMAT: Invalid enum value 'xml'; choose text or json"
    )


def test_a_bounded_number_setting_is_refused_with_its_bound() -> None:
    # A bounded float is Annotated, not a Literal: no choices to list (this once
    # failed with a TypeError instead of saying what was wrong).
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({"REGISTRY_DECISION_FLUSH_INTERVAL": "3600"})
    assert str(refused.value) == ("REGISTRY_DECISION_FLUSH_INTERVAL: Expected `float` <= 60.0")


def test_background_work_stops_newest_first() -> None:
    background = Background()
    stopped: list[tuple[str, float]] = []
    background.on_stop("dispatcher", lambda left: stopped.append(("dispatcher", left)))

    def failing(left: float) -> None:
        raise RuntimeError("flusher broke")

    background.on_stop("broken", failing)
    background.on_stop("flusher", lambda left: stopped.append(("flusher", left)))
    assert background.stop(5.0) == ["broken"]
    assert [name for name, _ in stopped] == ["flusher", "dispatcher"]
    assert all(0 < left <= 5.0 for _, left in stopped)
    with pytest.raises(RuntimeError) as late:
        background.on_stop("late", lambda left: None)
    assert str(late.value) == "the process is stopping: 'late' cannot start now"


def test_closing_the_registry_stops_a_thread_before_the_store(
    database_url: str, alliance_dir: Path
) -> None:
    """A flusher that writes when told to stop still has its database."""
    registry = Registry.open(database_url)
    registry.seed([alliance_dir], "test")
    done = threading.Event()
    seen: list[int] = []

    def flusher() -> None:
        done.wait()
        seen.append(registry.revision("metro-home"))

    worker = threading.Thread(target=flusher)
    worker.start()

    def stop(left: float) -> None:
        done.set()
        worker.join(left)

    registry.background.on_stop("flusher", stop)
    start = time.monotonic()
    registry.close(timeout=5)
    assert seen == [1] and not worker.is_alive() and time.monotonic() - start < 5
