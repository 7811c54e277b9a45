"""The server's log lines: plain text (uvicorn's) or one JSON object per line
(`REGISTRY_LOG_FORMAT=json`), each carrying the id of the request it was written
for. The API's edge sets `REQUEST_ID` for every request (taken from its
`X-Request-Id` when that is a sane one, else made up) and answers it back."""

from __future__ import annotations

import contextvars
import datetime as dt
import itertools
import json
import logging
import re
import secrets
from typing import Any

REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

# A request id a client may choose: short, and nothing a log reader could trip on.
_SANE_ID = re.compile(r"[A-Za-z0-9._:/+=-]{1,128}")
HEADER = "x-request-id"

# The attributes every LogRecord has: the others were given as `extra=`.
# uvicorn's `color_message` is its message with terminal colours: not for a file.
_SKIPPED = set(vars(logging.makeLogRecord({}))) | {
    "message",
    "asctime",
    "taskName",
    "color_message",
}


# New ids: this process's random prefix and a count, unique across processes and
# restarts alike, at a fraction of a uuid4's cost (which reads the system's randomness).
_PREFIX = secrets.token_hex(8)
_COUNT = itertools.count(1)


def request_id(sent: str | None) -> str:
    """The client's id when it is 1 to 128 letters, digits or `._:/+=-`; else a new one
    (32 hex digits)."""
    if sent is not None and _SANE_ID.fullmatch(sent):
        return sent
    return f"{_PREFIX}{next(_COUNT):016x}"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, message, request id when
    the line was written for a request, the fields given as `extra`, the traceback."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid = REQUEST_ID.get()
        if rid is not None:
            line["requestId"] = rid
        for key, value in vars(record).items():
            if key not in _SKIPPED and key not in line and not key.startswith("_"):
                line[key] = value if isinstance(value, int | float | bool | None) else str(value)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def uvicorn_config(log_format: str, level: str) -> dict[str, Any] | None:
    """The logging configuration `registry serve` hands uvicorn (None: uvicorn's own,
    plain text). JSON: uvicorn's and the registry's loggers as JSON lines on stderr,
    and one line per request from the registry's edge (`registry.access`, with the
    request id) instead of uvicorn's access line."""
    if log_format != "json":
        return None
    level = level.upper()
    handler = ["stderr"]
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "registry.service.logs.JsonFormatter"}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            }
        },
        "loggers": {
            "uvicorn": {"handlers": handler, "level": level, "propagate": False},
            "uvicorn.error": {"level": level},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
            "registry": {"handlers": handler, "level": level, "propagate": False},
        },
        "root": {"handlers": handler, "level": level},
    }
