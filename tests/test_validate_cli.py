"""`registry validate`: exit codes, the text report, JSON errors, standard input."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ALLIANCE, CONTRACTS, MINIMAL, REPO, WriteAlliance

from registry.cli import main

TYPO_IN_CONTRACTS = CONTRACTS.replace("{category: [internet]}", "{category: [internt]}")
TYPO_ERROR = (
    "contracts.yaml:10:26: $.spec.accountable[0].where.category[0]: "
    "unknown category 'internt' (did you mean 'internet'?)"
)

WAIVER = """\
apiVersion: alliance-registry/v1
kind: Waiver
metadata: {name: legal, alliance: metro-home}
spec: {rule: coverage-gap, where: {}, reason: r, approvedBy: board, expires: 2027-01-01}
"""


@pytest.fixture
def invalid_dir(tmp_path: Path, write_alliance: WriteAlliance) -> Path:
    return write_alliance(tmp_path / "typo", **{"contracts.yaml": TYPO_IN_CONTRACTS})


def feed_stdin(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode("utf-8"))))


def test_valid_alliance_exits_0_with_a_summary(
    alliance_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", str(alliance_dir)]) == 0
    out, err = capsys.readouterr()
    assert out == "metro-home: valid; 2 partners, 2 contracts, 0 waivers, 10 cells\n"
    assert err == ""


def test_each_alliance_gets_a_summary_line(
    tmp_path: Path, write_alliance: WriteAlliance, capsys: pytest.CaptureFixture[str]
) -> None:
    first = write_alliance(tmp_path / "one")
    second = write_alliance(
        tmp_path / "two",
        **{name: text.replace("metro-home", "metro-work") for name, text in MINIMAL.items()},
    )
    assert main(["validate", str(first), str(second)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "metro-home: valid; 2 partners, 2 contracts, 0 waivers, 10 cells",
        "metro-work: valid; 2 partners, 2 contracts, 0 waivers, 10 cells",
    ]


def test_invalid_documents_exit_2_with_every_error_and_a_count(
    invalid_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(invalid_dir)
    assert main(["validate", "."]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [TYPO_ERROR, "1 error in 1 file; 3 files read"]


def test_the_count_line_counts_every_error_and_file(
    tmp_path: Path, write_alliance: WriteAlliance, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = write_alliance(
        tmp_path / "two-mistakes",
        **{
            "contracts.yaml": TYPO_IN_CONTRACTS,
            "alliance.yaml": ALLIANCE.replace("authority:board}", "authority:bord}"),
            "notes.yaml": "",
        },
    )
    assert main(["validate", str(folder)]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 4
    assert lines[-1] == "3 errors in 3 files; 4 files read"


def test_the_count_line_names_the_files_with_errors_among_those_read(
    tmp_path: Path, write_alliance: WriteAlliance, capsys: pytest.CaptureFixture[str]
) -> None:
    twice = TYPO_IN_CONTRACTS.replace("{category: [connectivity]}", "{category: [conectivity]}")
    folder = write_alliance(tmp_path / "one-file", **{"contracts.yaml": twice})
    (folder / "waivers.yaml").write_text(WAIVER, encoding="utf-8")
    assert main(["validate", str(folder)]) == 2
    assert capsys.readouterr().err.splitlines()[-1] == "2 errors in 1 file; 4 files read"


def test_counts_are_pluralised(
    tmp_path: Path, write_alliance: WriteAlliance, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = write_alliance(tmp_path / "one-waiver")
    (folder / "waivers.yaml").write_text(WAIVER, encoding="utf-8")
    assert main(["validate", str(folder)]) == 0
    assert capsys.readouterr().out == (
        "metro-home: valid; 2 partners, 2 contracts, 1 waiver, 10 cells\n"
    )


def test_documents_run_together_get_a_hint(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`cat *.yaml | registry validate -`: files without a `---` between them."""
    feed_stdin(monkeypatch, ALLIANCE + MINIMAL["partners.yaml"])
    assert main(["validate", "-"]) == 2
    second = ALLIANCE.count("\n") + 1
    assert capsys.readouterr().err.splitlines() == [
        f"<stdin>:{second}:1: $.apiVersion: duplicate key 'apiVersion' (first at line 1, "
        "column 1); if a second document starts here, separate the documents with a line "
        "'---' (else keep one of them)",
        "1 error in 1 file; 1 file read",
    ]


def test_json_format_prints_error_objects(
    invalid_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", str(invalid_dir), "--format", "json"]) == 2
    out, _ = capsys.readouterr()
    assert json.loads(out) == [
        {
            "file": str(invalid_dir / "contracts.yaml"),
            "line": 10,
            "column": 26,
            "path": "$.spec.accountable[0].where.category[0]",
            "message": "unknown category 'internt' (did you mean 'internet'?)",
        }
    ]


def test_json_format_on_valid_documents_exits_0_with_json(
    alliance_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", "--format", "json", str(alliance_dir)]) == 0
    out, err = capsys.readouterr()
    assert isinstance(json.loads(out), list)
    assert err == ""


def test_json_format_on_valid_documents_prints_the_summaries(
    alliance_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", "--format", "json", str(alliance_dir)]) == 0
    assert json.loads(capsys.readouterr().out) == [
        {"alliance": "metro-home", "partners": 2, "contracts": 2, "waivers": 0, "cells": 10}
    ]


def test_standard_input_is_read_for_a_dash(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    feed_stdin(monkeypatch, "---\n".join(MINIMAL.values()))
    assert main(["validate", "-"]) == 0
    assert capsys.readouterr().out.startswith("metro-home: valid; 2 partners, 2 contracts")


def test_errors_on_standard_input_name_it(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    before = ALLIANCE + "---\n" + MINIMAL["partners.yaml"] + "---\n"
    feed_stdin(monkeypatch, before + TYPO_IN_CONTRACTS)
    assert main(["validate", "-", "--format", "json"]) == 2
    (error,) = json.loads(capsys.readouterr().out)
    # line 10 of the contracts, counted from the top of the stream
    assert (error["file"], error["line"], error["column"]) == (
        "<stdin>",
        before.count("\n") + 10,
        26,
    )


def test_standard_input_combines_with_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "split"
    folder.mkdir()
    (folder / "alliance.yaml").write_text(ALLIANCE, encoding="utf-8")
    feed_stdin(monkeypatch, MINIMAL["partners.yaml"] + "---\n" + CONTRACTS)
    assert main(["validate", str(folder), "-"]) == 0
    assert capsys.readouterr().out.startswith("metro-home: valid")


def test_a_missing_path_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(tmp_path / "nowhere.yaml")]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"{tmp_path / 'nowhere.yaml'}:1:1: $: no such file or folder",
        "1 error in 1 file; no file read",
    ]


def test_no_paths_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["validate"])
    assert exited.value.code == 2
    assert "usage: registry validate" in capsys.readouterr().err


def test_a_real_process_exits_2_and_prints_the_errors(invalid_dir: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "registry", "validate", "."],
        cwd=invalid_dir,
        env={"PYTHONPATH": str(REPO), "PATH": "", "PYTHONWARNINGS": "error"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert done.stderr.splitlines() == [TYPO_ERROR, "1 error in 1 file; 3 files read"]
