"""The HTTP server: one litestar app mounting the API door (`/v1`, `/health`,
`/schema`) and the web door (`/ui`) over one `Registry`. It is where the doors
meet, so it is the one module that imports both (and the store, to open one)."""

from __future__ import annotations

import logging
import sys

from litestar import Litestar
from litestar.datastructures import State
from litestar.types import Empty

from registry import api, web
from registry.service import Recorder, Registry, metrics
from registry.settings import Settings
from registry.store import Store


def create_app(
    settings: Settings | None = None, store: Store | None = None, *, dispatch: bool = False
) -> Litestar:
    """The app over the settings' database (or `store`). `dispatch`: this process
    delivers events and runs the calendar too, from startup to shutdown, as every
    `registry serve` worker does unless REGISTRY_DISPATCH is false."""
    settings = settings or Settings.from_env()
    store = store or Store(settings.database_url, settings.signer())
    recorder = None
    if settings.decisions == "on":
        recorder = Recorder(store, settings.decision_flush_interval)
    registry = Registry(store, settings.view_memory_bytes(), recorder, settings=settings)
    if recorder is not None:
        retention = settings.retention()
        recorder.chores = lambda: registry.prune_decisions(retention)

    json_logs = settings.log_format == "json"

    def stop() -> None:
        # The requests in flight have finished (uvicorn waits for them first).
        logging.getLogger("registry.lifecycle").info("stopping: background work, then the store")
        registry.close(settings.shutdown_timeout)
        metrics.worker_stopped()

    app = Litestar(
        route_handlers=[*api.route_handlers(), web.WebController, web.static_files()],
        template_config=web.template_config(),
        exception_handlers=api.HANDLERS,
        request_max_body_size=settings.max_body_bytes,
        state=State(
            {"registry": registry, "metrics_token": settings.metrics_token, "settings": settings}
        ),
        on_startup=[
            *([registry.listen] if settings.freshness == "notify" else []),
            *([registry.start_dispatch] if dispatch else []),
            *([] if recorder is None else [recorder.start]),
        ],
        # Dispatch and the other background work stop first, then the last decisions
        # are flushed and the database closes.
        on_shutdown=[stop],
        openapi_config=api.openapi_config(),
        debug=False,
        # JSON logs: `registry serve` configured every logger already (service/logs.py).
        logging_config=None if json_logs else Empty,
    )
    # Outside litestar's routing, so requests no route takes are counted too.
    app.asgi_handler = api.observed(app.asgi_handler, access_lines=json_logs)
    return app


# How long a thread may hold the interpreter before one waiting takes its turn
# (Python's default is 5 ms). Compiles and audits run in worker threads; each time the
# event loop wakes for a request it waits up to this long, several times a request:
# at 1 ms, owner queries of other alliances keep their p99 under 50 ms while a large
# alliance compiles (benchmarks/loop.py), at a cost to the compile within the noise.
SWITCH_INTERVAL_S = 0.001


def app_from_env() -> Litestar:
    """The factory server workers call: settings from REGISTRY_* variables."""
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    settings = Settings.from_env()
    return create_app(settings, dispatch=settings.dispatch)
