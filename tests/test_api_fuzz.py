"""Property-based tests of the whole API against its own OpenAPI description.

schemathesis generates requests for every route in `/schema/openapi.json`, valid
and invalid ones (wrong types, missing and extra parameters, odd headers, random
bodies), and sends them in process through the ASGI app over a seeded registry.
Whatever comes in, the answer is never a server error: a 5xx is a bug.

The owner query's dimensions are free query parameters, so the copy of the schema
fuzzed here adds them, offers the seeded alliance's real names beside random ones
so requests reach past the 404s, and gives the write routes the seeded documents
as body examples. Requests that once answered 5xx are pinned below, one by one.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import msgspec
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from litestar import Litestar
from litestar.testing import TestClient
from schemathesis.specs.openapi.schemas import OpenApiSchema

from registry.load import load_texts
from registry.model import KINDS, to_builtins
from registry.server import create_app
from registry.settings import Settings
from registry.store import Store
from tests.conftest import MINIMAL, bearer

# Per route and token: enough to try every parameter both ways, small enough that
# the file runs in well under a minute on both databases.
EXAMPLES = 25
ANONYMOUS_EXAMPLES = 5

REAL = {
    "alliance": ["metro-home", "nowhere"],
    "kind": [*KINDS, "Nothing"],
    "name": ["metro", "fastnet", "fastnet-internet", "metro-rest", "metro-home"],
}
# The seeded alliance's dimensions, as the owner query takes them.
DIMENSIONS = {
    "category": ["billing", "refund", "internet", "outage", "installation", "nothing"],
    "region": ["north", "south", "east"],
}
SEEDED = [
    to_builtins(document)
    for bundle in load_texts(MINIMAL.items()).bundles.values()
    for document in bundle.documents()
]


def _fuzzable(raw: dict[str, Any]) -> dict[str, Any]:
    """The app's OpenAPI document with dimensions, real names and bodies added."""
    raw = copy.deepcopy(raw)
    for path, operations in raw["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path" and parameter["name"] in REAL:
                    names = REAL[parameter["name"]]
                    parameter["schema"] = {"anyOf": [{"enum": names}, parameter["schema"]]}
            if path.endswith("/owner") and method == "get":
                operation["parameters"] += [
                    {
                        "name": dim,
                        "in": "query",
                        "required": False,
                        "schema": {"anyOf": [{"enum": nodes}, {"type": "string"}]},
                    }
                    for dim, nodes in DIMENSIONS.items()
                ]
            media = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if media is not None and "documents" not in path:
                media["examples"] = {"seeded": {"value": SEEDED}}
            elif media is not None:
                media["examples"] = {
                    d["kind"] + d["metadata"]["name"]: {"value": d} for d in SEEDED
                }
    return raw


def _schema() -> OpenApiSchema:
    """The fuzzed schema, read once at collection from an app over an empty,
    in-memory registry. Each test sends its requests to its own seeded app."""
    store = Store("sqlite://")
    try:
        app = create_app(Settings(database_url="sqlite://", decisions="off"), store)
        raw = app.openapi_schema.to_schema()
    finally:
        store.close()
    schema = schemathesis.openapi.from_dict(_fuzzable(raw))
    schema.app = app  # selects the in-process transport; `call(app=...)` picks the app
    return schema


schema = _schema()


@pytest.fixture
def app(seeded: Store, database_url: str) -> Iterator[Litestar]:
    # A generated minRevision past the seeded revision is refused at once, not in 5 s.
    fuzzed = create_app(Settings(database_url=database_url, min_revision_wait=0), seeded)
    yield fuzzed
    # Called without its lifespan, the app never shuts down: stop its decision log's
    # thread (started by the first answer) before the test's database goes.
    recorder = fuzzed.state["registry"].recorder
    if recorder is not None:
        recorder.close()


def no_server_error(response: Any) -> bool:
    """Below 500, or the 503 of a minRevision this registry has not reached (the
    refusal by design that read-your-writes gives a client to retry)."""
    return response.status_code < 500 or (
        response.status_code == 503 and "not yet at minRevision" in response.text
    )


def fuzz(examples: int) -> settings:
    """Bounded, repeatable runs: the same requests on every run, nothing stored."""
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )


# Hundreds of generated requests per database: out of the quick loop (-m "not slow"),
# which keeps the pinned requests below.
@pytest.mark.slow
@schema.parametrize()
@fuzz(EXAMPLES)
def test_no_server_error_with_an_admin_token(
    case: Any, app: Litestar, tokens: dict[str, str]
) -> None:
    response = case.call(app=app, headers=bearer(tokens["admin"]))
    assert no_server_error(response), (case.as_curl_command(), response.text)


@pytest.mark.slow
@schema.parametrize()
@fuzz(ANONYMOUS_EXAMPLES)
def test_no_server_error_without_a_valid_token(
    case: Any, app: Litestar, tokens: dict[str, str]
) -> None:
    del tokens  # the seeded registry has tokens; this request carries none of them
    response = case.call(app=app)
    assert no_server_error(response), (case.as_curl_command(), response.text)


# Requests that answered 5xx once, each with the status it must get now.
FOUND = [
    # Revisions are 32-bit columns: a larger one overflowed the database driver.
    ("GET", "/documents?revision=99999999999999999999999", 400),
    ("GET", "/documents/Partner/metro?revision=2147483648", 400),
    # The largest that fits: a revision not reached, named (time travel, issue 13).
    ("GET", "/documents/Partner/metro?revision=2147483647", 404),
    ("GET", "/history?after=99999999999999999999999", 400),
    ("GET", "/history?after=2147483647", 200),
    # The audit window is asOf plus the policy horizon: past 9999-12-31 it overflowed.
    ("GET", "/audit?asOf=9999-12-31", 200),
    ("POST", "/plan?asOf=9999-12-31", 200),
    ("POST", "/apply?asOf=9999-12-31&dryRun=true", 200),
]


@pytest.mark.parametrize(("method", "path", "status"), FOUND)
def test_requests_that_once_failed(
    client: TestClient[Litestar], tokens: dict[str, str], method: str, path: str, status: int
) -> None:
    body = msgspec.json.encode(SEEDED) if method == "POST" else None
    response = client.request(
        method, f"/v1/alliances/metro-home{path}", headers=bearer(tokens["admin"]), content=body
    )
    assert response.status_code == status, response.text
