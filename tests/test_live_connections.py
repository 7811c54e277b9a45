"""What a real `registry serve` does with connections that do not play by the rules
(registry/connections.py), spoken to in raw bytes over sockets on 127.0.0.1:

- a request line and headers over REGISTRY_MAX_HEADER_BYTES get 414 or 431, a
  request that is not HTTP a 400, and the server serves the next client;
- a silent socket and a half-sent request are closed after REGISTRY_HEADER_TIMEOUT,
  a kept-alive one after REGISTRY_KEEP_ALIVE_TIMEOUT;
- past REGISTRY_MAX_CONNECTIONS, a new client closes the oldest idle connection and
  is served: idle sockets do not lock clients out.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.live import LiveServer

HEAD = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n"
END = b"\r\n"


Start = Callable[..., LiveServer]


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Start]:
    """Starts a server with REGISTRY_* settings given as keywords; stops it after."""
    started: list[LiveServer] = []

    def starting(**settings: str) -> LiveServer:
        env = {f"REGISTRY_{name.upper()}": value for name, value in settings.items()}
        live = LiveServer(
            f"sqlite:///{tmp_path}/registry.db", tmp_path / "server.log", settings=env
        )
        started.append(live)
        return live.start()

    yield starting
    for live in started:
        live.stop()


def connect(server: LiveServer) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=10)


def answer(server: LiveServer, payload: bytes) -> bytes:
    """The head of the server's answer to `payload`, sent whole on a new connection."""
    with connect(server) as sock:
        sock.sendall(payload)
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
    return received.partition(b"\r\n\r\n")[0]


def status_line(server: LiveServer, payload: bytes) -> str:
    return answer(server, payload).partition(b"\r\n")[0].decode()


def closed_within(sock: socket.socket, seconds: float) -> tuple[bool, bytes]:
    """Whether the server closes `sock` within `seconds`, and what it sent first."""
    deadline = time.monotonic() + seconds
    received = b""
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            break
        except ConnectionResetError:
            return True, received
        if not chunk:
            return True, received
        received += chunk
    return False, received


def serves(server: LiveServer) -> bool:
    return httpx.get(server.url("/health"), timeout=10).status_code == 200


@pytest.mark.slow
def test_oversized_and_malformed_requests_get_a_4xx_and_the_server_serves_on(
    start: Start,
) -> None:
    server = start()
    padded = b"Authorization: Bearer" + b" " * 5_000_000 + b"ar_x\r\n"
    assert (
        status_line(server, HEAD + padded + END) == "HTTP/1.1 431 Request Header Fields Too Large"
    )
    many = b"".join(b"X-Padding-%d: %s\r\n" % (i, b"a" * 1000) for i in range(17))
    head = answer(server, HEAD + many + END)
    assert head.split(b"\r\n")[0] == b"HTTP/1.1 431 Request Header Fields Too Large"
    assert b"connection: close" in head.lower()
    url = b"GET /health?" + b"a" * 65536 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    assert status_line(server, url + END) == "HTTP/1.1 414 Request-URI Too Long"
    smuggled = (
        b"POST /v1/alliances/metro-home/apply HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
    )
    assert status_line(server, smuggled) == "HTTP/1.1 400 Bad Request"
    # Headers within the limit are served as before, and so is the next client.
    within = b"".join(b"X-Padding-%d: %s\r\n" % (i, b"a" * 1000) for i in range(14))
    assert status_line(server, HEAD + within + END) == "HTTP/1.1 200 OK"
    assert serves(server)


@pytest.mark.slow
def test_silent_half_sent_and_idle_kept_alive_connections_are_closed(start: Start) -> None:
    server = start(header_timeout="1", keep_alive_timeout="1")
    silent = connect(server)
    half = connect(server)
    half.sendall(HEAD)  # and never the blank line that ends the head
    kept = connect(server)
    kept.sendall(HEAD + END)
    start = time.monotonic()
    try:
        closed, sent = closed_within(silent, 5)
        assert (closed, sent) == (True, b"")
        closed, sent = closed_within(half, 5)
        assert closed and sent.startswith(b"HTTP/1.1 408 Request Timeout\r\n"), sent
        assert b"the request's headers took over 1 s to arrive" in sent
        closed, sent = closed_within(kept, 5)
        assert closed and sent.startswith(b"HTTP/1.1 200 OK\r\n"), sent
        assert time.monotonic() - start < 4.5
    finally:
        for sock in (silent, half, kept):
            sock.close()
    assert serves(server)


@pytest.mark.slow
def test_idle_sockets_past_the_limit_do_not_lock_clients_out(start: Start) -> None:
    server = start(max_connections="8", header_timeout="60")
    idle = [connect(server) for _ in range(20)]
    try:
        # Each connection past the eighth closed the oldest idle one, the request's too.
        assert serves(server)
        closed = [closed_within(sock, 0.5 if i < 13 else 0.05)[0] for i, sock in enumerate(idle)]
        assert closed == [True] * 13 + [False] * 7
    finally:
        for sock in idle:
            sock.close()
    assert serves(server)
