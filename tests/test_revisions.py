"""Cacheable answers and read-your-writes, in process on both databases: the weak
ETag of owner, audit, documents, history and snapshot answers, If-None-Match -> 304
with no body, minRevision waiting for a write and 503 when it does not come, and the
two health checks."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from registry.server import create_app
from registry.settings import Settings
from registry.store import Store, Write
from tests.conftest import bearer

OWNER = "/v1/alliances/metro-home/owner?category=outage&region=north&at=2026-11-22"
TAGGED = [
    OWNER,
    "/v1/alliances/metro-home/audit?asOf=2026-11-22",
    "/v1/alliances/metro-home/audit?asOf=2026-11-22&format=csv",
    "/v1/alliances/metro-home/documents",
    "/v1/alliances/metro-home/documents?kind=Partner",
    "/v1/alliances/metro-home/history",
    "/v1/alliances/metro-home/snapshot",
]
WEAK_TAG = re.compile(r'^W/"r(\d+)-[0-9a-f]{18}"$')


@pytest.fixture
def waiting(seeded: Store, database_url: str) -> Iterator[TestClient[Litestar]]:
    """The API over the seeded store, waiting at most 0.3 s for a minRevision."""
    settings = Settings(database_url=database_url, min_revision_wait=0.3)
    with TestClient(create_app(settings, seeded)) as test_client:
        yield test_client


def _touch(store: Store, legal_name: str) -> int:
    """A write beside the server (another process's, as far as it knows)."""
    body = (
        '{"apiVersion": "alliance-registry/v1", "kind": "Partner", "metadata": {"name": '
        '"metro", "alliance": "metro-home"}, "spec": {"legalName": "' + legal_name + '", '
        '"contacts": [{"name": "duty-manager", "email": "duty@metro.example"}]}}'
    )
    with store.writing("metro-home") as draft:
        revision, _ = draft.commit([Write("Partner", "metro", body)], "test", "put")
    return revision


@pytest.mark.parametrize("path", TAGGED)
def test_answers_are_tagged_and_304_while_nothing_changed(
    client: TestClient[Litestar], tokens: dict[str, str], path: str
) -> None:
    admin = bearer(tokens["admin"])
    first = client.get(path, headers=admin)
    assert first.status_code == 200, first.text
    tag = first.headers["etag"]
    assert WEAK_TAG.match(tag) and WEAK_TAG.match(tag).group(1) == "1"  # type: ignore[union-attr]
    assert first.headers["cache-control"] == "no-cache"
    again = client.get(path, headers={**admin, "If-None-Match": tag})
    assert (again.status_code, again.content, again.headers["etag"]) == (304, b"", tag)
    # Compared weakly, and any tag of a list.
    listed = client.get(path, headers={**admin, "If-None-Match": f'"other", {tag[2:]}'})
    assert listed.status_code == 304
    assert client.get(path, headers={**admin, "If-None-Match": '"r1"'}).status_code == 200


def test_tags_differ_by_question_and_day(
    client: TestClient[Litestar], tokens: dict[str, str]
) -> None:
    admin = bearer(tokens["admin"])
    tags = {
        client.get(path, headers=admin).headers["etag"]
        for path in [
            OWNER,
            OWNER.replace("north", "south"),
            OWNER.replace("2026-11-22", "2026-11-23"),
            "/v1/alliances/metro-home/history?limit=5",
            "/v1/alliances/metro-home/history?after=1",
        ]
    }
    assert len(tags) == 5


def test_a_write_changes_every_tag(
    client: TestClient[Litestar], tokens: dict[str, str], seeded: Store
) -> None:
    admin = bearer(tokens["admin"])
    before = {path: client.get(path, headers=admin).headers["etag"] for path in TAGGED}
    assert _touch(seeded, "Metro Home Group plc") == 2
    client.get("/health", headers=admin)  # caught up, whichever way this process learns
    for path, tag in before.items():
        answer = client.get(path, headers={**admin, "If-None-Match": tag})
        assert answer.status_code == 200, path
        assert WEAK_TAG.match(answer.headers["etag"]).group(1) == "2"  # type: ignore[union-attr]


def test_a_document_is_304_on_its_own_tag(
    client: TestClient[Litestar], tokens: dict[str, str]
) -> None:
    admin = bearer(tokens["admin"])
    path = "/v1/alliances/metro-home/documents/Partner/metro"
    tag = client.get(path, headers=admin).headers["etag"]
    again = client.get(path, headers={**admin, "If-None-Match": tag})
    assert (again.status_code, again.content, again.headers["etag"]) == (304, b"", tag)


def test_the_snapshot_holds_every_document_at_a_revision(
    client: TestClient[Litestar], tokens: dict[str, str], seeded: Store
) -> None:
    resolver = bearer(tokens["resolver"])  # a resolver token may: answers are made of it
    _touch(seeded, "Metro Home Group plc")
    client.get("/health", headers=resolver)
    now = client.get("/v1/alliances/metro-home/snapshot", headers=resolver).json()
    then = client.get("/v1/alliances/metro-home/snapshot?revision=1", headers=resolver).json()
    assert (now["alliance"], now["revision"], then["revision"]) == ("metro-home", 2, 1)
    refs = [f"{d['kind']}/{d['name']}" for d in now["documents"]]
    assert refs == [
        "Alliance/metro-home",
        "Contract/fastnet-internet",
        "Contract/metro-rest",
        "Partner/fastnet",
        "Partner/metro",
    ]
    names = {d["name"]: d["document"]["spec"].get("legalName") for d in now["documents"]}
    old = {d["name"]: d["document"]["spec"].get("legalName") for d in then["documents"]}
    assert (names["metro"], old["metro"]) == ("Metro Home Group plc", "Metro Home plc")
    ahead = client.get("/v1/alliances/metro-home/snapshot?revision=3", headers=resolver)
    assert ahead.status_code == 404
    assert ahead.json()["detail"] == "alliance 'metro-home' has no revision 3: it is at revision 2"


def test_min_revision_reached_answers_at_once(
    waiting: TestClient[Litestar], tokens: dict[str, str]
) -> None:
    admin = bearer(tokens["admin"])
    for path in [*TAGGED, "/v1/alliances/metro-home/documents/Partner/metro"]:
        joined = "&" if "?" in path else "?"
        answer = waiting.get(f"{path}{joined}minRevision=1", headers=admin)
        assert answer.status_code == 200, (path, answer.text)
    assert waiting.get(OWNER + "&minRevision=1", headers=admin).json()["revision"] == 1


def test_min_revision_not_reached_is_503_with_retry_after(
    waiting: TestClient[Litestar], tokens: dict[str, str]
) -> None:
    admin = bearer(tokens["admin"])
    for path in [OWNER, "/v1/alliances/metro-home/history", "/v1/alliances/metro-home/snapshot"]:
        joined = "&" if "?" in path else "?"
        began = time.monotonic()
        answer = waiting.get(f"{path}{joined}minRevision=2", headers=admin)
        waited = time.monotonic() - began
        assert answer.status_code == 503, path
        assert answer.headers["retry-after"] == "1"
        assert answer.json()["detail"] == (
            "alliance 'metro-home' is at revision 1 on this server, not yet at minRevision 2 "
            "(waited 0.3 s): a write is still on its way here, or that revision was never "
            "written; try again shortly"
        )
        assert 0.3 <= waited < 3


def test_min_revision_waits_for_a_write_landing_meanwhile(
    waiting: TestClient[Litestar], tokens: dict[str, str], seeded: Store
) -> None:
    writer = threading.Timer(0.1, _touch, (seeded, "Metro Home Group plc"))
    writer.start()
    answer = waiting.get(OWNER + "&minRevision=2", headers=bearer(tokens["resolver"]))
    writer.join()
    assert (answer.status_code, answer.json()["revision"]) == (200, 2)


@pytest.mark.parametrize("value", ["two", "-1", "1.5", "99999999999999"])
def test_a_min_revision_that_is_none_is_refused(
    client: TestClient[Litestar], tokens: dict[str, str], value: str
) -> None:
    admin = bearer(tokens["admin"])
    owner = client.get(f"{OWNER}&minRevision={value}", headers=admin)
    assert owner.status_code == 400
    assert owner.json()["errors"][0]["path"] == "$.query.minRevision"
    history = client.get(f"/v1/alliances/metro-home/history?minRevision={value}", headers=admin)
    assert history.status_code == 400
    assert history.json()["errors"][0]["path"] == "$.query.minRevision"


def test_owner_min_revision_error_text(
    client: TestClient[Litestar], tokens: dict[str, str]
) -> None:
    answer = client.get(f"{OWNER}&minRevision=two", headers=bearer(tokens["resolver"]))
    assert answer.json()["errors"][0]["message"] == (
        "'two' is not a revision: a whole number from 0 to 2147483647"
    )


def test_health_live_and_ready(client: TestClient[Litestar], database_url: str) -> None:
    live = client.get("/health/live")
    assert (live.status_code, live.json()) == (200, {"status": "ok"})
    ready = client.get("/health/ready")
    listener = "not used" if database_url.startswith("sqlite") else "connected"
    assert ready.status_code == 200, ready.text
    assert ready.json() == {
        "status": "ready",
        "database": "ok",
        "migrations": "current",
        "listener": listener,
        "outbox": "ok",
        "outboxLag": None,
    }
    assert client.get("/health").json() == {"status": "ok", "database": "ok"}
