"""The HTTP API's bodies that the server sends and the client decodes: one Struct each,
so the two sides cannot drift apart (the API's OpenAPI document is generated from
these too). The answers of the core's own types (Answer, Report, Plan) live with them.
"""

from __future__ import annotations

from typing import Any

import msgspec

from registry.plan import Plan


class AllianceSummary(msgspec.Struct):
    name: str
    revision: int
    etag: str


class StoredView(msgspec.Struct):
    kind: str
    name: str
    revision: int
    etag: str
    document: dict[str, Any]


class DocumentList(msgspec.Struct):
    alliance: str
    revision: int
    documents: list[StoredView]


class SnapshotDocument(msgspec.Struct):
    kind: str
    name: str
    revision: int
    etag: str
    document: msgspec.Raw  # the stored JSON as it is: not decoded to be encoded again


class Snapshot(msgspec.Struct):
    alliance: str
    revision: int
    documents: list[SnapshotDocument]


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
