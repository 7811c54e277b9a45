"""Questions answered from the compiled view of the current revision: who owns a
complaint (one or a batch), and the audit.

Compiling an alliance, auditing it and answering a batch take up to seconds: they
run in a worker thread, so the event loop goes on answering other requests. A
single owner query of an alliance compiled already is answered on the loop (some
25 us; a thread hop would cost more than the answer)."""

from __future__ import annotations

import datetime as dt
import functools
from typing import Annotated, Any, Literal

import anyio.to_thread
import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Schema
from litestar.openapi.spec.enums import OpenAPIFormat, OpenAPIType
from litestar.params import FromPath, QueryParameter
from litestar.status_codes import HTTP_200_OK
from litestar.types import ASGIApp, Receive, Scope, Send

from registry.access import Principal
from registry.api.access import authorize, registry
from registry.api.asked import Asked, KnownAt, Revision, asked_about, viewed
from registry.api.bodies import decoded, where
from registry.api.openapi import OwnerParameters, json_body, problems
from registry.api.problems import MAX_LISTED
from registry.api.revisions import (
    CACHE_CONTROL,
    MinRevision,
    answer_tag,
    if_none_match,
    matches,
    not_modified,
    parse_min_revision,
    reach,
    tagged,
)
from registry.engine import paused_gc
from registry.errors import InvalidQuery, InvalidRequest, LocatedError
from registry.findings import Report
from registry.model import DAY_FORM, parse_day
from registry.report import RENDERERS, Audited
from registry.resolve import QUERY_REFUSED, Answer, OwnerIndex
from registry.service import Registry
from registry.service.decisions import new_id, now, record_of

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


_DAY = Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.DATE)
# The body OwnerBatch decodes, which the handler reads itself (registry.api.bodies).
OWNER_BATCH = Schema(
    type=OpenAPIType.OBJECT,
    required=["queries"],
    properties={
        "queries": Schema(
            type=OpenAPIType.ARRAY,
            max_items=MAX_BATCH,
            items=Schema(
                type=OpenAPIType.OBJECT,
                required=["where"],
                properties={
                    "where": Schema(
                        type=OpenAPIType.OBJECT,
                        additional_properties=Schema(type=OpenAPIType.STRING),
                    ),
                    "at": _DAY,
                },
                additional_properties=False,
            ),
        ),
        "at": _DAY,
    },
    additional_properties=False,
)


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
        principal = authorize(request, "resolve", alliance)
        state = registry(request)
        query = _query(request)
        at = _day(query.pop("at", None))
        await reach(request, alliance, parse_min_revision(query.pop("minRevision", None)))
        asked = asked_about(query.pop("revision", None), query.pop("asKnownAt", None))
        view = state.compiled(alliance) if asked is None else None
        if view is None:  # not compiled at this revision yet: off the loop
            view = await anyio.to_thread.run_sync(viewed, state, alliance, asked)
        question = "\x1e".join(f"{name}={node}" for name, node in sorted(query.items()))
        tag = answer_tag("owner", alliance, view.revision, at, question)
        if matches(if_none_match(request), tag):
            # The client holds this answer already, with the decision it was recorded as.
            return _JsonAnswer(b"", tag, 304)
        answer = _ask(view.index, query, at, "$.query")
        if state.recorder is None:
            return _JsonAnswer(msgspec.json.encode(answer), tag)
        answer.decision_id = decision_id = new_id()
        # No clock read here: the decision's time is its id's (read when written).
        records = [record_of(answer, decision_id, "", principal, kind="owner")]
        if state.recording_full:  # back-pressure: wait for room, but not on the loop
            await anyio.to_thread.run_sync(state.record, records)
        else:
            state.record(records)
        return _JsonAnswer(msgspec.json.encode(answer), tag, decision_id=decision_id)

    @post(
        "/owner:batch",
        summary=f"Up to {MAX_BATCH:,} owner queries in one request",
        status_code=HTTP_200_OK,
        responses={
            200: ResponseSpec(OwnerAnswers, description="an answer per query, in order"),
            **problems(400, 403, 404, 413),
        },
        operation_class=json_body(
            OWNER_BATCH,
            '`{"at": DATE?, "queries": [{"where": {DIM: NODE}, "at": DATE?}]}`',
        ),
    )
    async def owner_batch(
        self,
        request: Request[Any, Any, Any],
        alliance: FromPath[str],
        revision: Revision = None,
        as_known_at: KnownAt = None,
        min_revision: MinRevision = None,
    ) -> ASGIApp:
        principal = authorize(request, "resolve", alliance)
        await reach(request, alliance, min_revision)
        asked = asked_about(revision, as_known_at)
        body = await request.body()
        answers = await anyio.to_thread.run_sync(
            functools.partial(_batch, revision=asked),
            registry(request),
            alliance,
            body,
            where(request),
            principal,
        )
        return _JsonAnswer(answers)

    @get("/audit", summary="Every rule on the current revision", responses=problems(400, 403, 404))
    async def audit(
        self,
        *,
        request: Request[Any, Any, Any],
        alliance: FromPath[str],
        as_of: Annotated[dt.date | None, QueryParameter(name="asOf")] = None,
        format: Annotated[Literal["json", "sarif", "csv"], QueryParameter(name="format")] = "json",
        revision: Revision = None,
        as_known_at: KnownAt = None,
        min_revision: MinRevision = None,
    ) -> Response[Report]:
        authorize(request, "audit", alliance)
        await reach(request, alliance, min_revision)
        state, day = registry(request), as_of or _today()
        asked = asked_about(revision, as_known_at)
        # The revision is known before the audit unless it is asked by instant.
        if asked is None or asked.revision is not None:
            known = asked.revision if asked is not None else None
            tag = answer_tag("audit", alliance, known or state.revision(alliance), day, format)
            if matches(if_none_match(request), tag):
                return not_modified(tag)  # type: ignore[return-value]
        if format == "json":
            report = await anyio.to_thread.run_sync(_audit, state, alliance, day, asked)
            # The view audited may be newer than the revision tagged: tag what it is.
            tag = answer_tag("audit", alliance, report.revision or 0, day, format)
            if matches(if_none_match(request), tag):
                return not_modified(tag)  # type: ignore[return-value]
            return tagged(Response(report), tag)
        audited, text = await anyio.to_thread.run_sync(
            _rendered, state, alliance, day, format, asked
        )
        tag = answer_tag("audit", alliance, audited, day, format)
        if matches(if_none_match(request), tag):
            return not_modified(tag)  # type: ignore[return-value]
        answer = Response(text.encode(), media_type=AUDIT_MEDIA[format])
        return tagged(answer, tag)


def _batch(
    state: Registry,
    alliance: str,
    body: bytes,
    asked: str,
    principal: Principal,
    *,
    revision: Asked | None,
) -> bytes:
    """The encoded answers of a batch, or the refusal listing (the first MAX_LISTED
    of) every error, each at its query; each answer a decision of its own."""
    data = decoded(body, OwnerBatch, asked)
    view = viewed(state, alliance, revision)
    default = data.at or _today()
    answers: list[Answer] = []
    errors: list[LocatedError] = []
    found = 0
    # Ten thousand answers stay alive to the end: without the pause, the cyclic
    # collector would rescan the whole heap (the compiled views) several times.
    with paused_gc:
        for i, query in enumerate(data.queries):
            at = query.at or default
            try:
                answers.append(_ask(view.index, query.where, at, f"$.queries[{i}].where"))
            except InvalidQuery as error:
                found += len(error.errors)
                errors += error.errors[: MAX_LISTED + 1 - len(errors)]  # one more says "more"
    if errors:
        raise InvalidQuery(f"{found} error(s) in the queries; nothing answered", errors)
    if state.recorder is not None:
        when, records = now(), []
        for answer in answers:
            answer.decision_id = decision_id = new_id()
            records.append(record_of(answer, decision_id, when, principal, kind="batch"))
        state.record(records)  # in this worker thread: waits here if the buffer is full
    return msgspec.json.encode(OwnerAnswers(alliance, view.revision, answers))


def _audit(state: Registry, alliance: str, day: dt.date, asked: Asked | None) -> Report:
    return viewed(state, alliance, asked).audit(day)


def _rendered(
    state: Registry, alliance: str, day: dt.date, format: str, asked: Asked | None
) -> tuple[int, str]:
    view = viewed(state, alliance, asked)
    text = RENDERERS[format]([Audited(view.audit(day), view.bundle.origins)], "error")
    return view.revision, text


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
    """An ASGI response of one encoded JSON body, status 200 (or 304 with none),
    with its ETag when it has one."""

    __slots__ = ("body", "decision_id", "status", "tag")

    def __init__(
        self,
        body: bytes,
        tag: str | None = None,
        status: int = 200,
        *,
        decision_id: str | None = None,
    ) -> None:
        self.body = body
        self.tag = tag
        self.status = status
        self.decision_id = decision_id

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(self.body)).encode()),
        ]
        if self.status == 304:
            headers = []
        if self.tag is not None:
            headers += [(b"etag", self.tag.encode()), (b"cache-control", CACHE_CONTROL.encode())]
        if self.decision_id is not None:
            headers.append((b"x-decision-id", self.decision_id.encode()))
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
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
