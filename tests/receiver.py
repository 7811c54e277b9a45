"""A real webhook receiver on 127.0.0.1 for the event tests: an HTTP server on a
thread of the test process that verifies every delivery's signature with the
`standardwebhooks` package, against the secret of the subscription its path names
(`/hooks/<name>`), and keeps what arrived. It can answer a status of the test's
choosing, answer slowly, redirect, or go down and come back up on the same port.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook, WebhookVerificationError


@dataclass
class Received:
    path: str
    webhook_id: str
    body: dict[str, Any]
    verified: bool
    error: str | None
    at: float  # time.time() on arrival


@dataclass
class Receiver:
    secrets: dict[str, str] = field(default_factory=dict)  # path -> whsec_...
    received: list[Received] = field(default_factory=list)
    status: int = 204
    delay: float = 0.0
    redirect: str | None = None
    port: int = 0
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/{name}"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                data = self.rfile.read(length)
                receiver._record(self.path, data, dict(self.headers.items()))
                if receiver.delay:
                    time.sleep(receiver.delay)
                if receiver.redirect is not None:
                    self.send_response(302)
                    self.send_header("location", receiver.redirect)
                else:
                    self.send_response(receiver.status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Down: the port refuses connections until `start()` again."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _record(self, path: str, data: bytes, headers: dict[str, str]) -> None:
        secret = self.secrets.get(path)
        verified, error = False, None
        try:
            if secret is None:
                raise WebhookVerificationError(f"no secret for {path}")
            Webhook(secret).verify(data, headers)
            verified = True
        except WebhookVerificationError as exc:
            error = str(exc)
        lowered = {k.lower(): v for k, v in headers.items()}
        with self._lock:
            self.received.append(
                Received(
                    path,
                    lowered.get("webhook-id", ""),
                    json.loads(data),
                    verified,
                    error,
                    time.time(),
                )
            )

    def of(self, name: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.path == f"/hooks/{name}"]

    def wait(self, count: int, name: str | None = None, timeout: float = 30.0) -> list[Received]:
        """Wait until `count` distinct webhook-ids have arrived (of one subscription)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                got = [r for r in self.received if name is None or r.path == f"/hooks/{name}"]
            if len({r.webhook_id for r in got}) >= count:
                return got
            time.sleep(0.02)
        raise AssertionError(
            f"{len({r.webhook_id for r in got})} of {count} deliveries arrived in {timeout:g} s"
        )
