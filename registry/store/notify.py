"""Freshness on PostgreSQL by LISTEN/NOTIFY: every write transaction notifies the
registry's channel (delivered at commit, dropped with a rollback), and each server
process keeps one listening connection in a thread of its own.

While the listener is connected, a process need not read the registry generation on
every request: it reads again when a notification comes. When the connection drops
(PostgreSQL restarted, the backend killed, the network gone) `connected` turns false
at once, so the process goes back to reading on every request, and the thread
reconnects with a growing pause. After it reconnects it counts one change, so the
first request reads once and catches whatever was written while nobody listened.

The channel names the database and the schema (search_path), so registries sharing
one PostgreSQL cluster, as the tests' schemas do, do not hear each other's writes.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, Engine, text

log = logging.getLogger("registry.store")

# How often the listening thread pings the server (a connection that went silently
# away is noticed within about this long), and how long it waits for a notification
# at a time before it looks whether it is asked to stop.
PING_SECONDS = 1.0
WAKE_SECONDS = 0.1
# The pauses between reconnection attempts: doubled from the first to the last.
FIRST_PAUSE = 0.05
LAST_PAUSE = 2.0
CONNECT_TIMEOUT_SECONDS = 2


def channel_of(connection: Connection) -> str:
    """The registry's notification channel in this database and schema."""
    row = connection.execute(text("SELECT current_database(), current_schema()")).one()
    where = f"{row[0]}.{row[1]}".encode()
    return "registry_" + hashlib.sha256(where).hexdigest()[:24]


def notify(connection: Connection, channel: str, payload: str) -> None:
    """Notify the channel when the connection's transaction commits."""
    connection.execute(
        text("SELECT pg_notify(:channel, :payload)"), {"channel": channel, "payload": payload}
    )


class Listener:
    """One listening connection, in a daemon thread; `changes` counts the
    notifications heard (and each reconnection), `connected` says whether a write
    committed now would be heard."""

    def __init__(self, engine: Engine, channel: str, on_change: Callable[[], None]) -> None:
        self._engine = engine
        self._channel = channel
        self._on_change = on_change
        self.changes = 0
        self.connected = False
        self.reconnects = 0
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="registry-listener", daemon=True)

    def start(self) -> Listener:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the thread: within WAKE_SECONDS it closes its connection and ends,
        waited for, so that nothing it does outlives the store it refreshes."""
        self._stopping.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=WAKE_SECONDS + CONNECT_TIMEOUT_SECONDS + 1)

    def wait_connected(self, seconds: float) -> bool:
        """Whether the listener is connected within `seconds` (for tests and start-up)."""
        deadline = time.monotonic() + seconds
        while not self.connected and time.monotonic() < deadline:
            if self._stopping.wait(0.01):
                break
        return self.connected

    def _run(self) -> None:
        pause = FIRST_PAUSE
        while not self._stopping.is_set():
            connection = None
            try:
                connection = self._connect()
                connection.execute(f'LISTEN "{self._channel}"')
                # Heard from now on; what was written before is read once, now.
                self._changed()
                self.connected = True
                if self.reconnects:
                    log.warning("listening for writes again on PostgreSQL")
                pause = FIRST_PAUSE
                self._listen(connection)
            except Exception as exc:  # any failure of the connection: read per request
                if self.connected:
                    log.warning(
                        "the PostgreSQL listening connection dropped (%s); reading the "
                        "generation on every request until it is back",
                        first_line(exc),
                    )
                self.connected = False
            finally:
                self.connected = False
                if connection is not None:
                    with contextlib.suppress(Exception):  # closing a broken connection
                        connection.close()
            if self._stopping.wait(pause):
                return
            self.reconnects += 1
            pause = min(pause * 2, LAST_PAUSE)

    def _connect(self) -> Any:
        dialect = self._engine.dialect
        args, params = dialect.create_connect_args(self._engine.url)
        params = {**params, "autocommit": True, "connect_timeout": CONNECT_TIMEOUT_SECONDS}
        return dialect.loaded_dbapi.connect(*args, **params)

    def _listen(self, connection: Any) -> None:
        pinged = time.monotonic()
        while not self._stopping.is_set():
            for _ in connection.notifies(timeout=WAKE_SECONDS):
                self._changed()
            if time.monotonic() - pinged >= PING_SECONDS:
                connection.execute("SELECT 1")  # a connection gone quietly fails here
                pinged = time.monotonic()

    def _changed(self) -> None:
        self.changes += 1
        if self._stopping.is_set():  # the store may be closing: refresh nothing
            return
        try:
            self._on_change()
        except Exception as exc:  # the next request reads again and says it
            log.debug("refresh after a notification failed: %s", exc)


def first_line(error: Exception) -> str:
    said = str(error).strip()
    return said.splitlines()[0] if said else type(error).__name__
