"""JSON request bodies the handlers read themselves, once the token may ask.

Litestar decodes a declared body before the handler runs, so before it knows who
is asking: a body that cannot be decoded would cost (or crash) on anyone's behalf.
The owner batch and the ticket route read theirs here instead, after authorizing:
UTF-8 JSON decoded by msgspec into the handler's type, its errors said as litestar
says a body's (a 400 with each error at `$.body...`), nesting bounded as the
documents' is, and half a surrogate pair refused by the decoder.
"""

from __future__ import annotations

import re
from typing import Any, TypeVar

import msgspec
from litestar import Request

from registry.errors import InvalidRequest, LocatedError
from registry.load import LoadResult, decode_text
from registry.yamlnodes import MAX_DEPTH, deeper_than

T = TypeVar("T")
TOO_DEEP = f"the body nests deeper than {MAX_DEPTH} levels; no request needs that: flatten it"
HALF_PAIR = (
    "the body holds half of a UTF-16 surrogate pair (a \\ud800 to \\udfff escape without "
    "its other half), which is no character; remove it, or write the whole character"
)
# A high surrogate escape not followed by a low one, or a low one not after a high one.
_HALF_PAIR = re.compile(
    r"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F])"
    r"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}"
)


def where(request: Request[Any, Any, Any]) -> str:
    """The request as a refusal names it: `POST /v1/...?query`."""
    query = request.url.query
    return f"{request.method} {request.url.path}" + (f"?{query}" if query else "")


def decoded(body: bytes, kind: type[T], asked: str) -> T:
    """`body` as a `kind`; InvalidRequest (400) for one that is not UTF-8, not JSON,
    not of that shape or nested deeper than MAX_DEPTH. `asked` is `where(request)`."""
    result = LoadResult()
    text = decode_text("request.json", body, result)
    if text is None:
        raise InvalidRequest("the request body is not UTF-8", result.errors)
    try:
        data = msgspec.json.decode(text, type=kind)
    except msgspec.ValidationError as error:
        message, _, at = str(error).rpartition(" - at `")
        path = "$.body" + at.rstrip("`").removeprefix("$") if message else "$.body"
        raise InvalidRequest(
            f"Validation failed for {asked}", [LocatedError(path, message or str(error))]
        ) from None
    except msgspec.DecodeError as error:
        if _HALF_PAIR.search(text):  # msgspec says "truncated" or "invalid surrogate pair"
            raise InvalidRequest(HALF_PAIR) from None
        raise InvalidRequest(str(error)) from None
    except RecursionError:  # deeper than the decoder goes: far past MAX_DEPTH
        raise InvalidRequest(TOO_DEEP) from None
    if deeper_than(data, MAX_DEPTH):
        raise InvalidRequest(TOO_DEEP)
    return data
