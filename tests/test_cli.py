"""The `registry` command as a whole: its help, and a reader of its output that
stops early (`| head`)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import REPO

from registry.cli import main


def test_help_says_what_the_command_is_for(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: registry ")
    assert "Contracts of service alliances: who owns every complaint." in out
    assert "Exit codes: 0 done; 1 findings (audit)" in out
    assert "option parsing only" not in out  # the module's docstring is for its readers


def test_a_reader_that_stops_early_gets_no_traceback() -> None:
    """`registry audit examples/ --format html | head -c 15`: the reader is gone while
    the report is written; exit 141, as a process killed by SIGPIPE, and nothing on
    standard error. The pipe's reading end is closed before the command writes: how a
    write already under way ends when its reader goes differs between kernels."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    process = subprocess.Popen(
        [sys.executable, "-m", "registry", "audit", str(REPO / "examples"), "--as-of",
         "2026-11-22", "--format", "html"],
        stdout=write_end, stderr=subprocess.PIPE, cwd=REPO,
    )  # fmt: skip
    os.close(write_end)
    assert process.stderr is not None
    assert process.wait(timeout=60) == 141
    assert process.stderr.read() == b""
    process.stderr.close()
