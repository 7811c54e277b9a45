"""Work a server process runs beside its requests, and how it stops.

The event dispatcher, the decision log's flusher and whatever else runs in the
background register how to stop with `Background.on_stop`. When the process is
told to stop (SIGTERM, SIGINT), uvicorn stops accepting connections and lets the
requests in flight finish (`REGISTRY_SHUTDOWN_TIMEOUT` at most); then the app's
shutdown closes the `Registry`, which stops the background work, newest first,
each within the time left, and only then closes the store, so a flusher still has
its database.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger("registry.lifecycle")

# A stop hook gets the seconds it may take; it should return by then.
Stop = Callable[[float], None]


@dataclass(frozen=True)
class _Hook:
    name: str
    stop: Stop


class Background:
    def __init__(self) -> None:
        self._hooks: list[_Hook] = []
        self._lock = threading.Lock()
        self.stopped = False

    def on_stop(self, name: str, stop: Stop) -> None:
        """Call `stop(seconds)` when the process stops (`name` for the logs)."""
        with self._lock:
            if self.stopped:
                raise RuntimeError(f"the process is stopping: '{name}' cannot start now")
            self._hooks.append(_Hook(name, stop))

    def stop(self, timeout: float) -> list[str]:
        """Stop everything registered, newest first, within `timeout` seconds in all;
        the names of the hooks that failed. A hook failing does not keep the others
        from running."""
        with self._lock:
            hooks, self._hooks, self.stopped = self._hooks[::-1], [], True
        deadline = time.monotonic() + timeout
        failed = []
        for hook in hooks:
            left = max(0.0, deadline - time.monotonic())
            try:
                hook.stop(left)
            except Exception:
                log.exception("stopping %s failed", hook.name)
                failed.append(hook.name)
            else:
                log.info("stopped %s", hook.name)
        return failed
