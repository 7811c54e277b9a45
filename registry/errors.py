"""One error root for the whole registry, and one shape of "an error at a place".

Every refusal the registry explains is a `RegistryError`: documents that do not
load, a query naming what the alliance does not have, a ticket that cannot be
mapped, a write refused. Each lists where it went wrong as `LocatedError`s: a JSON
path (into a document, a ticket or a request) and, for documents, the file, line
and column. The core and the service raise these without knowing who asked; each
door maps the root to its output in exactly one place: exit codes and stderr
lines in the CLI (`cli.py`), problem details in the API (`api/problems.py`), an
error page in the web door (`web/controller.py`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class LocatedError:
    """One error: where (a JSON path; in a file, its line and column) and what to do."""

    path: str
    message: str
    file: str | None = None
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        if self.file is None:
            return f"{self.path}: {self.message}"
        if self.line is None:
            return f"{self.file}: {self.path}: {self.message}"
        return f"{self.file}:{self.line}:{self.column}: {self.path}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        """As `--format json` prints it: the file position first, when there is one."""
        out: dict[str, Any] = {}
        if self.file is not None:
            out["file"] = self.file
        if self.line is not None:
            out["line"], out["column"] = self.line, self.column
        out["path"], out["message"] = self.path, self.message
        return out

    def under(self, prefix: str) -> LocatedError:
        """The same error re-rooted: `$.category` under `$.query` is `$.query.category`."""
        return LocatedError(
            prefix + self.path.removeprefix("$"), self.message, self.file, self.line, self.column
        )


class RegistryError(Exception):
    """The root: a refusal with its reason and every error found (possibly none)."""

    def __init__(self, message: str, errors: Sequence[LocatedError] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.errors = list(errors)


class InvalidDocuments(RegistryError):
    """Documents that fail their checks (schema, types, references, dates)."""

    def __init__(self, message: str, errors: Sequence[LocatedError], files: int = 0) -> None:
        super().__init__(message, errors)
        self.files = files


class InvalidSubscription(RegistryError):
    """A subscription that cannot be made: its callback URL or event types, each at its
    JSON path in the request."""


class InvalidRequest(RegistryError):
    """A request the registry cannot read: a malformed parameter or body."""


class InvalidQuery(InvalidRequest):
    """An owner query naming a dimension or node the alliance does not have."""


class TicketRejected(RegistryError):
    """A trouble ticket that cannot be mapped to an owner query: every error found."""


class NoTicketMapping(RegistryError):
    """The alliance declares no `tickets` block, so no ticket can be mapped."""


class Unauthorized(RegistryError):
    """No token, or an unknown or revoked one (the three are not told apart)."""


class Forbidden(RegistryError):
    """The token's role does not grant what was asked."""


class NotFound(RegistryError):
    """No such alliance (or not one the token can see), document, kind or token."""


class PreconditionRequired(RegistryError):
    """The document exists, and changing it needs the version last read."""


class PreconditionFailed(RegistryError):
    """The version last read is no longer current; `current` is the one to retry on."""

    def __init__(self, message: str, current: str | None) -> None:
        super().__init__(message)
        self.current = current


class Conflict(RegistryError):
    """The change would leave the alliance worse: it adds error findings."""


class Unavailable(RegistryError):
    """The registry cannot answer now (the database is unreachable or busy);
    `retry_after`, when known, is how many seconds to wait before asking again."""

    def __init__(
        self, message: str, errors: Sequence[LocatedError] = (), retry_after: int | None = None
    ) -> None:
        super().__init__(message, errors)
        self.retry_after = retry_after
