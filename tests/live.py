"""A real `registry serve` process for tests, and a side door into its database.

`LiveServer` starts `python -m registry serve` on a free port of 127.0.0.1, polls
GET /health until it answers 200 (it never sleeps a fixed time), and stops it:
gently with `stop()`, or with SIGKILL with `kill()`, as a crash would. The server
runs in its own process group, so the workers of `--workers N` go with it.

`Probe` reads the database beside the server, on its own connection: the revision
an alliance has committed, and whether a write transaction holds the write lock
right now (the moment to kill a server mid-apply).
"""

from __future__ import annotations

import base64
import contextlib
import os
import shlex
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

STARTUP_SECONDS = 60.0
STOP_SECONDS = 20.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def registry_command(*args: str, database_url: str) -> subprocess.CompletedProcess[str]:
    """`registry ARGS --database-url URL` as a subprocess (e.g. `log verify`)."""
    return subprocess.run(
        [sys.executable, "-m", "registry", *args, "--database-url", database_url],
        capture_output=True,
        text=True,
        env=_environment(),
        timeout=120,
        check=False,
    )


def signing_key() -> str:
    """The fixtures' signing key (tests/conftest.py) as REGISTRY_SIGNING_KEY takes it:
    a server writing to a database they signed must sign too."""
    from tests.conftest import SIGNER  # noqa: PLC0415 - conftest imports nothing of this

    return base64.b64encode(SIGNER.pem()).decode()


def _environment() -> dict[str, str]:
    # The flags decide, not whatever REGISTRY_* the shell running the tests has.
    return {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}


class LiveServer:
    def __init__(
        self,
        database_url: str,
        log: Path,
        workers: int = 1,
        log_level: str = "warning",
        settings: dict[str, str] | None = None,
    ) -> None:
        self.database_url = database_url
        self.log = log
        self.workers = workers
        self.log_level = log_level
        self.settings = settings or {}  # REGISTRY_* variables the server starts with
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.base + path

    def start(self) -> LiveServer:
        """Start and wait until /health answers 200. A port taken between choosing
        it and binding it is retried on another."""
        for _ in range(3):
            self.port = free_port()
            with self.log.open("ab") as out:
                out.write(f"--- serving on {self.port}\n".encode())
                out.flush()
                self.process = subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "registry",
                        "serve",
                        "--database-url",
                        self.database_url,
                        "--host",
                        "127.0.0.1",
                        "--port",
                        str(self.port),
                        "--workers",
                        str(self.workers),
                        "--log-level",
                        self.log_level,
                    ],
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    env={
                        **_environment(),
                        "REGISTRY_SIGNING_KEY": signing_key(),
                        **self.settings,
                    },
                    start_new_session=True,
                )
            if self._wait_healthy():
                return self
            if "address already in use" not in self.output().lower():
                break
        raise RuntimeError(f"the server did not start; its output:\n{self.output()[-4000:]}")

    def _wait_healthy(self) -> bool:
        """Poll /health; between polls, wait on the process itself, which returns at
        once if it has exited. False when it exited without ever answering."""
        assert self.process is not None
        deadline = time.monotonic() + STARTUP_SECONDS
        with httpx.Client(timeout=2.0) as client:
            while time.monotonic() < deadline:
                try:
                    if client.get(self.url("/health")).status_code == 200:
                        return True
                except httpx.TransportError:
                    pass
                try:
                    self.process.wait(timeout=0.05)
                except subprocess.TimeoutExpired:
                    continue
                return False
        self.kill()
        raise RuntimeError(f"/health did not answer 200 in {STARTUP_SECONDS:.0f} s")

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def _signal(self, sig: signal.Signals) -> None:
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)  # the group this Popen started

    def kill(self) -> None:
        """SIGKILL the server and its workers, as a crash or an OOM kill would."""
        if self.process is None:
            return
        self._signal(signal.SIGKILL)
        self.process.wait(timeout=STOP_SECONDS)
        self.process = None

    def stop(self) -> None:
        """SIGTERM, as a service manager stops it; SIGKILL if it does not go."""
        if self.process is None:
            return
        self._signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            self._signal(signal.SIGKILL)
            self.process.wait(timeout=STOP_SECONDS)
        self.process = None

    def worker_pids(self) -> list[int]:
        """The processes answering requests: the workers of a multi-worker server
        (not multiprocessing's helpers), or the server itself."""
        assert self.process is not None
        pids = []
        for status in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = status.read_text().rpartition(")")[2].split()
                cmdline = (status.parent / "cmdline").read_bytes()
            except OSError:
                continue
            if int(fields[1]) == self.process.pid and b"resource_tracker" not in cmdline:
                pids.append(int(status.parent.name))
        return sorted(pids) or [self.process.pid]

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()


def cpu_ticks(pid: int) -> int:
    """User plus system CPU time of a process, in clock ticks."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return int(fields[11]) + int(fields[12])


class Probe:
    """The server's database, read on a connection of the test's own."""

    def __init__(self, database_url: str) -> None:
        self.sqlite = database_url.startswith("sqlite")
        self.connection: Any
        if self.sqlite:
            path = database_url.removeprefix("sqlite:///")
            # timeout=0: a probe for the write lock must not queue behind it.
            self.connection = sqlite3.connect(path, timeout=0, isolation_level=None)
        else:
            import psycopg  # noqa: PLC0415 - the PostgreSQL suite only

            plain = database_url.replace("postgresql+psycopg://", "postgresql://")
            self.connection = psycopg.connect(plain, autocommit=True)

    def close(self) -> None:
        self.connection.close()

    def revision(self, alliance: str) -> int:
        mark = "?" if self.sqlite else "%s"
        row = self.connection.execute(
            f"SELECT revision FROM alliances WHERE name = {mark}", (alliance,)
        ).fetchone()
        return int(row[0]) if row else 0

    def writer_active(self) -> bool:
        """Whether a write transaction holds the registry's write lock now: every
        write bumps the registry_state row first and holds it until it ends."""
        if self.sqlite:
            try:
                self.connection.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as error:
                if "locked" in str(error):
                    return True
                raise
            self.connection.execute("ROLLBACK")
            return False
        import psycopg  # noqa: PLC0415

        try:
            with self.connection.transaction():
                self.connection.execute(
                    "SELECT 1 FROM registry_state WHERE id = 1 FOR UPDATE NOWAIT"
                )
        except psycopg.errors.LockNotAvailable:
            return True
        return False


class Cluster:
    """A throwaway PostgreSQL cluster of the test's own, which it may stop and start
    (never the shared one the suite runs on): initdb and pg_ctl as the user
    `postgres` when the tests run as root (CI, `.ci/run`), as the user itself
    otherwise. `available()` says why not when the binaries are missing."""

    def __init__(self) -> None:
        found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
        self.bin = found[-1].parent if found else None
        self.folder = Path(tempfile.mkdtemp(prefix="registry-pg-"))
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def available(self) -> str | None:
        if self.bin is None:
            return "no PostgreSQL binaries under /usr/lib/postgresql/*/bin"
        return None

    def _run(self, *command: str) -> None:
        assert self.bin is not None
        line = [str(self.bin / command[0]), *command[1:]]
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            line = ["su", "postgres", "-s", "/bin/bash", "-c", shlex.join(line)]
        done = subprocess.run(line, capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            log = self.folder / "pg.log"
            said = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{shlex.join(line)} failed:\n{done.stdout}{done.stderr}{said}")

    def create(self) -> Cluster:
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        self._run(
            "initdb", "-D", f"{self.folder}/data", "-U", "postgres", "-A", "trust",
            "--no-sync", "-E", "UTF8",
        )  # fmt: skip
        return self.start()

    def start(self) -> Cluster:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1"
        self._run(
            "pg_ctl", "-D", f"{self.folder}/data", "-l", f"{self.folder}/pg.log",
            "-o", options, "-w", "start",
        )  # fmt: skip
        return self

    def stop(self) -> None:
        self._run("pg_ctl", "-D", f"{self.folder}/data", "-m", "fast", "-w", "stop")

    def remove(self) -> None:
        with contextlib.suppress(RuntimeError):
            self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)
