"""registry.client: its answer types are the server's (one type in registry.wire, or
the same JSON Schema where the client keeps a copy of the service's), it
reads and writes through the API (in process here; tests/test_repository_loop.py
runs it against a live server), tries again on connection errors and 503 with
Retry-After, and refuses with the problem the server sent."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import msgspec
import pytest
from litestar import Litestar
from litestar.testing import TestClient

from registry import wire
from registry.api import documents as api_documents
from registry.api import problems as api_problems
from registry.client import AllianceSummary, Client, ClientError, DocumentList, Problem, http
from registry.errors import InvalidRequest
from registry.service import writes
from registry.settings import ClientSettings


@pytest.mark.parametrize(
    ("mine", "theirs"),
    [
        (http.Outcome, writes.Outcome),
        (http.DocumentResult, writes.DocumentResult),
    ],
)
def test_the_answer_types_are_the_servers(mine: type, theirs: type) -> None:
    assert shape(msgspec.json.schema(mine)) == shape(msgspec.json.schema(theirs))


def test_the_api_bodies_are_one_type_on_both_sides() -> None:
    assert (DocumentList, AllianceSummary, Problem) == (
        wire.DocumentList,
        wire.AllianceSummary,
        wire.Problem,
    )
    assert api_documents.DocumentList is wire.DocumentList
    assert api_documents.AllianceSummary is wire.AllianceSummary
    assert api_problems.Problem is wire.Problem


def shape(schema: Any) -> Any:
    """A JSON Schema without its docstrings: what a JSON value must look like."""
    if isinstance(schema, dict):
        return {k: shape(v) for k, v in schema.items() if k != "description"}
    if isinstance(schema, list):
        return [shape(v) for v in schema]
    return schema


def test_reads_and_writes_through_the_api(
    client: TestClient[Litestar], tokens: dict[str, str]
) -> None:
    with Client("http://testserver.local", tokens["manager"], http=client) as registry:
        assert [(a.name, a.revision) for a in registry.alliances()] == [("metro-home", 1)]
        stored = registry.documents("metro-home")
        assert stored.revision == 1
        assert [(d.kind, d.name) for d in stored.documents][:2] == [
            ("Alliance", "metro-home"),
            ("Contract", "fastnet-internet"),
        ]
        answer = registry.owner("metro-home", {"category": "outage", "region": "north"},
                                at=dt.date(2026, 11, 22))  # fmt: skip
        assert answer.owner is not None and answer.owner.partner == "fastnet"
        report = registry.audit("metro-home", dt.date(2026, 11, 22))
        assert [f.rule for f in report.findings] == ["gray-zone"]
        sent = [d.document for d in stored.documents]
        outcome = registry.apply("metro-home", sent, dry_run=True)
        assert (outcome.applied, {r.action for r in outcome.documents}) == (False, {"unchanged"})
        with pytest.raises(ClientError) as refused:
            registry.apply("metro-home", sent, revision=5)
        assert refused.value.status == 412
        assert refused.value.message == (
            'the alliance is at revision 1, not "r5"; read it again and retry'
        )
        assert refused.value.problem is not None and refused.value.problem.etag == '"r1"'
        # Deleting the contract of internet leaves a gap: 409 with the plan.
        with pytest.raises(ClientError) as conflict:
            registry.apply("metro-home", [], deletes=["Contract/fastnet-internet"], revision=1)
        assert conflict.value.status == 409
        assert conflict.value.plan is not None
        assert [f.rule for f in conflict.value.plan.added] == ["coverage-gap"]
        with pytest.raises(ClientError) as missing:
            registry.documents("no-such")
        assert missing.value.status == 404


def test_a_located_error_of_the_server_is_kept(
    client: TestClient[Litestar], tokens: dict[str, str]
) -> None:
    with Client("http://testserver.local", tokens["manager"], http=client) as registry:
        wrong = {"apiVersion": "alliance-registry/v1", "kind": "Partner",
                 "metadata": {"name": "x", "alliance": "metro-home"}, "spec": {}}  # fmt: skip
        with pytest.raises(ClientError) as invalid:
            registry.apply("metro-home", [wrong], dry_run=True)
    assert invalid.value.status == 422
    assert [str(e) for e in invalid.value.errors] == [
        "request.json:1:104: $[0].spec: missing required field 'legalName'; add it"
    ]


def scripted(*answers: httpx.Response | Exception) -> tuple[Client, list[float]]:
    """A client whose server answers these, in order; and the waits it slept."""
    queue = list(answers)
    waits: list[float] = []

    def answer(request: httpx.Request) -> httpx.Response:
        found = queue.pop(0)
        if isinstance(found, Exception):
            raise found
        return found

    transport = httpx.Client(transport=httpx.MockTransport(answer))
    return Client("http://registry.test", "t", http=transport, sleep=waits.append), waits


BUSY = httpx.Response(503, headers={"Retry-After": "2"}, json={
    "type": "/problems/service-unavailable", "title": "Service Unavailable", "status": 503,
    "detail": "busy"})  # fmt: skip
LIST = httpx.Response(200, json=[{"name": "a", "revision": 3, "etag": '"r3"'}])


def test_connection_errors_and_503_are_tried_again_with_backoff() -> None:
    registry, waits = scripted(httpx.ConnectError("refused"), BUSY, LIST)
    assert [a.revision for a in registry.alliances()] == [3]
    assert waits == [0.25, 2.0]  # the backoff, then Retry-After (more than 0.5)
    registry, waits = scripted(*[BUSY] * 5)
    with pytest.raises(ClientError) as busy:
        registry.alliances()
    assert (busy.value.status, busy.value.message) == (503, "busy")
    assert waits == [2.0, 4.0, 8.0, 10.0]  # doubled, never above MAX_WAIT_SECONDS
    registry, _ = scripted(*[httpx.ConnectError("refused")] * 5)
    with pytest.raises(ClientError) as unreachable:
        registry.alliances()
    assert unreachable.value.message == "cannot reach http://registry.test: refused"
    assert unreachable.value.status is None


def test_a_write_that_may_have_landed_is_not_sent_twice() -> None:
    registry, waits = scripted(httpx.ReadError("reset"), LIST)
    with pytest.raises(ClientError) as lost:
        registry.apply("a", [{"kind": "Alliance"}])
    assert lost.value.message == (
        "POST http://registry.test/v1/alliances/a/apply: the connection failed (reset); "
        "the write may or may not have landed"
    )
    assert waits == []
    # Guarded by If-Match, sending it again is safe: the second one fails if the first landed.
    landed = {"alliance": "a", "revision": 4, "applied": True, "documents": [], "plan": None}
    registry, waits = scripted(httpx.ReadError("reset"), httpx.Response(200, json=landed))
    assert registry.apply("a", [{"kind": "Alliance"}], revision=3).revision == 4
    assert waits == [0.25]


def test_an_answer_that_is_no_problem_is_said_as_it_came() -> None:
    registry, _ = scripted(httpx.Response(502, text="Bad Gateway from the proxy"))
    with pytest.raises(ClientError) as proxy:
        registry.alliances()
    assert proxy.value.message == "the server answered 502: Bad Gateway from the proxy"


def test_server_and_token_from_the_environment() -> None:
    env = {"REGISTRY_SERVER": "http://a.example", "REGISTRY_TOKEN": "secret"}
    assert ClientSettings.from_env(env) == ClientSettings(server="http://a.example", token="secret")
    assert ClientSettings.from_env(env, server="https://b.example").server == "https://b.example"
    with pytest.raises(InvalidRequest) as none:
        ClientSettings.from_env({}).required_server()
    assert none.value.message == (
        "no server: set REGISTRY_SERVER or pass --server, e.g. --server http://127.0.0.1:8765"
    )
    with pytest.raises(InvalidRequest) as bare:
        ClientSettings.from_env({}, server="registry.example").required_server()
    assert bare.value.message == "--server registry.example: give an http:// or https:// URL"


def test_the_repository_commands_say_what_is_missing(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from registry.cli import main  # noqa: PLC0415

    monkeypatch.delenv("REGISTRY_SERVER", raising=False)
    cases = [
        (["pull", "--alliance", "a", "dir"],
         "registry: no server: set REGISTRY_SERVER or pass --server, e.g. --server "
         "http://127.0.0.1:8765"),
        (["plan", "only-one"], "registry: plan takes OLD and NEW (two paths), or DIR with "
         "--server; got 1 path"),
        (["plan", "a", "b", "--prune"], "registry: --prune plans against a server; add --server"),
        (["apply", "--server", "http://127.0.0.1:9"],
         "registry: apply takes one DIR (the alliance's folder); got 0 paths"),
    ]  # fmt: skip
    for argv, said in cases:
        assert main(argv) == 2, argv
        assert capsys.readouterr().err == said + "\n"
