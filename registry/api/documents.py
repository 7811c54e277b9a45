"""Alliances and their documents: list, read (now or at an earlier revision),
write one (PUT, DELETE with ETags) or many at once (apply, plan)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Annotated, Any

import anyio.to_thread
import msgspec
from litestar import Controller, Request, Response, delete, get, post, put
from litestar.datastructures import ResponseHeader
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, HeaderParameter, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from registry.access import Principal
from registry.api.access import authorization, authorize, registry
from registry.api.asked import KnownAt, Revision, asked_about, revision_of
from registry.api.openapi import DocumentsBody, problems
from registry.api.revisions import (
    MinRevision,
    answer_tag,
    if_none_match,
    matches,
    not_modified,
    reach,
    tagged,
)
from registry.errors import Forbidden, InvalidDocuments, InvalidRequest, NotFound
from registry.load import LoadResult, decode_text
from registry.service import MAX_REVISION, Outcome, Registry, alliance_etag
from registry.service import Request as WriteRequest
from registry.wire import AllianceSummary, DocumentList, Snapshot, SnapshotDocument, StoredView
from registry.yamlnodes import JSON_SYNTAX

YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml")
JSON_BODY = "request.json"  # the name a body read as JSON gets in errors

ForceParam = Annotated[
    bool,
    QueryParameter(
        description="write even though the change adds error findings (manager, logged)"
    ),
]
DryRunParam = Annotated[
    bool, QueryParameter(name="dryRun", description="check and plan only; write nothing")
]
AsOfParam = Annotated[
    dt.date | None,
    QueryParameter(
        name="asOf", description="the day the plan compares findings on (default: today)"
    ),
]
IfMatch = Annotated[
    str | None,
    HeaderParameter(
        name="If-Match", description="the ETag last read; required to change a document"
    ),
]

# Sent by the handlers themselves; declared here for the OpenAPI description only.
ETAG_HEADER = ResponseHeader(
    name="ETag",
    description="the document's version tag, for If-Match on the next write",
    documentation_only=True,
)
REVISION_HEADER = ResponseHeader(
    name="X-Revision",
    description="the alliance revision it was written at",
    documentation_only=True,
)


ANSWER_TAG_HEADER = ResponseHeader(
    name="ETag",
    description="the answer's tag (weak: the alliance, its revision and the question); "
    "send it back in If-None-Match for 304 while nothing changed",
    documentation_only=True,
)


def _snapshot(state: Registry, alliance: str, revision: int | None) -> tuple[int, bytes]:
    """The revision and the encoded snapshot (the current one read with its revision
    in one transaction, so a write landing meanwhile is in neither or both)."""
    at, found = state.snapshot(alliance, revision)
    documents = [
        SnapshotDocument(d.kind, d.name, d.revision, d.etag, msgspec.Raw(d.body.encode()))
        for d in found
    ]
    return at, msgspec.json.encode(Snapshot(alliance, at, documents))


class DocumentController(Controller):
    path = "/v1/alliances"
    tags = ["documents"]

    @get("/", summary="The alliances this token can see", responses=problems())
    async def list_alliances(self, request: Request[Any, Any, Any]) -> list[AllianceSummary]:
        state = registry(request)
        principal = state.principal(authorization(request))
        return [
            AllianceSummary(name, revision, alliance_etag(revision))
            for name, revision in state.visible(principal)
        ]

    @get(
        "/{alliance:str}/documents",
        summary="Every current document, optionally of one kind",
        responses=problems(400, 403, 404),
    )
    async def list_documents(
        self,
        *,
        request: Request[Any, Any, Any],
        alliance: FromPath[str],
        kind: Annotated[str | None, QueryParameter(name="kind")] = None,
        revision: Revision = None,
        as_known_at: KnownAt = None,
        min_revision: MinRevision = None,
    ) -> Response[DocumentList]:
        authorize(request, "read", alliance)
        await reach(request, alliance, min_revision)
        state = registry(request)
        asked = revision_of(state, alliance, asked_about(revision, as_known_at))
        at = asked or state.revision(alliance)
        tag = answer_tag("documents", alliance, at, kind)
        if matches(if_none_match(request), tag):
            return not_modified(tag)  # type: ignore[return-value]
        found = state.documents(alliance, asked)
        listed = DocumentList(
            alliance,
            at,
            [
                StoredView(d.kind, d.name, d.revision, d.etag, msgspec.json.decode(d.body))
                for d in found
                if kind is None or d.kind == kind
            ],
        )
        return tagged(Response(listed), tag)

    @get(
        "/{alliance:str}/snapshot",
        summary="Every document of the alliance at one revision (the current one by "
        "default), for a client that resolves owners itself (registry.client's Resolver)",
        description="Poll it with If-None-Match: 304 until the alliance changes. Any "
        "token that may ask owner queries may read it: the answers are made of it.",
        responses=problems(400, 403, 404),
        response_headers=[ANSWER_TAG_HEADER],
    )
    async def snapshot(
        self,
        *,
        request: Request[Any, Any, Any],
        alliance: FromPath[str],
        revision: Annotated[
            int | None, QueryParameter(name="revision", ge=1, le=MAX_REVISION)
        ] = None,
        min_revision: MinRevision = None,
    ) -> Response[Snapshot]:
        authorize(request, "resolve", alliance)
        await reach(request, alliance, min_revision)
        state = registry(request)
        current = state.revision(alliance)
        if revision is not None and revision > current:
            raise NotFound(
                f"alliance '{alliance}' has no revision {revision}: it is at revision {current}"
            )
        tag = answer_tag("snapshot", alliance, revision or current)
        if matches(if_none_match(request), tag):
            return not_modified(tag)  # type: ignore[return-value]
        at, body = await anyio.to_thread.run_sync(_snapshot, state, alliance, revision)
        answer = Response(body, media_type="application/json")
        return tagged(answer, answer_tag("snapshot", alliance, at))

    @get(
        "/{alliance:str}/documents/{kind:str}/{name:str}",
        summary="One document, as it is now or as it was at an earlier revision",
        responses=problems(400, 403, 404),
        response_headers=[ETAG_HEADER, REVISION_HEADER],
    )
    async def get_document(
        self,
        *,
        request: Request[Any, Any, Any],
        alliance: FromPath[str],
        kind: FromPath[str],
        name: FromPath[str],
        revision: Revision = None,
        as_known_at: KnownAt = None,
        min_revision: MinRevision = None,
    ) -> Response[bytes]:
        authorize(request, "read", alliance)
        await reach(request, alliance, min_revision)
        state = registry(request)
        asked = revision_of(state, alliance, asked_about(revision, as_known_at))
        found = state.document(alliance, kind, name, asked)
        headers = {"ETag": found.etag, "X-Revision": str(found.revision)}
        if matches(if_none_match(request), found.etag):  # the document's own tag
            return Response(b"", status_code=304, headers=headers)
        return Response(found.body.encode(), media_type="application/json", headers=headers)

    @put(
        "/{alliance:str}/documents/{kind:str}/{name:str}",
        summary="Create or replace one document (JSON or YAML body)",
        status_code=HTTP_200_OK,
        responses={
            201: ResponseSpec(Outcome, description="created (200: replaced, or a dry run)"),
            **problems(400, 403, 404, 409, 412, 413, 422, 428, 503),
        },
        response_headers=[ETAG_HEADER],
        operation_class=DocumentsBody,
    )
    async def put_document(
        self,
        *,
        request: Request[Any, Any, Any],
        alliance: FromPath[str],
        kind: FromPath[str],
        name: FromPath[str],
        if_match: IfMatch = None,
        if_none_match: Annotated[
            str | None,
            HeaderParameter(name="If-None-Match", description="'*' to create only"),
        ] = None,
        force: ForceParam = False,
        dry_run: DryRunParam = False,
        as_of: AsOfParam = None,
    ) -> Response[Outcome]:
        principal = _writer(request, alliance, kind)
        ref = f"{kind}/{name}"
        preconditions: dict[str, str | None] = {}
        if if_match is not None:
            preconditions[ref] = if_match
        elif if_none_match == "*":
            preconditions[ref] = None
        outcome = await _write(
            request,
            principal,
            WriteRequest(
                alliance,
                [await _text(request)],
                preconditions=preconditions,
                guarded={ref},
                only=(kind, name),
                force=force,
                dry_run=dry_run,
                as_of=as_of,
            ),
            "put",
        )
        created = outcome.applied and outcome.documents[0].action == "created"
        etag = outcome.documents[0].etag
        return Response(
            outcome,
            status_code=HTTP_201_CREATED if created else HTTP_200_OK,
            headers={"ETag": etag} if etag else {},
        )

    @delete(
        "/{alliance:str}/documents/{kind:str}/{name:str}",
        summary="Delete one document (If-Match required)",
        status_code=HTTP_200_OK,
        responses=problems(400, 403, 404, 409, 412, 422, 428, 503),
    )
    async def delete_document(
        self,
        *,
        request: Request[Any, Any, Any],
        alliance: FromPath[str],
        kind: FromPath[str],
        name: FromPath[str],
        if_match: IfMatch = None,
        force: ForceParam = False,
        dry_run: DryRunParam = False,
        as_of: AsOfParam = None,
    ) -> Outcome:
        principal = _writer(request, alliance, kind)
        ref = f"{kind}/{name}"
        return await _write(
            request,
            principal,
            WriteRequest(
                alliance,
                deletes=[ref],
                preconditions={ref: if_match} if if_match is not None else {},
                guarded={ref},
                force=force,
                dry_run=dry_run,
                as_of=as_of,
            ),
            "delete",
        )

    @post(
        "/{alliance:str}/apply",
        summary="Write a bundle of documents atomically (a JSON array or a YAML stream)",
        status_code=HTTP_200_OK,
        responses=problems(400, 403, 404, 409, 412, 413, 422, 503),
        operation_class=DocumentsBody,
    )
    async def apply(
        self,
        *,
        request: Request[Any, Any, Any],
        alliance: FromPath[str],
        delete_refs: Annotated[
            list[str] | None,
            QueryParameter(name="delete", description="Kind/name of a document to delete too"),
        ] = None,
        if_match: Annotated[
            str | None,
            HeaderParameter(name="If-Match", description='the alliance ETag ("r<revision>")'),
        ] = None,
        force: ForceParam = False,
        dry_run: DryRunParam = False,
        as_of: AsOfParam = None,
    ) -> Outcome:
        asked = WriteRequest(
            alliance, deletes=list(delete_refs or []), alliance_etag=if_match, force=force,
            dry_run=dry_run, as_of=as_of,
        )  # fmt: skip
        return await _write_bundle(request, asked, "apply")

    @post(
        "/{alliance:str}/plan",
        summary="What applying a bundle would do: findings added and removed, owners moved",
        status_code=HTTP_200_OK,
        responses=problems(400, 403, 404, 413, 422),
        operation_class=DocumentsBody,
    )
    async def plan(
        self,
        *,
        request: Request[Any, Any, Any],
        alliance: FromPath[str],
        delete_refs: Annotated[list[str] | None, QueryParameter(name="delete")] = None,
        as_of: AsOfParam = None,
    ) -> Outcome:
        asked = WriteRequest(
            alliance, deletes=list(delete_refs or []), force=True, dry_run=True, as_of=as_of
        )
        return await _write_bundle(request, asked, "plan")


async def _write_bundle(
    request: Request[Any, Any, Any], asked: WriteRequest, action: str
) -> Outcome:
    """apply and plan: the body is a bundle of documents for the alliance; it may be
    empty when `delete` names what to delete."""
    principal = _writer(request, asked.alliance, None)
    if asked.deletes and not (await request.body()).strip():
        asked.texts = []
    else:
        asked.texts = [await _text(request)]
    return await _write(request, principal, asked, action)


def _writer(request: Request[Any, Any, Any], alliance: str, kind: str | None) -> Principal:
    return registry(request).writer(authorization(request), alliance, kind)


async def _write(
    request: Request[Any, Any, Any], principal: Principal, asked: WriteRequest, action: str
) -> Outcome:
    if asked.force and not asked.dry_run and not principal.may("force", asked.alliance):
        raise Forbidden(f"a {principal.role} token may not force a write")
    # The write is checked and planned (seconds, for a large alliance), then may wait
    # for the write lock: off the event loop.
    try:
        return await anyio.to_thread.run_sync(registry(request).write, principal, asked, action)
    except InvalidDocuments as error:
        _hint_yaml(request, await request.body(), error)
        raise


def _hint_yaml(request: Request[Any, Any, Any], body: bytes, error: InvalidDocuments) -> None:
    """A body read as JSON only because its content type did not say YAML, and that
    is no JSON (which starts with '{' or '['): its JSON syntax error says how to
    send YAML."""
    sent = _content_type(request)
    if sent in YAML_TYPES or sent == "application/json" or sent.endswith("+json"):
        return
    if body.lstrip().removeprefix(b"\xef\xbb\xbf").lstrip()[:1] in (b"{", b"["):
        return
    why = (
        f"the Content-Type {sent} is neither JSON nor YAML" if sent else "no Content-Type was sent"
    )
    hint = (
        f" ({why}, so the body was read as JSON; send YAML with 'Content-Type: application/yaml')"
    )
    error.errors = [
        dataclasses.replace(e, message=e.message + hint)
        if e.file == JSON_BODY and e.message.startswith(JSON_SYNTAX)
        else e
        for e in error.errors
    ]


def _content_type(request: Request[Any, Any, Any]) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def _text(request: Request[Any, Any, Any]) -> tuple[str, str]:
    """The body as a named text for the loader: YAML or JSON by its content type."""
    data = await request.body()
    name = "request.yaml" if _content_type(request) in YAML_TYPES else JSON_BODY
    result = LoadResult()
    text = decode_text(name, data, result)
    if text is None:
        raise InvalidRequest("the request body is not UTF-8", result.errors)
    return name, text
