"""What a server does with connections that do not play by the rules: `registry serve`
(uvicorn with registry/connections.py), or, with `--granian`, the same app under
granian's own limits, measured the same way:

- oversized requests: a 5 MB Authorization header, 20 KB of headers, a 64 KB URL, a
  request with both Content-Length and Transfer-Encoding: the status line answered;
- a silent socket, a half-sent request and a kept-alive one: when the server closes
  each (and what it sends);
- `--sockets` idle sockets, more than the server's open-file limit (`--nofile`, set
  with prlimit): whether a new client is still served, and after how long.

    .venv/bin/python benchmarks/connections.py [--granian] [--sockets 1124] [--nofile 1024]

granian is no dependency of the registry: `.venv/bin/pip install granian` first.

Every socket is on 127.0.0.1 and every loop is bounded; the server stops at the end.
"""

# ruff: noqa: E402 - the imports follow the import-path fix at the top
from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
# This folder holds a script named http.py: keep it off the import path, or
# `import http.client` would find it instead of the standard library's.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]

import argparse
import http.client
import os
import signal
import socket
import subprocess
import tempfile
import threading
import time

HEADER_WAIT = 40.0  # seconds to wait for a server to close a socket
END = b"\r\n"  # of a request's head


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def health(port: int, timeout: float) -> str:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", "/health")
        response = connection.getresponse()
        response.read()
        return str(response.status)
    except OSError as error:
        return type(error).__name__
    finally:
        connection.close()


def status_line(port: int, payload: bytes) -> str:
    """The first line the server answers `payload` with."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        try:
            sock.sendall(payload)
        except OSError as error:  # closed on us mid-send: read what it said
            print(f"    (sending: {type(error).__name__})")
        answer = b""
        try:
            while b"\r\n" not in answer:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                answer += chunk
        except OSError as error:
            return f"<{type(error).__name__}>"
    return answer.split(b"\r\n")[0].decode(errors="replace") or "<closed, no answer>"


def closed_after(sock: socket.socket, limit: float) -> tuple[float | None, bytes]:
    """Seconds until the server closes `sock`, and the first bytes it sent."""
    start = time.monotonic()
    sock.settimeout(0.2)
    data = b""
    while time.monotonic() - start < limit:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            continue
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            return time.monotonic() - start, data
        data += chunk
    return None, data


def command(granian: bool, port: int) -> list[str]:
    if granian:
        return [
            *(sys.executable, "-m", "granian", "--interface", "asgi", "--factory"),
            *("--port", str(port), "--log-level", "warning", "registry.server:app_from_env"),
        ]
    return [
        sys.executable,
        "-m",
        "registry",
        "serve",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--granian", action="store_true", help="serve with granian instead")
    parser.add_argument("--nofile", type=int, default=1024, help="the server's open-file limit")
    parser.add_argument("--sockets", type=int, default=0, help="idle sockets (default nofile+100)")
    args = parser.parse_args()
    sockets = args.sockets or args.nofile + 100
    work = Path(tempfile.mkdtemp(prefix="registry-connections-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    env["REGISTRY_DATABASE_URL"] = f"sqlite:///{work}/registry.db"
    # Room for the database and logs under the open-file limit.
    env["REGISTRY_MAX_CONNECTIONS"] = str(max(1, args.nofile - 128))
    subprocess.run(
        [sys.executable, "-m", "registry", "db", "upgrade"],
        env=env,
        check=True,
        capture_output=True,
    )
    port = free_port()
    log = (work / "server.log").open("wb")
    process = subprocess.Popen(
        ["prlimit", f"--nofile={args.nofile}", "--", *command(args.granian, port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while health(port, 1) != "200":
            if time.monotonic() > deadline or process.poll() is not None:
                raise SystemExit((work / "server.log").read_text()[-3000:])
            time.sleep(0.1)
        print(f"{'granian' if args.granian else 'registry serve'} on :{port}")
        measure(port, sockets)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def measure(port: int, sockets: int) -> None:
    head = b"GET /health HTTP/1.1\r\nHost: x\r\n"
    refused = {
        "5 MB Authorization header": head + b"Authorization: Bearer x" + b" " * 5_000_000,
        "20 KB of headers": head + b"".join(b"X-%d: %s\r\n" % (i, b"a" * 1000) for i in range(20)),
        "64 KB URL": b"GET /health?" + b"a" * 65536 + b" HTTP/1.1\r\nHost: x\r\n",
        "Content-Length and Transfer-Encoding": b"POST /v1/alliances/x/apply HTTP/1.1\r\n"
        b"Host: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n",
    }
    for name, payload in refused.items():
        print(f"  {name}: {status_line(port, payload + END)}")
    print(f"  then GET /health: {health(port, 5)}")

    idle = socket.create_connection(("127.0.0.1", port))
    half = socket.create_connection(("127.0.0.1", port))
    half.sendall(head)
    kept = socket.create_connection(("127.0.0.1", port))
    kept.sendall(head + b"\r\n")
    kept.settimeout(5)
    kept.recv(65536)
    found: dict[str, tuple[float | None, bytes]] = {}
    waits = [
        threading.Thread(target=lambda n=n, s=s: found.__setitem__(n, closed_after(s, HEADER_WAIT)))
        for n, s in (("silent socket", idle), ("half-sent request", half), ("kept alive", kept))
    ]
    for wait in waits:
        wait.start()
    for wait in waits:
        wait.join()
    for name, (seconds, sent) in found.items():
        when = f"after {seconds:.1f} s" if seconds is not None else f"not in {HEADER_WAIT:.0f} s"
        said = sent.split(b"\r\n")[0].decode(errors="replace") or "nothing"
        print(f"  {name}: closed {when}, sending {said}")
    for sock in (idle, half, kept):
        sock.close()

    held: list[socket.socket] = []
    start = time.monotonic()
    for _ in range(sockets):
        try:
            held.append(socket.create_connection(("127.0.0.1", port), timeout=2))
        except OSError as error:
            print(f"  connecting idle socket {len(held) + 1}: {error}")
            break
    print(f"  {len(held)} idle sockets open: a new client gets {health(port, 5)}")
    status = ""
    while time.monotonic() - start < HEADER_WAIT and status != "200":
        status = health(port, 3)
    print(f"  after {time.monotonic() - start:.1f} s a new client gets {status}")
    for sock in held:
        sock.close()


if __name__ == "__main__":
    main()
