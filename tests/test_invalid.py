"""Invalid documents: one folder per mistake under examples/invalid/, each with the
exact error lines the loader must print for it in `expected.txt`.

Add a case by adding a folder: the documents of a small alliance with one mistake
in them, and the report a person should read."""

from __future__ import annotations

import json
import os
from pathlib import Path

import msgspec
import pytest
from conftest import EXAMPLES, PARTNERS, WriteAlliance

from registry import yamlnodes
from registry.load import (
    MAX_FILE_BYTES,
    LoadResult,
    bundle_documents,
    load,
    load_texts,
    read_documents,
    read_stored,
)
from registry.model import to_builtins

CASES = sorted(p for p in (EXAMPLES / "invalid").iterdir() if p.is_dir())


def errors_in(folder: Path) -> list[str]:
    """The load report of a folder, its file names relative to the folder."""
    here = Path.cwd()
    os.chdir(folder)
    try:
        return [str(e) for e in load(["."]).errors]
    finally:
        os.chdir(here)


def test_there_is_a_case_for_every_mistake() -> None:
    assert len(CASES) >= 32


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_invalid_case(case: Path) -> None:
    expected = (case / "expected.txt").read_text(encoding="utf-8").splitlines()
    assert expected, f"{case.name}/expected.txt is empty: an invalid case must report something"
    assert errors_in(case) == expected


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_an_alliance_with_a_mistake_is_not_handed_out(case: Path) -> None:
    # Every case is a mistake in metro-home (or in a file that might be part of it);
    # a second alliance beside it is handed out only when none of its files failed.
    result = load([case])
    assert "metro-home" not in result.bundles
    failing = {e.file for e in result.errors}
    for bundle in result.bundles.values():
        assert not {o.file for o in bundle.origins.values()} & failing


def test_minimal_alliance_is_valid(alliance_dir: Path) -> None:
    result = load([alliance_dir])
    assert result.errors == []
    assert list(result.bundles) == ["metro-home"]
    assert (result.files, result.documents) == (3, 5)


def test_a_file_over_the_size_limit_is_refused_unread(
    tmp_path: Path, write_alliance: WriteAlliance
) -> None:
    folder = write_alliance(tmp_path / "big")
    line = b"# padding, never parsed\n"
    (folder / "huge.yaml").write_bytes(line * (10 * 1024 * 1024 // len(line) + 1))
    assert (folder / "huge.yaml").stat().st_size > 2 * MAX_FILE_BYTES - len(line)
    assert errors_in(folder) == [
        "huge.yaml:1:1: $: the file is 10.0 MiB, over the 5 MiB limit for one file; "
        "split its documents into several files"
    ]


def bomb(levels: int, width: int = 9) -> str:
    lines = ["a0: &a0 [" + ", ".join(["lol"] * width) + "]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def test_an_alias_bomb_is_refused_before_anything_expands(monkeypatch: pytest.MonkeyPatch) -> None:
    # 9**30 values: expanding even a sliver of them would never finish, so the
    # guard has to answer from the node graph alone, which it walks once.
    def expand(*_: object) -> None:
        raise AssertionError("the document was constructed: the alias guard did not run first")

    monkeypatch.setattr(yamlnodes, "_construct", expand)
    with pytest.raises(yamlnodes.ParseError) as caught:
        yamlnodes.parse_yaml(bomb(30))
    assert caught.value.message.startswith("aliases expand this value past 1,000,000 values")
    assert (caught.value.line, caught.value.path) == (7, ("a6",))


def test_aliases_below_the_limit_are_fine() -> None:
    (parsed,) = yamlnodes.parse_yaml(bomb(3))
    assert parsed.data["a2"][0][0] == ["lol"] * 9


def test_a_trailing_document_separator_adds_no_document(
    tmp_path: Path, write_alliance: WriteAlliance
) -> None:
    folder = write_alliance(tmp_path / "m", **{"partners.yaml": f"---\n{PARTNERS}---\n"})
    result = load([folder])
    assert result.errors == []
    assert result.documents == 5


def test_a_file_named_twice_is_loaded_once(alliance_dir: Path) -> None:
    result = load([alliance_dir, alliance_dir / "contracts.yaml"])
    assert result.errors == []
    assert result.files == 3


def test_a_missing_path_is_an_error(tmp_path: Path) -> None:
    result = load([tmp_path / "nowhere"])
    assert [str(e) for e in result.errors] == [
        f"{tmp_path / 'nowhere'}:1:1: $: no such file or folder"
    ]


def test_a_folder_without_documents_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a document\n", encoding="utf-8")
    assert [str(e) for e in load([tmp_path]).errors] == [
        f"{tmp_path}:1:1: $: the folder holds no .yaml, .yml or .json file"
    ]


def test_load_texts_reports_like_load() -> None:
    case = EXAMPLES / "invalid" / "several-errors-at-once"
    texts = [
        (p.name, p.read_text(encoding="utf-8"))
        for p in sorted(case.iterdir())
        if p.suffix == ".yaml"
    ]
    result = load_texts(texts)
    expected = (case / "expected.txt").read_text(encoding="utf-8").splitlines()
    assert [str(e) for e in result.errors] == expected
    assert result.files == 3
    assert not result.bundles


def test_errors_carry_their_parts() -> None:
    (error,) = load([EXAMPLES / "invalid" / "node-typo"]).errors
    assert error.to_dict() == {
        "file": str(EXAMPLES / "invalid" / "node-typo" / "contracts.yaml"),
        "line": 10,
        "column": 26,
        "path": "$.spec.accountable[0].where.category[0]",
        "message": "unknown category 'internt' (did you mean 'internet'?)",
    }


def test_a_broken_partner_in_its_own_file_spoils_its_alliance_quietly(
    tmp_path: Path, write_alliance: WriteAlliance
) -> None:
    metro, fastnet = PARTNERS.split("---\n")
    folder = write_alliance(
        tmp_path / "m",
        **{"partners.yaml": metro, "fastnet.yaml": fastnet.replace("legalName", "legal_name")},
    )
    result = load([folder])
    # the contract naming fastnet is not told fastnet is unknown: the Partner's own error says why
    assert [(e.file, e.path) for e in result.errors] == [
        (str(folder / "fastnet.yaml"), "$.spec.legal_name")
    ]
    assert result.bundles == {}


def test_a_broken_policy_spoils_the_alliance_that_names_it(
    tmp_path: Path, write_alliance: WriteAlliance
) -> None:
    case = EXAMPLES / "invalid" / "policyset-unknown-rule-bad-severity"
    folder = write_alliance(
        tmp_path / "m",
        **{
            "alliance.yaml": (case / "alliance.yaml").read_text(encoding="utf-8"),
            "policies/strict.yaml": (case / "policy.yaml").read_text(encoding="utf-8"),
        },
    )
    result = load([folder])
    assert {e.file for e in result.errors} == {str(folder / "policies" / "strict.yaml")}
    assert result.bundles == {}


def test_an_unreadable_file_spoils_every_alliance(
    tmp_path: Path, write_alliance: WriteAlliance
) -> None:
    folder = write_alliance(tmp_path / "m", **{"other.yaml": "kind: [unclosed\n"})
    result = load([folder])
    assert [e.file for e in result.errors] == [str(folder / "other.yaml")]
    assert result.bundles == {}


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("deep.json", '{"a": "[[[\\"[[",\n"b": ' + "[" * 70 + "]" * 70 + "}"),
        ("deep.yaml", "a: '[[[['\nb: " + "[" * 70 + "]" * 70 + "\n"),
    ],
)
def test_nesting_past_the_limit_points_at_the_bracket(name: str, text: str) -> None:
    # `b` is one level, its brackets the next 64: the 65th bracket is the 66th level
    (error,) = load_texts([(name, text)]).errors
    first_bracket = text.splitlines()[1].index("[") + 1
    assert (error.line, error.column) == (2, first_bracket + 64)
    assert error.message.startswith("the document nests deeper than 64 levels")


def test_a_put_with_three_mistakes_in_one_document_reports_all_three(alliance_dir: Path) -> None:
    """The load of the write path (registry/service/writes.py): the stored documents
    decoded as stored, the sent one checked, then every reference. An unknown field
    and a date that does not exist (its schema errors) do not hide the partner typo."""
    stored = [
        (f"{d.ref}.json", msgspec.json.encode(to_builtins(d)).decode())
        for d in load([alliance_dir]).checked
        if d.ref != "Contract/fastnet-internet"
    ]
    sent = {
        "apiVersion": "alliance-registry/v1",
        "kind": "Contract",
        "metadata": {"name": "fastnet-internet", "alliance": "metro-home"},
        "spec": {
            "partner": "fastnett",
            "effective": {"from": "2026-01-01", "until": "2026-12-32"},
            "accountable": [{"where": {"category": ["internet"]}}],
            "escalation": "standard",
            "colour": "blue",
        },
    }
    result = LoadResult(files=1)
    documents = read_documents([("request.json", json.dumps(sent, indent=2))], result)
    bundle_documents(read_stored(stored, LoadResult()) + documents, result)
    assert [str(e) for e in result.errors] == [
        "request.json:24:5: $.spec.colour: unknown field 'colour'; remove it (allowed here: "
        "partner, effective, deliveryModel, scope, accountable, consulted, handoffs, "
        "escalation, grantsFace)",
        "request.json:12:7: $.spec.effective.until: '2026-12-32' is not a date; write "
        "YYYY-MM-DD, e.g. 2027-01-01",
        "request.json:9:5: $.spec.partner: unknown partner 'fastnett' in alliance 'metro-home' "
        "(did you mean 'fastnet'?)",
    ]
    assert result.bundles == {}


def test_a_file_that_does_not_parse_hides_only_what_it_may_have_held(
    tmp_path: Path, write_alliance: WriteAlliance
) -> None:
    # The unreadable file may have held a Partner 'telco': not reported unknown. The
    # node typo of the same contract does not depend on that file: reported.
    contracts = (EXAMPLES / "invalid" / "unknown-partner" / "contracts.yaml").read_text()
    folder = write_alliance(
        tmp_path / "m",
        **{
            "contracts.yaml": contracts.replace("[billing, installation]", "[biling]"),
            "telco.yaml": "kind: [unclosed\n",
        },
    )
    result = load([folder])
    assert [(e.file, e.path, e.message) for e in result.errors] == [
        (
            str(folder / "contracts.yaml"),
            "$.spec.accountable[0].where.category[0]",
            "unknown category 'biling' (did you mean 'billing'?)",
        ),
        (str(folder / "telco.yaml"), "$", result.errors[1].message),
    ]
    assert result.errors[1].message.startswith("YAML syntax error")
    assert result.bundles == {}
