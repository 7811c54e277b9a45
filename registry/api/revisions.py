"""What a read says about revisions: the ETag of an answer, `If-None-Match` -> 304,
and `minRevision`, which holds a read until this process has the revision a client
wrote (read-your-writes across processes behind a load balancer).

An answer's ETag is derived from what decides it, not from its bytes: the alliance,
its revision, the question (every parameter, the day included once defaulted to
today) and the registry's version. It is weak (`W/"..."`): two answers with one tag
mean the same, and are byte for byte the same from servers of one version, but a
tag is not a digest of the bytes. So a 304 costs no compile, no audit and no read
of the database, and every replica of one version gives the same tag.
"""

from __future__ import annotations

import hashlib
import time
from typing import Annotated, Any

import anyio
from litestar import Request, Response
from litestar.params import QueryParameter

from registry import __version__
from registry.api.access import registry
from registry.errors import InvalidRequest, LocatedError, Unavailable
from registry.service import MAX_REVISION

# How often a read waiting for its minRevision looks again: free while the process
# listens for writes (it looks at memory), one tiny read of the database otherwise.
WAIT_STEP_SECONDS = 0.01
RETRY_AFTER_SECONDS = 1
CACHE_CONTROL = "no-cache"  # kept by a client, asked again with If-None-Match each time

MinRevision = Annotated[
    int | None,
    QueryParameter(
        name="minRevision",
        ge=0,
        le=MAX_REVISION,
        description="a revision this read must see (what a write answered): the server "
        "waits up to REGISTRY_MIN_REVISION_WAIT for it, then answers 503 with Retry-After",
    ),
]


def answer_tag(what: str, alliance: str, revision: int, *question: object) -> str:
    """The weak ETag of one answer (see the module's docstring)."""
    said = "\x1f".join([__version__, what, alliance, str(revision), *map(str, question)])
    return f'W/"r{revision}-{hashlib.blake2b(said.encode(), digest_size=9).hexdigest()}"'


def if_none_match(request: Request[Any, Any, Any]) -> str | None:
    """The If-None-Match header, read off the ASGI scope (the owner query's hot path)."""
    for name, value in request.scope["headers"]:
        if name == b"if-none-match":
            text: str = value.decode("latin-1")
            return text
    return None


def matches(sent: str | None, tag: str) -> bool:
    """Whether If-None-Match names the tag, compared weakly as RFC 9110 says."""
    if sent is None:
        return False
    if sent.strip() == "*":
        return True
    ours = tag.removeprefix("W/")
    return any(part.strip().removeprefix("W/") == ours for part in sent.split(","))


def not_modified(tag: str) -> Response[bytes]:
    return Response(b"", status_code=304, headers={"ETag": tag, "Cache-Control": CACHE_CONTROL})


def tagged(response: Response[Any], tag: str) -> Response[Any]:
    response.headers["ETag"] = tag
    response.headers["Cache-Control"] = CACHE_CONTROL
    return response


def parse_min_revision(text: str | None) -> int | None:
    """minRevision as the owner query sends it among the dimensions."""
    if text is None:
        return None
    if not text.isascii() or not text.isdigit() or int(text) > MAX_REVISION:
        raise InvalidRequest(
            "minRevision is not a revision",
            [
                LocatedError(
                    "$.query.minRevision",
                    f"'{text}' is not a revision: a whole number from 0 to {MAX_REVISION}",
                )
            ],
        )
    return int(text)


async def reach(request: Request[Any, Any, Any], alliance: str, wanted: int | None) -> None:
    """Return once this process has the alliance at revision `wanted` or later; wait
    up to REGISTRY_MIN_REVISION_WAIT for it (on the event loop, asleep between looks),
    then refuse with 503 and Retry-After."""
    state = registry(request)
    if wanted is None or state.revision(alliance) >= wanted:
        return
    bound: float = request.app.state["settings"].min_revision_wait
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        await anyio.sleep(WAIT_STEP_SECONDS)
        state.refresh()
        if state.revision(alliance) >= wanted:
            return
    have = state.revision(alliance)
    raise Unavailable(
        f"alliance '{alliance}' is at revision {have} on this server, not yet at "
        f"minRevision {wanted} (waited {bound:g} s): a write is still on its way here, "
        "or that revision was never written; try again shortly",
        retry_after=RETRY_AFTER_SECONDS,
    )
