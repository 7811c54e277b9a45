"""The HTTP/1.1 connections `registry serve` accepts: uvicorn's httptools protocol
with the limits uvicorn lacks.

- The request line and headers together are at most `max_header_bytes`: beyond,
  414 (the URL alone) or 431, and the connection closes. Counted as bytes arrive,
  so a 5 MB header is refused at the limit, not buffered first.
- A client has `header_timeout` seconds to send them, from connecting or from the
  first byte of each further request: a socket that stays silent, or sends half a
  request and stops, is closed (408 when it had begun). uvicorn times out only
  kept-alive connections between requests (`keep_alive_timeout`).
- Each request's arrival is stamped on its ASGI scope (`registry.arrived`,
  time.monotonic() when its head was parsed): the app reads the registry's
  generation once for every request that had arrived before that read began
  (registry/service/live.py), not once each.
- A worker holds at most `max_connections`. A new one past the limit closes the
  oldest connection that has no request in flight (idle or still sending its
  headers), so idle sockets cannot lock clients out; when every one is busy, the
  newcomer gets 503.

uvicorn loads the class by name (`registry.connections:GuardedHttp`), in each
worker, which reads the limits from the REGISTRY_* variables as the app does.
Refusals here come before the app, so they are short text/plain answers, as
uvicorn's own 400 for a malformed request is.
"""

from __future__ import annotations

import asyncio
import functools
import time
from asyncio import TimerHandle
from typing import Any, ClassVar

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.server import ServerState

from registry.service.live import ARRIVAL_KEY
from registry.settings import Settings

LINGER_SECONDS = 2.0  # after a refusal, for the client to read it


@functools.cache
def limits() -> Settings:
    return Settings.from_env()


class GuardedHttp(HttpToolsProtocol):
    # This worker's open connections, oldest first (a dict as an ordered set).
    opened: ClassVar[dict[GuardedHttp, None]] = {}

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        settings = limits()
        self.max_head = settings.max_header_bytes
        self.head_timeout = settings.header_timeout
        self.max_connections = settings.max_connections
        self.reading_head = True  # the next bytes belong to a request's head
        self.heads = 0  # heads read whole on this connection
        self.head_bytes = 0  # bytes of the head being read, as they arrive
        self.url_bytes = 0  # of them, the URL's
        self.header_bytes = 0  # names and values of the head's headers
        self.head_timer: TimerHandle | None = None
        self.refused = False

    # -- the connection ------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.opened[self] = None
        if len(self.opened) > self.max_connections and not self._make_room():
            self._refuse(503, "the server holds as many connections as it may; retry shortly")
            return
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self.opened.pop(self, None)
        self._cancel_head_timer()
        super().connection_lost(exc)

    def _make_room(self) -> bool:
        """Close the oldest other connection with no request in flight."""
        for other in self.opened:
            if other is not self and not other._busy():
                other.transport.close()
                other.opened.pop(other, None)
                return True
        return False

    def _busy(self) -> bool:
        return self.cycle is not None and not self.cycle.response_complete

    def data_received(self, data: bytes) -> None:
        if self.refused:
            return
        heads, in_head = self.heads, self.reading_head
        if in_head:
            self._arm_head_timer()
        super().data_received(data)
        if in_head and self.heads == heads and not self.refused:
            # The head is still incomplete: what the parser holds of it so far.
            self.head_bytes += len(data)
            if self.head_bytes > self.max_head:
                self._refuse_head()

    # -- parser callbacks ----------------------------------------------------

    def on_message_begin(self) -> None:
        if self.refused:
            return
        self.url_bytes = self.header_bytes = 0
        super().on_message_begin()

    def on_url(self, url: bytes) -> None:
        if self.refused:
            return
        self.url_bytes += len(url)
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        if self.refused:
            return
        self.header_bytes += len(name) + len(value) + 4  # ": " and CRLF
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        if self.refused:
            return
        self.heads += 1
        self.reading_head = False
        self.head_bytes = 0
        self._cancel_head_timer()
        if self.url_bytes + self.header_bytes > self.max_head:
            self._refuse_head()
            return
        # The scope was made at the message's beginning; its task starts below.
        self.scope[ARRIVAL_KEY] = time.monotonic()  # type: ignore[literal-required]
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if not self.refused:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if self.refused:
            return
        self.reading_head = True
        super().on_message_complete()

    # -- refusals ------------------------------------------------------------

    def _arm_head_timer(self) -> None:
        if self.head_timer is None:
            self.head_timer = self.loop.call_later(self.head_timeout, self._head_timed_out)

    def _cancel_head_timer(self) -> None:
        if self.head_timer is not None:
            self.head_timer.cancel()
            self.head_timer = None

    def _head_timed_out(self) -> None:
        self.head_timer = None
        if self.transport.is_closing() or not self.reading_head:
            return
        if self._busy():  # a pipelined head behind a request still answering
            self._arm_head_timer()
            return
        if self.head_bytes or self.url_bytes:
            self._refuse(408, f"the request's headers took over {self.head_timeout} s to arrive")
        else:
            self.transport.close()

    def _refuse_head(self) -> None:
        if self.url_bytes > self.max_head:
            self._refuse(414, f"the URL is over the limit of {self.max_head:,} bytes")
        else:
            self._refuse(
                431,
                f"the request line and headers are over the limit of {self.max_head:,} "
                "bytes in all",
            )

    def _refuse(self, status: int, message: str) -> None:
        """Answer `status` with a line of text and close the connection."""
        self.refused = True
        self._cancel_head_timer()
        body = (message + "\n").encode()
        self.transport.write(
            b"".join(
                [
                    STATUS_LINE[status],
                    b"content-type: text/plain; charset=utf-8\r\n",
                    b"content-length: %d\r\n" % len(body),
                    b"connection: close\r\n\r\n",
                    body,
                ]
            )
        )
        # Closing with bytes of the client's still unread would reset the connection,
        # and the client could lose the answer before reading it: say no more, read
        # on (dropping it all) for a moment, then close.
        self.transport.write_eof()
        self.loop.call_later(LINGER_SECONDS, self.transport.close)
