"""`--format markdown` for plan and audit, the pull-request comment: pinned on the
examples (tests/examples/markdown/*.md, read by hand), and never longer than 60,000
characters, with a note of what was left out (on the large synthetic alliance)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import EXAMPLES, REPO

from registry.cli import main
from registry.report import markdown

PINNED = EXAMPLES / "markdown"
TRIPLE_PLAY = REPO / "examples" / "triple-play"
CARD = REPO / "examples" / "co-branded-card"


def undo_the_carve_out(tmp_path: Path) -> Path:
    """Triple-play with router complaints in stores handed back to FastNet."""
    changed = tmp_path / "triple-play"
    shutil.copytree(TRIPLE_PLAY, changed)
    contracts = changed / "contracts.yaml"
    text = contracts.read_text()
    text = text.replace("    - where: {category: [wifi-router], channel: [store]}\n", "", 1)
    text = text.replace("      except: [{category: [wifi-router], channel: [store]}]\n", "", 1)
    contracts.write_text(text)
    return changed


def pinned(name: str, out: str, update: bool = False) -> None:
    path = PINNED / name
    if update:  # regenerate by hand: flip, run once, read the diff, flip back
        path.write_text(out)
    assert out == path.read_text()


def test_plan_markdown_of_the_carve_out_undone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    changed = undo_the_carve_out(tmp_path)
    code = main(["plan", str(TRIPLE_PLAY), str(changed), "--as-of", "2026-11-22",
                 "--format", "markdown"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 1  # it breaks a promise: an error added
    pinned("plan-triple-play-carve-out-undone.md", out)


def test_audit_markdown_after_the_card_waiver_expired(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["audit", str(CARD), "--as-of", "2027-06-30", "--format", "markdown",
                 "--fail-on", "warning"])  # fmt: skip
    assert code == 1
    pinned("audit-co-branded-card-2027-06-30.md", capsys.readouterr().out)


def test_audit_markdown_of_a_clean_alliance(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", str(TRIPLE_PLAY), "--as-of", "2026-11-22", "--format", "markdown"]) == 0
    assert capsys.readouterr().out == (
        "### registry audit: triple-play as of 2026-11-22\n"
        "\n"
        "**✓ 0 errors, 0 warnings, 0 info** · 400 cells, 384 owned (96.0%) · "
        "0 at or above error\n"
        "\n"
    )


def test_what_does_not_fit_is_counted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    changed = undo_the_carve_out(tmp_path)
    plan = ["plan", str(TRIPLE_PLAY), str(changed), "--as-of", "2026-11-22", "--format", "markdown"]
    monkeypatch.setattr(markdown, "MAX_CHARS", 1_500)
    main(plan)
    out = capsys.readouterr().out
    assert len(out) <= 1_500
    assert "| category=wifi-router channel=store | metro | fastnet | 4 |" in out
    assert "<details>" not in out
    assert out.endswith("\n\n_Left out to stay under 1,500 characters: 1 row of the details._\n")
    monkeypatch.setattr(markdown, "MAX_CHARS", 1_000)  # the tables' rows go too
    main(plan)
    out = capsys.readouterr().out
    assert len(out) <= 1_000
    assert "#### Owner moves" in out and "| metro | fastnet |" not in out
    assert out.endswith(
        "_Left out to stay under 1,000 characters: 1 row of findings added, 1 row of owner "
        "moves, 1 row of the details._\n"
    )


@pytest.mark.slow
def test_the_cap_on_the_large_alliance(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    large = tmp_path / "large"
    assert (
        main(["demo", "generate", "--preset", "large", "--defects", "400", "--out", str(large)])
        == 0
    )
    capsys.readouterr()
    assert main(["audit", str(large), "--as-of", "2026-11-22", "--format", "markdown"]) == 1
    out = capsys.readouterr().out
    assert len(out) <= markdown.MAX_CHARS
    shown = sum(line.startswith("| error |") or line.startswith("| warning |")
                for line in out.splitlines())  # fmt: skip
    note = out.splitlines()[-1]
    assert note == (
        f"_Left out to stay under 60,000 characters: {600 - shown:,} rows of findings, "
        "600 rows of the details._"
    )
    assert 300 < shown < 600
