"""REGISTRY_* environment settings, read once; command-line flags override them."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal, get_args, get_origin

import msgspec

from registry.checkpoint import Signer
from registry.errors import InvalidRequest
from registry.model import Duration

DEFAULT_DATABASE_URL = "sqlite:///registry.db"

Positive = Annotated[int, msgspec.Meta(ge=1)]
PositiveSeconds = Annotated[float, msgspec.Meta(gt=0)]


class Settings(msgspec.Struct, kw_only=True, frozen=True):
    database_url: str = DEFAULT_DATABASE_URL
    host: str = "127.0.0.1"
    port: int = 8765
    workers: int = 1
    log_level: str = "info"
    # Request bodies above this are refused with 413 before they are read whole.
    max_body_bytes: Positive = 5 * 1024 * 1024
    # What `registry serve` accepts of a connection (registry/connections.py): the
    # request line and headers in all (414 or 431 beyond), the seconds a client may
    # take to send them, the seconds an idle kept-alive connection stays open, and
    # the connections one worker holds at once (the oldest idle one goes first).
    max_header_bytes: Positive = 16 * 1024
    header_timeout: Positive = 10
    keep_alive_timeout: Positive = 5
    max_connections: Positive = 1000
    # The key that signs checkpoints, from outside the database: a PEM file (what
    # `registry key generate` writes), or its text (PEM, or PEM in base64). Neither: the
    # registry signs nothing.
    signing_key_file: str | None = None
    signing_key: str | None = None
    # What each worker's compiled views (current and old revisions) may hold, by their
    # estimated size: a number of bytes, or with a unit (512MiB, 2GiB, 1.5GB). Past it
    # the least recently used are dropped and compiled again when asked for.
    view_memory: str = "1GiB"
    # Event deliveries (docs/api.md, "Subscriptions and deliveries"). Hosts (names,
    # addresses, networks, comma-separated) a callback may reach over http or at a
    # private, loopback or link-local address; the seconds one delivery may take; the
    # first retry's wait, doubled each time (with jitter) up to the longest wait, for
    # as long as the retry window; how long a process holds a subscription it delivers
    # to without renewing its lease (a killed process's deliveries resume after it).
    webhook_allow: str = ""
    webhook_timeout: PositiveSeconds = 5.0
    webhook_retry_base: PositiveSeconds = 5.0
    webhook_retry_max: PositiveSeconds = 3600.0
    webhook_retry_window: PositiveSeconds = 86400.0
    webhook_lease: PositiveSeconds = 30.0
    # Whether this server delivers events and runs the calendar; how often the calendar
    # looks for boundaries entering the horizon; the day it takes as today (unset: the
    # real one; set it for drills and tests).
    dispatch: bool = True
    calendar_interval: PositiveSeconds = 60.0
    calendar_today: dt.date | None = None
    # Log lines as plain text (uvicorn's) or one JSON object each, with the request id.
    log_format: Literal["text", "json"] = "text"
    # Seconds the requests in flight get to finish once the server is told to stop,
    # and then the background work to stop (registry/service/lifecycle.py).
    shutdown_timeout: Positive = 30
    # A secret for Prometheus to read GET /metrics with (every alliance's figures and
    # nothing else); registry tokens read it too, with their alliances' figures.
    metrics_token: str | None = None
    # How a process learns of writes by other processes on PostgreSQL: "notify"
    # (LISTEN/NOTIFY on one connection per process, falling back to "read" while it
    # is down) or "read" (the generation read on every request). SQLite always reads.
    freshness: Literal["notify", "read"] = "notify"
    # How long a read sent with minRevision waits for the revision to arrive before
    # 503 with Retry-After (seconds).
    min_revision_wait: Annotated[float, msgspec.Meta(ge=0, le=60)] = 5.0
    # /health/ready answers 503 while the oldest pending event delivery is older than
    # this (seconds); unset, the lag is shown but decides nothing (a receiver down for
    # hours would otherwise take every replica out of rotation).
    ready_outbox_lag: PositiveSeconds | None = None
    # The decision log (registry/service/decisions.py): `off` records no answers; the
    # seconds between flushes (what a SIGKILL may lose); how long decisions are kept
    # (an ISO 8601 duration), after which the server prunes them.
    decisions: Literal["on", "off"] = "on"
    decision_flush_interval: Annotated[float, msgspec.Meta(gt=0, le=60)] = 1.0
    decision_retention: str = "P400D"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Settings from REGISTRY_<FIELD> variables, then `overrides` that are not None."""
        env = os.environ if env is None else env
        raw: dict[str, object] = {}
        for spec in msgspec.structs.fields(cls):
            value = env.get(f"REGISTRY_{spec.name.upper()}")
            if value is not None:
                raw[spec.name] = value
        raw.update({k: v for k, v in overrides.items() if v is not None})
        try:
            settings = msgspec.convert(raw, cls, strict=False)
        except msgspec.ValidationError as exc:
            name = str(exc).rpartition("$.")[2].rstrip("`")
            message = str(exc).partition(" - at")[0]
            kind = _TYPES.get(name)
            choices = get_args(kind) if get_origin(kind) is Literal else ()
            if choices:  # a Literal: say what it takes
                message += f"; choose {' or '.join(choices)}"
            raise SettingsError(f"REGISTRY_{name.upper()}: {message}") from None
        settings.view_memory_bytes()  # refused now, not when the first view is built
        return settings

    def view_memory_bytes(self) -> int:
        return byte_size("REGISTRY_VIEW_MEMORY", self.view_memory)

    def to_env(self) -> dict[str, str]:
        """The variables that reproduce these settings in a worker process."""
        return {
            f"REGISTRY_{name.upper()}": str(value)
            for name, value in msgspec.structs.asdict(self).items()
            if value is not None
        }

    def retention(self) -> Duration:
        """REGISTRY_DECISION_RETENTION as a duration (at least a day)."""
        try:
            kept = Duration.parse(self.decision_retention)
        except ValueError as exc:
            raise SettingsError(f"REGISTRY_DECISION_RETENTION: {exc}, such as P400D") from None
        if kept < dt.timedelta(days=1):
            raise SettingsError("REGISTRY_DECISION_RETENTION: keep decisions at least a day (P1D)")
        return kept

    def signer(self) -> Signer | None:
        """The checkpoint signer the key settings name, or None when they name none."""
        if self.signing_key_file and self.signing_key:
            raise SettingsError("set REGISTRY_SIGNING_KEY_FILE or REGISTRY_SIGNING_KEY, not both")
        if self.signing_key_file:
            where = "REGISTRY_SIGNING_KEY_FILE"
            try:
                pem = Path(self.signing_key_file).read_bytes()
            except OSError as exc:
                raise SettingsError(
                    f"{where}: cannot read {self.signing_key_file}: {exc.strerror}"
                ) from None
        elif self.signing_key:
            where, pem = "REGISTRY_SIGNING_KEY", _pem(self.signing_key)
        else:
            return None
        try:
            return Signer.from_pem(pem)
        except ValueError as exc:
            raise SettingsError(
                f"{where}: {exc}; `registry key generate --out FILE` makes a signing key"
            ) from None


_UNITS = {"": 1, "K": 1000, "M": 1000**2, "G": 1000**3, "T": 1000**4}
_BINARY_UNITS = {"Ki": 1024, "Mi": 1024**2, "Gi": 1024**3, "Ti": 1024**4}


def byte_size(setting: str, text: str) -> int:
    """'1GiB', '512MiB', '1.5GB', '1000000' as a number of bytes (at least one)."""
    found = re.fullmatch(r"\s*(\d{1,15}(?:\.\d{1,6})?)\s*(?:([KMGT]i?)B?|B)?\s*", text)
    if found is None:
        raise SettingsError(
            f"{setting}: expected a size such as 512MiB, 2GiB or a number of bytes, got {text!r}"
        )
    number, unit = found[1], found[2] or ""
    size = int(float(number) * (_BINARY_UNITS.get(unit) or _UNITS[unit]))
    if size < 1:
        raise SettingsError(f"{setting}: a size of at least one byte is needed, got {text!r}")
    return size


def _pem(text: str) -> bytes:
    """PEM text as it is, or PEM given in base64 (one line, for an environment variable)."""
    if "-----BEGIN" in text:
        return text.encode()
    try:
        return base64.b64decode(text.strip(), validate=True)
    except binascii.Error:
        return text.encode()


_TYPES = {f.name: f.type for f in msgspec.structs.fields(Settings)}


class SettingsError(InvalidRequest):
    """A REGISTRY_* variable or flag that cannot be used."""


class ClientSettings(msgspec.Struct, kw_only=True, frozen=True):
    """What `registry.client` reads: the server (REGISTRY_SERVER, `--server`) and the
    bearer token (REGISTRY_TOKEN)."""

    server: str | None = None
    token: str | None = None

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, **overrides: str | None
    ) -> ClientSettings:
        env = os.environ if env is None else env
        raw = {name: env.get(f"REGISTRY_{name.upper()}") or None for name in ("server", "token")}
        raw.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**raw)

    def required_server(self) -> str:
        if not self.server:
            raise SettingsError(
                "no server: set REGISTRY_SERVER or pass --server, e.g. --server http://127.0.0.1:8765"
            )
        if not self.server.startswith(("http://", "https://")):
            raise SettingsError(f"--server {self.server}: give an http:// or https:// URL")
        return self.server
