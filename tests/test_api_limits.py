"""What one request may cost, and what once crashed, on SQLite and PostgreSQL: bodies
are read only once the token may send them; YAML aliases and documents per body are
bounded before anything costly runs, and refused at once naming the limit; error lists
are capped; a long integer, half a surrogate pair, a NUL in a name or in a file path
are 4xx problems, never 500s, and write nothing."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from registry import yamlnodes
from registry.store import Store
from tests.apitools import (
    CABLENET_PARTNER,
    UNAUTHORIZED,
    YAML,
    A,
    doc_error,
    problem,
    tables,
)
from tests.conftest import ALLIANCE, bearer

Client = TestClient[Litestar]
JSON = {"Content-Type": "application/json"}
ONE_ERROR = "1 error in the documents; nothing was written"
HALF_PAIR = (
    "the body holds half of a UTF-16 surrogate pair (a \\ud800 to \\udfff escape without its "
    "other half), which is no character; remove it, or write the whole character"
)


@pytest.fixture
def unchanged(seeded: Store, tokens: dict[str, str]) -> Iterator[None]:
    """The test refuses writes only: alliances, documents and log end as they began."""
    before = tables(seeded)
    yield
    after = tables(seeded)
    for table in ("alliances", "documents", "changes"):
        assert after[table] == before[table]


def timed(call: Any, *args: Any, **kwargs: Any) -> tuple[Any, float]:
    start = time.perf_counter()
    result = call(*args, **kwargs)
    return result, time.perf_counter() - start


# -- bodies are read after authorization --------------------------------------------------

HOSTILE = {
    "nested 5,000 deep": b"[" * 5000,
    "not UTF-8": b'{"a":"\xff"}',
    "a long integer": b'{"a": ' + b"1" * 5000 + b"}",
    "half a surrogate pair": b'{"queries": [{"where": {"category": "\\ud800"}}]}',
}
NOT_UTF8 = [
    {
        "path": "$",
        "message": "the file is not UTF-8 (byte 0xff at offset 6); save it as UTF-8",
        "file": "request.json",
        "line": 1,
        "column": 7,
    }
]


@pytest.mark.parametrize("route", ["owner:batch", "tickets:route"])
def test_a_body_is_read_only_once_the_token_may_send_it(
    client: Client, tokens: dict[str, str], route: str
) -> None:
    for body in HOSTILE.values():
        problem(client.post(f"{A}/{route}", headers=JSON, content=body), 401, UNAUTHORIZED)
        r = client.post(f"{A}/{route}", headers={**JSON, **bearer(tokens["auditor"])}, content=body)
        assert r.status_code == 400, r.text  # the auditor may resolve: its body is read
    other = bearer(tokens["manager"])
    r = client.post(
        f"/v1/alliances/nowhere/{route}", headers={**JSON, **other}, content=b"[" * 5000
    )
    problem(r, 404, "no alliance 'nowhere'")


def test_hostile_json_bodies_are_400_problems(client: Client, tokens: dict[str, str]) -> None:
    headers = {**JSON, **bearer(tokens["resolver"])}
    for route in ("owner:batch", "tickets:route"):
        url = f"{A}/{route}"
        problem(
            client.post(url, headers=headers, content=HOSTILE["nested 5,000 deep"]),
            400,
            f"Validation failed for POST {url}",
            [{"path": "$.body", "message": "Expected `object`, got `array`"}],
        )
        problem(
            client.post(url, headers=headers, content=HOSTILE["not UTF-8"]),
            400,
            "the request body is not UTF-8",
            NOT_UTF8,
        )
        for half in ("\\ud800", "\\udc00", "\\ud800\\ud800", "x\\udfffx"):
            body = HOSTILE["half a surrogate pair"].replace(b"\\ud800", half.encode())
            problem(client.post(url, headers=headers, content=body), 400, HALF_PAIR)
    # A ticket is any mapping: its nesting is bounded as a document's is.
    url = f"{A}/tickets:route"
    too_deep = "the body nests deeper than 64 levels; no request needs that: flatten it"
    for body in (b'{"a": ' + b"[" * 5000, b'{"a": ' + b"[" * 100 + b"]" * 100 + b"}"):
        problem(client.post(url, headers=headers, content=body), 400, too_deep)
    problem(
        client.post(url, headers=headers, content=HOSTILE["a long integer"]),
        400,
        f"Validation failed for POST {url}",
        [{"path": "$.body[...]", "message": "Integer value out of range"}],
    )


# -- what a YAML or JSON body may cost ----------------------------------------------------


def bomb_partner(i: int, levels: int = 5, width: int = 9) -> str:
    """A Partner document whose aliases expand to some 75,000 values (9**5 at the end)."""
    lines = [
        "apiVersion: alliance-registry/v1",
        "kind: Partner",
        f"metadata: {{name: bomb-{i}, alliance: metro-home}}",
        "spec:",
        "  legalName: Bomb Ltd",
        "  lol:",
        "    a0: &a0 [" + ", ".join(["lol"] * width) + "]",
    ]
    lines += [
        f"    a{k}: &a{k} [" + ", ".join([f"*a{k - 1}"] * width) + "]" for k in range(1, levels)
    ]
    return "\n".join(lines) + "\n"


def test_an_alias_bomb_body_is_refused_at_once_naming_the_limit(
    client: Client, tokens: dict[str, str], unchanged: None
) -> None:
    """Each document stays below the per-value bound; together they would construct
    three million values. The body's budget stops them at the second document."""
    body = "---\n".join(bomb_partner(i) for i in range(40))
    assert len(body) < 20_000
    headers = {**bearer(tokens["manager"]), **YAML}
    r, elapsed = timed(client.post, f"{A}/apply", headers=headers, content=body)
    problem(
        r,
        422,
        ONE_ERROR,
        [
            doc_error(
                "$",
                "with this document, aliases add 149,436 values to the text, over the limit "
                "of 100,000 for one file or request body; write the values out or use fewer "
                "aliases",
                13,
                1,
            )
        ],
    )
    assert elapsed < 1.0


def test_a_stream_of_10000_documents_is_refused_at_once_naming_the_limit(
    client: Client, tokens: dict[str, str], unchanged: None
) -> None:
    headers = {**bearer(tokens["manager"]), **YAML}
    body = "---\n".join([CABLENET_PARTNER] * 10_000)
    r, elapsed = timed(client.post, f"{A}/plan", headers=headers, content=body)
    problem(
        r,
        422,
        ONE_ERROR,
        [
            doc_error(
                "$",
                "over 5,000 documents in one file or request body ('---' number 5,001 is "
                "here); split them into parts of at most 5,000",
                5001 * CABLENET_PARTNER.count("\n") + 5001,
                1,
            )
        ],
    )
    assert elapsed < 1.0
    # `...` ends documents as well as `---` starts them: bare ones after it count too.
    body = "...\n".join([CABLENET_PARTNER] * 5_002)
    r = client.post(f"{A}/plan", headers=headers, content=body)
    assert r.json()["errors"][0]["message"].startswith(
        "over 5,000 documents in one file or request body ('...' number 5,001 is here)"
    )
    # A JSON array, decoded in C, is counted before any document is checked.
    body = json.dumps([{"kind": "Partner"}] * 5_001)
    r, elapsed = timed(client.post, f"{A}/plan", headers=bearer(tokens["manager"]), content=body)
    problem(
        r,
        422,
        ONE_ERROR,
        [
            doc_error(
                "$",
                "over 5,000 documents in one file or request body (this array has 5,001 "
                "items); split them into parts of at most 5,000",
                1,
                1,
                "request.json",
            )
        ],
    )
    assert elapsed < 1.0


def test_a_body_at_the_document_limit_is_read() -> None:
    texts = yamlnodes.parse_yaml("---\n".join(["a: 1\n"] * 5_000))
    assert len(texts) == 5_000
    assert len(yamlnodes.parse_json(json.dumps([{}] * 5_000))) == 5_000


# -- what once crashed: 4xx now -----------------------------------------------------------


def test_a_long_integer_is_422(client: Client, tokens: dict[str, str], unchanged: None) -> None:
    headers = {**bearer(tokens["manager"]), **YAML}
    message = (
        "a number of over 4,300 digits; no contract needs one that long (nor can it be "
        "read back): write a shorter one"
    )
    for number in ("1" * 5000, "-" + "9" * 4301, "0x" + "f" * 3600):
        body = CABLENET_PARTNER.replace("CableNet AG", number)
        problem(
            client.post(f"{A}/apply", headers=headers, content=body),
            422,
            ONE_ERROR,
            [doc_error("$.spec.legalName", message, 5, 14)],
        )
    body = '{"kind": "Partner", "n": ' + "7" * 5000 + "}"
    problem(
        client.post(f"{A}/apply", headers=bearer(tokens["manager"]), content=body),
        422,
        ONE_ERROR,
        [doc_error("$", message, 1, body.index("7") + 1, "request.json")],
    )
    # Up to the limit, a number is a number: here, the wrong type for a legal name.
    body = CABLENET_PARTNER.replace("CableNet AG", "1" * 4300)
    r = client.post(f"{A}/apply", headers=headers, content=body)
    assert r.json()["errors"][0]["message"].startswith("expected a string, got the number 1111")


def test_half_a_surrogate_pair_is_422_before_any_transaction(
    client: Client, tokens: dict[str, str], unchanged: None
) -> None:
    lone = (
        "the text holds U+{:04X}, half of a UTF-16 surrogate pair and no character on its "
        "own; remove it, or write the whole character"
    )
    headers = {**bearer(tokens["manager"]), **YAML}
    body = CABLENET_PARTNER.replace("CableNet AG", '"CableNet \\ud800 AG"')
    problem(
        client.post(f"{A}/apply", headers=headers, content=body),
        422,
        ONE_ERROR,
        [doc_error("$.spec.legalName", lone.format(0xD800), 5, 14)],
    )
    body = CABLENET_PARTNER.replace("legalName: CableNet AG", '"legal\\udc00Name": CableNet AG')
    problem(
        client.post(f"{A}/apply", headers=headers, content=body),
        422,
        ONE_ERROR,
        [doc_error("$.spec", lone.format(0xDC00), 5, 3)],
    )
    document = {"apiVersion": "alliance-registry/v1", "kind": "Partner", "spec": {"x": "\ud800"}}
    body = json.dumps([document])
    problem(
        client.post(f"{A}/apply", headers=bearer(tokens["manager"]), content=body),
        422,
        ONE_ERROR,
        [
            doc_error(
                "$[0].spec.x", lone.format(0xD800), 1, body.index('"\\ud800"') + 1, "request.json"
            )
        ],
    )


def test_a_whole_surrogate_pair_is_one_character(client: Client, tokens: dict[str, str]) -> None:
    """JSON reads `\\ud83d\\ude00` as one character; YAML is read the same way."""
    (parsed,) = yamlnodes.parse_yaml('a: "\\ud83d\\ude00"\n')
    assert parsed.data == {"a": "\N{GRINNING FACE}"}
    headers = {**bearer(tokens["manager"]), **YAML}
    body = CABLENET_PARTNER.replace("CableNet AG", '"CableNet \\ud83d\\ude00"')
    r = client.post(f"{A}/apply?dryRun=true", headers=headers, content=body)
    assert r.status_code == 200, r.text


def test_a_nul_in_a_name_is_404_or_422(
    client: Client, tokens: dict[str, str], unchanged: None
) -> None:
    """PostgreSQL text holds no NUL: such a name is refused before any query."""
    admin = bearer(tokens["admin"])
    r = client.get(f"{A}/documents/Partner/fast%00net", headers=admin)
    problem(r, 404, "no document Partner/fast\x00net in alliance 'metro-home'")
    r = client.get(f"{A}/documents/Partner/fast%00net?revision=1", headers=admin)
    problem(r, 404, "no document Partner/fast\x00net in alliance 'metro-home' at revision 1")
    r = client.put(
        "/v1/alliances/a%00b/documents/Alliance/a%00b",
        headers={**admin, **YAML},
        content=ALLIANCE.replace("name: metro-home", 'name: "a\\0b"'),
    )
    problem(r, 404, "no alliance 'a\x00b'")
    r = client.delete("/v1/alliances/a%00b/documents/Partner/x", headers={**admin, "If-Match": "*"})
    problem(r, 404, "no alliance 'a\x00b'")
    body = json.dumps(
        {
            "apiVersion": "alliance-registry/v1",
            "kind": "Partner",
            "metadata": {"name": "fast\x00net", "alliance": "metro-home"},
            "spec": {"legalName": "FastNet"},
        }
    )
    r = client.put(f"{A}/documents/Partner/fast%00net", headers=admin, content=body)
    name = (
        "'fast\\x00net' is not a valid name: use lowercase letters, digits and '-', 1 to 63 "
        "characters, starting and ending with a letter or digit"
    )
    column = body.index('"name"') + 1  # a mapping entry is pointed at by its key
    problem(r, 422, ONE_ERROR, [doc_error("$.metadata.name", name, 1, column, "request.json")])


def test_a_static_path_with_a_nul_is_404(client: Client) -> None:
    r = client.get("/ui/static/registry.css%00.html")
    problem(
        r,
        404,
        "no file 'registry.css\\x00.html' in /ui/static (no file name holds a control character)",
    )
    assert client.get("/ui/static/registry.css").status_code == 200


# -- error lists are capped ---------------------------------------------------------------


def test_a_batch_error_list_is_capped(client: Client, tokens: dict[str, str]) -> None:
    """2,000 queries naming 50 unknown dimensions each: 100,000 errors, 100 listed."""
    queries = [{"where": {f"d{j}": "x" for j in range(50)}} for _ in range(2_000)]
    r = client.post(
        f"{A}/owner:batch", headers=bearer(tokens["resolver"]), json={"queries": queries}
    )
    body = problem(
        r,
        400,
        "100000 error(s) in the queries; nothing answered (the first 100 are listed)",
        [
            {
                "path": f"$.queries[{i // 50}].where.d{i % 50}",
                "message": f"unknown dimension 'd{i % 50}'; choose from: category, region",
            }
            for i in range(100)
        ],
    )
    assert len(body["errors"]) == 100 and len(r.content) < 20_000


def test_a_document_error_list_is_capped(
    client: Client, tokens: dict[str, str], unchanged: None
) -> None:
    body = json.dumps([1] * 150)  # `[1, 1, ...`: item i at column 2 + 3 i
    r = client.post(f"{A}/apply", headers=bearer(tokens["manager"]), content=body)
    expected = (
        "expected a document (a mapping with apiVersion, kind, metadata and spec), got the number 1"
    )
    problem(
        r,
        422,
        "150 errors in the documents; nothing was written (the first 100 are listed)",
        [doc_error(f"$[{i}]", expected, 1, 2 + 3 * i, "request.json") for i in range(100)],
    )
