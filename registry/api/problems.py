"""The API's one mapping of errors to RFC 9457 problem details.

Every `RegistryError` becomes a problem here, and only here, with the status its
class says (`STATUS`); litestar's own errors (a malformed parameter, a body too
large, no such route) and crashes too. Every error response is
`application/problem+json` and lists the errors found (the first MAX_LISTED, the
detail saying how many there are), each with where it is (file, line, column and
JSON path for documents; the query parameter or body path for requests) and what to
do about it. A 503 says when to retry in `Retry-After` when the registry knows.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.params import ParameterKwarg
from litestar.typing import FieldDefinition

from registry.errors import (
    Conflict,
    Forbidden,
    InvalidDocuments,
    InvalidRequest,
    InvalidSubscription,
    LocatedError,
    NotFound,
    NoTicketMapping,
    PreconditionFailed,
    PreconditionRequired,
    RegistryError,
    TicketRejected,
    Unauthorized,
    Unavailable,
)
from registry.plan import Plan
from registry.wire import Problem, ProblemError

MEDIA_TYPE = "application/problem+json"
# Errors listed in one problem: enough to fix a request by, and a bound on its size.
MAX_LISTED = 100
log = logging.getLogger("registry.api")


# The status of each kind of refusal; a subclass takes its nearest ancestor's.
STATUS: dict[type[RegistryError], int] = {
    InvalidRequest: 400,
    Unauthorized: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    PreconditionFailed: 412,
    InvalidDocuments: 422,
    InvalidSubscription: 422,
    TicketRejected: 422,
    NoTicketMapping: 422,
    PreconditionRequired: 428,
    Unavailable: 503,
}
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="alliance-registry"'}


def status_of(error: RegistryError) -> int:
    for kind in type(error).__mro__:
        status = STATUS.get(kind)
        if status is not None:
            return status
    return 400


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


def problem_errors(errors: list[LocatedError]) -> list[ProblemError]:
    return [ProblemError(e.path, e.message, e.file, e.line, e.column) for e in errors]


def on_refusal(request: Request[Any, Any, Any], exc: RegistryError) -> Response[Problem]:
    status = status_of(exc)
    extra: dict[str, Any] = {}
    if isinstance(exc, PreconditionFailed) and exc.current is not None:
        extra["etag"] = exc.current
    plan = getattr(exc, "plan", None)
    if isinstance(plan, Plan):
        extra["plan"] = plan
    headers = CHALLENGE if status == 401 else None
    if isinstance(exc, Unavailable) and exc.retry_after is not None:
        headers = {"Retry-After": str(exc.retry_after)}
    detail, errors = listed(exc.message, exc.errors)
    return respond(request, status, detail, problem_errors(errors), headers, **extra)


def listed(detail: str, errors: list[LocatedError]) -> tuple[str, list[LocatedError]]:
    """The first MAX_LISTED errors, and the detail saying so when there are more."""
    if len(errors) <= MAX_LISTED:
        return detail, errors
    return f"{detail} (the first {MAX_LISTED} are listed)", errors[:MAX_LISTED]


def on_http_exception(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Problem]:
    """Litestar's own errors: a malformed parameter or body, a body too large, a
    route or method that does not exist."""
    errors = []
    if isinstance(exc, ValidationException) and isinstance(exc.extra, list):
        for item in exc.extra:
            if isinstance(item, dict):
                # Litestar gives a ParamType enum member; its value is "query", "header"...
                source = getattr(item.get("source"), "value", item.get("source", "body"))
                field = _parameter(request, str(item.get("key", "")))
                key = _wire_name(field) or str(item.get("key", ""))
                path = f"$.{source}.{key}" if key else f"$.{source}"
                errors.append(
                    ProblemError(path, _with_choices(str(item.get("message", "")), field))
                )
    detail = exc.detail
    if exc.status_code == 413:
        limit = request.app.request_max_body_size
        detail = (
            f"the request body is over the size limit of {limit:,} bytes; send fewer "
            "documents or queries per request (the server's REGISTRY_MAX_BODY_BYTES sets it)"
        )
    return respond(request, exc.status_code, detail, errors, exc.headers)


def _parameter(request: Request[Any, Any, Any], key: str) -> FieldDefinition | None:
    """The handler's parameter named `key` (as the handler spells it: `as_of`)."""
    try:
        field: FieldDefinition | None = request.route_handler.parsed_fn_signature.parameters.get(
            key
        )
    except Exception:  # no route matched: no handler to ask
        return None
    return field


def _wire_name(field: FieldDefinition | None) -> str | None:
    """A parameter as the client spells it (`asOf`), not as the handler does (`as_of`)."""
    definition = field.kwarg_definition if field is not None else None
    if isinstance(definition, ParameterKwarg) and definition.name:
        return definition.name
    return None


def _with_choices(message: str, field: FieldDefinition | None) -> str:
    """Litestar says "Invalid enum value 'xml'"; say what the values are too."""
    if field is not None and field.is_literal and message.startswith("Invalid enum value"):
        return f"{message}: the choices are {', '.join(str(a) for a in field.args)}"
    return message


def on_crash(request: Request[Any, Any, Any], exc: Exception) -> Response[Problem]:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return respond(request, 500, "the registry failed to answer; the error is in its log")


HANDLERS: dict[type[Exception] | int, Any] = {
    RegistryError: on_refusal,
    HTTPException: on_http_exception,
    Exception: on_crash,
}
