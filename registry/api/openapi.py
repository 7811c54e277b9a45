"""What the OpenAPI description says beyond what litestar infers from signatures:
the problem-details responses of each route, and the document bodies that the write
routes read raw (to report errors by line and column)."""

from __future__ import annotations

from dataclasses import dataclass

from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIMediaType, Operation, Parameter, RequestBody, Schema
from litestar.openapi.spec.enums import OpenAPIFormat, OpenAPIType

from registry.api.problems import MEDIA_TYPE
from registry.wire import Problem

WHEN = {
    400: "a malformed parameter or body, or an unknown dimension or node (with the choices)",
    401: "no token, or an unknown or revoked one",
    403: "the token's role does not grant this",
    404: "no such alliance (or not the token's), document or kind",
    409: "the write adds error findings; the refused plan is in `plan`",
    412: "If-Match names an ETag that is no longer current; the current one is in `etag`",
    413: "the body is over the size limit",
    422: "invalid documents: every error with file, line, column and JSON path",
    428: "the document exists and If-Match is missing",
    503: "the database is unreachable or busy; `Retry-After` says when to try again",
}


def problems(*statuses: int) -> dict[int, ResponseSpec]:
    """Problem-details responses for these statuses, and 401 (every route needs a token)."""
    return {
        status: ResponseSpec(
            data_container=Problem,
            description=WHEN[status],
            media_type=MEDIA_TYPE,
            generate_examples=False,
        )
        for status in sorted({401, *statuses})
    }


_DOCUMENT = Schema(
    type=OpenAPIType.OBJECT,
    description="a document of the contract language: apiVersion, kind, metadata, spec "
    "(JSON Schemas of every kind: schemas/*.json)",
    required=["apiVersion", "kind", "metadata", "spec"],
)


@dataclass
class DocumentsBody(Operation):
    """An operation whose body is one document or several: JSON, or YAML text."""

    def __post_init__(self) -> None:
        self.request_body = RequestBody(
            required=True,
            description="one document, a JSON array of documents, or a YAML stream",
            content={
                "application/json": OpenAPIMediaType(
                    schema=Schema(
                        one_of=[_DOCUMENT, Schema(type=OpenAPIType.ARRAY, items=_DOCUMENT)]
                    )
                ),
                "application/yaml": OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING)),
            },
        )


def json_body(schema: Schema, description: str) -> type[Operation]:
    """An operation whose JSON body its handler reads itself, once it has authorized
    the request (registry.api.bodies): described here, since no parameter says it."""

    @dataclass
    class JsonBody(Operation):
        def __post_init__(self) -> None:
            self.request_body = RequestBody(
                required=True,
                description=description,
                content={"application/json": OpenAPIMediaType(schema=schema)},
            )

    return JsonBody


@dataclass
class OwnerParameters(Operation):
    """The owner query's parameters, which its handler reads itself for speed."""

    def __post_init__(self) -> None:
        self.parameters = [
            *(self.parameters or []),
            Parameter(
                name="at",
                param_in="query",
                required=False,
                description="the day the complaint is about (default: today, UTC)",
                schema=Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.DATE),
            ),
            Parameter(
                name="dimensions",
                param_in="query",
                required=False,
                description="a node per dimension: `category=refund&region=north`",
                schema=Schema(
                    type=OpenAPIType.OBJECT,
                    additional_properties=Schema(type=OpenAPIType.STRING),
                ),
                style="form",
                explode=True,
            ),
        ]
