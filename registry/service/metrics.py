"""What the registry tells Prometheus (`GET /metrics`), with prometheus-client.

`registry serve` runs several worker processes, each with its own counters, and a
scrape reaches one of them. So the server runs prometheus-client's multiprocess
mode: it points `PROMETHEUS_MULTIPROC_DIR` at a fresh folder before the workers
start (`prepare_multiprocess`), every worker writes its values to files there, and
the worker answering a scrape adds up all of them (`exposition`). Without that
variable (the tests' in-process apps, a single process) the values are the
process's own.

The metrics other parts of the service add are made with `counter`, `gauge` and
`histogram` here, so they share the prefix, the registry and the multiprocess rules:

    DELIVERY_FAILURES = metrics.counter(
        "delivery_failures", "Deliveries that failed", ["alliance"]
    )
    OUTBOX_DEPTH = metrics.gauge("outbox_depth", "Events waiting", mode="max")

Label values must come from a bounded set (route templates, rule ids, alliance
names), never from raw paths or request values.

Findings are read at scrape time (`Findings`): per alliance and rule, how
many error and warning findings today's audit of its current revision has, zero
included, so an alert on `registry_findings{severity="error"} > 0` fires on a gap.
Each audit is kept per revision and day, so a scrape audits an alliance once after
each of its writes (and each midnight). Who may read which alliance's figures is
the caller's to say (`allowed`): alliance names are not for everyone.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

PREFIX = "registry_"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# What `generate_latest` writes (the server adds the charset, UTF-8).
CONTENT_TYPE = "text/plain; version=0.0.4"

# How several processes' values of a gauge add up (prometheus-client's names): "max"
# or "mostrecent" for a figure every process reads off the database alike (outbox
# depth), "livesum" for what each process holds (memory).
GaugeMode = Literal[
    "all", "liveall", "min", "livemin", "max", "livemax", "sum", "livesum", "mostrecent"
]


def counter(name: str, documentation: str, labels: Sequence[str] = ()) -> Counter:
    """A counter named `registry_<name>_total`."""
    return Counter(PREFIX + name, documentation, list(labels))


def gauge(
    name: str, documentation: str, labels: Sequence[str] = (), *, mode: GaugeMode = "max"
) -> Gauge:
    """A gauge named `registry_<name>`; `mode` says how processes' values combine."""
    return Gauge(PREFIX + name, documentation, list(labels), multiprocess_mode=mode)


# Request and compile times: from a quick owner answer (~1 ms) to a large compile (s).
SECONDS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


def histogram(
    name: str, documentation: str, labels: Sequence[str] = (), buckets: Sequence[float] = SECONDS
) -> Histogram:
    return Histogram(PREFIX + name, documentation, list(labels), buckets=list(buckets))


REQUESTS = counter(
    "http_requests", "HTTP requests answered, by method, route template and status",
    ["method", "route", "status"],
)  # fmt: skip
REQUEST_SECONDS = histogram(
    "http_request_duration_seconds", "Time to answer an HTTP request, by method and route",
    ["method", "route"],
)  # fmt: skip
COMPILES = counter(
    "compiles", "Alliances compiled from the store: trusted (every document as stored) or "
    "checked (some document not as the write path stored it)", ["how"],
)  # fmt: skip
COMPILE_SECONDS = histogram("compile_duration_seconds", "Time to compile an alliance")


# (method, route, status) -> its counter and histogram: `labels()` takes a lock and
# builds a key each time, several microseconds of every request. Bounded as the
# labels are (methods, route templates, statuses).
_REQUEST_CHILDREN: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    key = (method, route, status)
    children = _REQUEST_CHILDREN.get(key)
    if children is None:
        children = _REQUEST_CHILDREN[key] = (
            REQUESTS.labels(method, route, str(status)),
            REQUEST_SECONDS.labels(method, route),
        )
    children[0].inc()
    children[1].observe(seconds)


@contextmanager
def compiling(how: str) -> Iterator[None]:
    start = time.perf_counter()
    yield
    COMPILE_SECONDS.observe(time.perf_counter() - start)
    COMPILES.labels(how).inc()


# -- findings ------------------------------------------------------------------

# (rule, severity) -> how many findings, of one alliance's audit.
Counts = dict[tuple[str, str], int]
# How to count one alliance's findings at a revision on a day (None: it is gone).
CountOf = Callable[[str, int, dt.date], Counts | None]


class Findings:
    """`registry_findings{alliance, rule, severity}`: today's error and warning
    findings of each alliance, counted when Prometheus scrapes, once per revision
    and day (the counts outlive the compiled views, a few numbers each)."""

    def __init__(self, count: CountOf) -> None:
        self._count = count
        self._known: dict[str, tuple[int, dt.date, Counts]] = {}
        self._lock = threading.Lock()

    def collector(self, alliances: Iterable[tuple[str, int]], day: dt.date) -> Collector:
        """The gauges of these alliances (name, revision): those the reader may see."""
        return _FindingsScrape(self, list(alliances), day)

    def counts(self, alliance: str, revision: int, day: dt.date) -> Counts | None:
        with self._lock:
            known = self._known.get(alliance)
        if known is not None and known[:2] == (revision, day):
            return known[2]
        counts = self._count(alliance, revision, day)
        with self._lock:
            if counts is None:
                self._known.pop(alliance, None)
            else:
                self._known[alliance] = (revision, day, counts)
        return counts


class _FindingsScrape(Collector):
    def __init__(self, findings: Findings, alliances: list[tuple[str, int]], day: dt.date) -> None:
        self._findings, self._alliances, self._day = findings, alliances, day

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            PREFIX + "findings",
            "Error and warning findings of today's audit of each alliance, by rule",
            labels=["alliance", "rule", "severity"],
        )
        for alliance, revision in self._alliances:
            counts = self._findings.counts(alliance, revision, self._day)
            for (rule, severity), n in sorted((counts or {}).items()):
                family.add_metric([alliance, rule, severity], n)
        yield family


class Figures(Collector):
    """Gauges read off the database when Prometheus scrapes (the same in every
    process, so no process's own value): name -> (help, value, or None to leave out)."""

    def __init__(self, figures: dict[str, tuple[str, float | None]]) -> None:
        self._figures = figures

    def collect(self) -> Iterator[Metric]:
        for name, (documentation, value) in self._figures.items():
            if value is not None:
                yield GaugeMetricFamily(PREFIX + name, documentation, value=value)


def exposition(extra: Sequence[Collector] = ()) -> bytes:
    """The text format of every metric: of all worker processes in multiprocess mode."""
    scraped = CollectorRegistry(auto_describe=False)
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.MultiProcessCollector(scraped)  # type: ignore[no-untyped-call]
    else:
        from prometheus_client import REGISTRY  # noqa: PLC0415 - the process's own

        scraped.register(_Process(REGISTRY))
    for collector in extra:
        scraped.register(collector)
    return generate_latest(scraped)


class _Process(Collector):
    def __init__(self, registry: CollectorRegistry) -> None:
        self._registry = registry

    def collect(self) -> Iterator[Metric]:
        yield from self._registry.collect()


# -- multiprocess mode -------------------------------------------------------


def prepare_multiprocess() -> Path:
    """Before the workers start: the folder their values go to, empty (a value left
    by an earlier run would count again). The operator's PROMETHEUS_MULTIPROC_DIR if
    set (its `*.db` files removed), else a new temporary folder (`finish` removes it)."""
    given = os.environ.get(MULTIPROC_ENV)
    if given:
        folder = Path(given)
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("*.db"):
            stale.unlink()
        return folder
    folder = Path(tempfile.mkdtemp(prefix="registry-metrics-"))
    os.environ[MULTIPROC_ENV] = str(folder)
    os.environ[_OURS_ENV] = str(folder)
    return folder


_OURS_ENV = "REGISTRY_METRICS_FOLDER_MADE"


def finish_multiprocess() -> None:
    """When the server stops: remove the folder `prepare_multiprocess` made."""
    made = os.environ.pop(_OURS_ENV, None)
    if made:
        shutil.rmtree(made, ignore_errors=True)
        os.environ.pop(MULTIPROC_ENV, None)


def worker_stopped() -> None:
    """A worker leaving: its live gauges stop counting."""
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]
