"""One error hierarchy, rendered as RFC 9457 problem details.

Every error response is `application/problem+json` and lists every error found,
each with where it is (file, line, column and JSON path for documents; the query
parameter or body path for requests) and what to do about it.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.params import ParameterKwarg

from registry.load import LoadError
from registry.plan import Plan
from registry.service.writes import InvalidDocuments, PreconditionFailed, WriteError

MEDIA_TYPE = "application/problem+json"
log = logging.getLogger("registry.api")


class ProblemError(msgspec.Struct, omit_defaults=True):
    """One error: a JSON path and a message, plus the file position for documents."""

    path: str
    message: str
    file: str | None = None
    line: int | None = None
    column: int | None = None


class Problem(msgspec.Struct, omit_defaults=True):
    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[ProblemError] = []
    plan: Plan | None = None  # 409: what the refused change would have done
    etag: str | None = None  # 412: the current ETag, to retry against


class ApiError(Exception):
    """An error a handler raises on purpose; the handler maps it to a problem."""

    def __init__(
        self,
        status: int,
        detail: str,
        errors: list[ProblemError] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = errors or []
        self.headers = headers or {}


def problem_type(status: int) -> str:
    """A relative URI per kind of problem, documented in the README."""
    return "/problems/" + HTTPStatus(status).phrase.lower().replace(" ", "-").replace("'", "")


def respond(
    request: Request[Any, Any, Any],
    status: int,
    detail: str,
    errors: list[ProblemError] | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response[Problem]:
    problem = Problem(
        type=problem_type(status),
        title=HTTPStatus(status).phrase,
        status=status,
        detail=detail,
        instance=request.url.path,
        errors=errors or [],
        **extra,
    )
    return Response(problem, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def document_errors(errors: list[LoadError]) -> list[ProblemError]:
    return [ProblemError(e.path, e.message, e.file, e.line, e.column) for e in errors]


def on_api_error(request: Request[Any, Any, Any], exc: ApiError) -> Response[Problem]:
    return respond(request, exc.status, exc.detail, exc.errors, exc.headers)


def on_write_refused(request: Request[Any, Any, Any], exc: WriteError) -> Response[Problem]:
    errors = document_errors(exc.errors) if isinstance(exc, InvalidDocuments) else []
    extra: dict[str, Any] = {}
    if isinstance(exc, PreconditionFailed) and exc.current is not None:
        extra["etag"] = exc.current
    plan = getattr(exc, "plan", None)
    if plan is not None:
        extra["plan"] = plan
    return respond(request, exc.status, str(exc), errors, **extra)


def on_http_exception(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Problem]:
    """Litestar's own errors: a malformed parameter or body, a body too large, a
    route or method that does not exist."""
    errors = []
    if isinstance(exc, ValidationException) and isinstance(exc.extra, list):
        for item in exc.extra:
            if isinstance(item, dict):
                # Litestar gives a ParamType enum member; its value is "query", "header"...
                source = getattr(item.get("source"), "value", item.get("source", "body"))
                key = _wire_name(request, str(item.get("key", "")))
                path = f"$.{source}.{key}" if key else f"$.{source}"
                errors.append(ProblemError(path, str(item.get("message", ""))))
    detail = exc.detail
    if exc.status_code == 413:
        limit = request.app.request_max_body_size
        detail = (
            f"the request body is over the size limit of {limit:,} bytes; send fewer "
            "documents or queries per request (the server's REGISTRY_MAX_BODY_BYTES sets it)"
        )
    return respond(request, exc.status_code, detail, errors, exc.headers)


def _wire_name(request: Request[Any, Any, Any], key: str) -> str:
    """A parameter as the client spells it (`asOf`), not as the handler does (`as_of`)."""
    try:
        field = request.route_handler.parsed_fn_signature.parameters.get(key)
    except Exception:  # no route matched: no handler to ask
        return key
    definition = field.kwarg_definition if field is not None else None
    if isinstance(definition, ParameterKwarg) and definition.name:
        return definition.name
    return key


def on_crash(request: Request[Any, Any, Any], exc: Exception) -> Response[Problem]:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return respond(request, 500, "the registry failed to answer; the error is in its log")


HANDLERS: dict[type[Exception] | int, Any] = {
    ApiError: on_api_error,
    WriteError: on_write_refused,
    HTTPException: on_http_exception,
    Exception: on_crash,
}
