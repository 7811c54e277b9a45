"""Questions answered from the compiled view of the current revision: who owns a
complaint (one or a batch), and the audit."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK
from litestar.types import ASGIApp, Receive, Scope, Send

from registry.api.access import authorize, registry
from registry.api.openapi import OwnerParameters, problems
from registry.engine import paused_gc
from registry.errors import InvalidQuery, InvalidRequest, LocatedError
from registry.findings import Report
from registry.model import DAY_FORM, parse_day
from registry.report import RENDERERS, Audited
from registry.resolve import QUERY_REFUSED, Answer, OwnerIndex

MAX_BATCH = 10_000

AUDIT_MEDIA = {
    "json": "application/json",
    "sarif": "application/sarif+json",
    "csv": "text/csv",  # Litestar adds "; charset=utf-8" to text types
}


class OwnerQuery(msgspec.Struct, forbid_unknown_fields=True):
    where: dict[str, str]
    at: dt.date | None = None


class OwnerBatch(msgspec.Struct, forbid_unknown_fields=True):
    queries: Annotated[list[OwnerQuery], msgspec.Meta(max_length=MAX_BATCH)]
    at: dt.date | None = None


class OwnerAnswers(msgspec.Struct):
    alliance: str
    revision: int
    answers: list[Answer]


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


class QueryController(Controller):
    path = "/v1/alliances/{alliance:str}"
    tags = ["queries"]

    @get(
        "/owner",
        summary="Who owns a complaint, and how the face hands it over",
        description="Name a node per dimension as query parameters, e.g. "
        "`?category=refund&region=north&channel=web`; leave dimensions out or name inner "
        "nodes to ask about many cells at once. `at` is the day (default today).",
        responses={
            200: ResponseSpec(Answer, description="the answer (§5 of the contract language)"),
            **problems(400, 403, 404),
        },
        operation_class=OwnerParameters,
    )
    async def owner_query(self, request: Request[Any, Any, Any]) -> ASGIApp:
        # The hot path of complaint systems: the handler reads the path and query
        # itself and sends the encoded answer as it is, which spares litestar's
        # per-parameter and per-response work (OwnerParameters and the 200 response
        # above document both).
        alliance: str = request.path_params["alliance"]
        authorize(request, "resolve", alliance)
        index = registry(request).view(alliance).index
        query = _query(request)
        at = _day(query.pop("at", None))
        return _JsonAnswer(msgspec.json.encode(_ask(index, query, at, "$.query")))

    @post(
        "/owner:batch",
        summary=f"Up to {MAX_BATCH:,} owner queries in one request",
        status_code=HTTP_200_OK,
        responses=problems(400, 403, 404, 413),
    )
    async def owner_batch(
        self, request: Request[Any, Any, Any], alliance: FromPath[str], data: JSONBody[OwnerBatch]
    ) -> OwnerAnswers:
        authorize(request, "resolve", alliance)
        view = registry(request).view(alliance)
        default = data.at or _today()
        answers, errors = [], []
        # Ten thousand answers stay alive to the end: without the pause, the cyclic
        # collector would rescan the whole heap (the compiled views) several times.
        with paused_gc:
            for i, query in enumerate(data.queries):
                at = query.at or default
                try:
                    answers.append(_ask(view.index, query.where, at, f"$.queries[{i}].where"))
                except InvalidQuery as error:
                    errors += error.errors
        if errors:
            raise InvalidQuery(f"{len(errors)} error(s) in the queries; nothing answered", errors)
        return OwnerAnswers(alliance, view.revision, answers)

    @get("/audit", summary="Every rule on the current revision", responses=problems(400, 403, 404))
    async def audit(
        self,
        *,
        request: Request[Any, Any, Any],
        alliance: FromPath[str],
        as_of: Annotated[dt.date | None, QueryParameter(name="asOf")] = None,
        format: Annotated[Literal["json", "sarif", "csv"], QueryParameter(name="format")] = "json",
    ) -> Response[Report]:
        authorize(request, "audit", alliance)
        view = registry(request).view(alliance)
        report = view.audit(as_of or _today())
        if format == "json":
            return Response(report)
        text = RENDERERS[format]([Audited(report, view.bundle.origins)], "error")
        return Response(text.encode(), media_type=AUDIT_MEDIA[format])  # type: ignore[arg-type]


def _query(request: Request[Any, Any, Any]) -> dict[str, str]:
    """The query parameters, each given once: one node per dimension (an inner node
    stands for its subtree) and one day."""
    raw: bytes = request.scope.get("query_string", b"")
    plain = split_plain_query(raw)
    if plain is None:
        pairs = list(request.query_params.multi_items())
        query = dict(pairs)
        if len(query) < len(pairs):
            _refuse_repeated(pairs)
        return query
    # Fewer names than parts: an empty part, or a name given twice.
    if len(plain) <= raw.count(b"&"):
        _refuse_repeated(
            [(n, v) for n, _, v in (p.partition("=") for p in raw.decode().split("&") if p)]
        )
    return plain


def _refuse_repeated(pairs: list[tuple[str, str]]) -> None:
    given: dict[str, list[str]] = {}
    for name, value in pairs:
        given.setdefault(name, []).append(value)
    errors = [
        LocatedError(
            f"$.query.{name}",
            f"given {len(values)} times ({', '.join(values)}); "
            + (
                "ask about one day"
                if name == "at"
                else "name one node: an inner node covers its subtree"
            ),
        )
        for name, values in given.items()
        if len(values) > 1
    ]
    if errors:
        raise InvalidRequest("a query parameter is given more than once; give each once", errors)


def split_plain_query(raw: bytes) -> dict[str, str] | None:
    """A plain query (the usual `category=refund&region=north`) split as litestar's
    parser (`urllib.parse.parse_qsl`) would, at a fraction of its cost; None for one
    with escapes, `+` or non-ASCII bytes, which that parser must read."""
    if not raw.isascii() or b"%" in raw or b"+" in raw:
        return None
    query = {}
    for part in raw.decode().split("&"):
        if part:  # as litestar's parser: a bare name is a blank value, an empty part none
            name, _, value = part.partition("=")
            query[name] = value
    return query


class _JsonAnswer:
    """An ASGI response of one encoded JSON body, status 200."""

    __slots__ = ("body",)

    def __init__(self, body: bytes) -> None:
        self.body = body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(self.body)).encode()),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": self.body, "more_body": False})


def _day(text: str | None) -> dt.date:
    if text is None:
        return _today()
    day = parse_day(text)
    if day is None:
        raise InvalidQuery(
            QUERY_REFUSED, [LocatedError("$.query.at", f"'{text}' is not a date {DAY_FORM}")]
        )
    return day


def _ask(index: OwnerIndex, query: dict[str, str], at: dt.date, prefix: str) -> Answer:
    """The answer, or the refusal with each error at its place in the request."""
    try:
        return index.owner(query, at)
    except InvalidQuery as error:
        raise InvalidQuery(error.message, [e.under(prefix) for e in error.errors]) from None
