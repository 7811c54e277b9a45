"""The drop-ins for a contracts repository, run for real (slow):

- `pre-commit try-repo` of this repository (a clone of its HEAD: try-repo reads the
  committed .pre-commit-hooks.yaml) runs both hooks on a temporary contracts repository
  made of examples/gitops: clean, they pass; with a typo, validate fails with the located
  error. pre-commit builds the hooks' virtualenv from PyPI the first time.
- the steps of action.yml, read from the file, run as bash scripts on the example
  repository against a live `registry serve`: the SARIF file, the plan as markdown, and
  the last step failing when the plan adds errors.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from registry.store import Store
from tests.conftest import REPO
from tests.live import LiveServer

pytestmark = pytest.mark.slow
GITOPS = REPO / "examples" / "gitops"
BIN = Path(sys.executable).parent


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def contracts_repository(where: Path) -> Path:
    shutil.copytree(GITOPS, where)
    git(where, "init", "-q")
    git(where, "-c", "user.email=t@t", "-c", "user.name=t", "add", "-A")
    git(where, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "contracts")
    return where


def try_repo(
    hooks: Path, repository: Path, hook: str | None, home: Path
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "PATH": f"{BIN}:{os.environ['PATH']}"}
    env = {k: v for k, v in env.items() if not k.startswith("REGISTRY_")}
    return subprocess.run(
        [str(BIN / "pre-commit"), "try-repo", str(hooks), *([hook] if hook else []), "--all-files"],
        cwd=repository, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip


def test_pre_commit_runs_both_hooks_on_a_contracts_repository(tmp_path: Path) -> None:
    hooks = tmp_path / "hooks"
    # try-repo installs what a commit holds: a clone of this checkout's HEAD.
    subprocess.run(["git", "clone", "-q", str(REPO), str(hooks)], check=True)
    home = tmp_path / "pre-commit-home"
    clean = contracts_repository(tmp_path / "clean")
    ran = try_repo(hooks, clean, None, home)  # both hooks (each try-repo builds its env)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert re.search(r"registry validate\.+Passed", ran.stdout), ran.stdout
    assert re.search(r"registry audit\.+Passed", ran.stdout), ran.stdout
    typo = contracts_repository(tmp_path / "typo")
    text = (typo / "contracts" / "contracts.yaml").read_text()
    (typo / "contracts" / "contracts.yaml").write_text(
        text.replace("  partner: fastnet\n", "  partner: fastnett\n")
    )
    git(typo, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qam", "typo")
    ran = try_repo(hooks, typo, "registry-validate", home)
    assert ran.returncode == 1, ran.stdout
    assert "registry validate" in ran.stdout and "Failed" in ran.stdout
    assert (
        "contracts/contracts.yaml:5:3: $.spec.partner: unknown partner 'fastnett' in alliance "
        "'metro-home' (did you mean 'fastnet'?)"
    ) in ran.stdout
    assert "1 error in 1 file; 4 files read" in ran.stdout


def action_steps() -> list[dict[str, Any]]:
    action = YAML(typ="safe").load((REPO / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    steps: list[dict[str, Any]] = action["runs"]["steps"]
    return steps


def expand(value: str, context: dict[str, str]) -> str:
    """`${{ inputs.x }}` and friends, as the runner fills them in."""
    return re.sub(r"\$\{\{\s*([^}]+?)\s*\}\}", lambda m: context.get(m.group(1), ""), value)


def run_action(repository: Path, inputs: dict[str, str], temp: Path) -> dict[str, str]:
    """Run the action's own steps (but setting up Python and installing the package,
    which this environment has) in the repository; the outputs and each step's code."""
    context = {f"inputs.{k}": v for k, v in inputs.items()} | {"runner.temp": str(temp)}
    results: dict[str, str] = {}
    for step in action_steps():
        if "uses" in step or step.get("name") == "install alliance-registry":
            continue
        condition = step.get("if")
        if condition == "inputs.server != ''" and not inputs.get("server"):
            continue
        outputs = temp / f"{step.get('id', 'last')}.out"
        outputs.write_text("")
        env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
        env |= {k: expand(str(v), context) for k, v in step.get("env", {}).items()}
        env |= {"GITHUB_OUTPUT": str(outputs), "PATH": f"{BIN}:{os.environ['PATH']}"}
        ran = subprocess.run(["bash", "-e", "-c", step["run"]], cwd=repository, env=env,
                             capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
        name = step.get("id", "last")
        results[f"{name}.code"] = str(ran.returncode)
        results[f"{name}.stdout"] = ran.stdout
        results[f"{name}.stderr"] = ran.stderr
        for line in outputs.read_text().splitlines():
            key, _, value = line.partition("=")
            results[f"{name}.{key}"] = value
            context[f"steps.{name}.outputs.{key}"] = value
    return results


def test_the_action_audits_to_sarif_and_plans_against_a_live_server(
    seeded: Store, tokens: dict[str, str], database_url: str, tmp_path: Path
) -> None:
    repository = contracts_repository(tmp_path / "contracts-repo")
    with LiveServer(database_url, tmp_path / "server.log") as server:
        inputs = {"paths": "contracts", "server": server.base, "token": tokens["manager"],
                  "fail-on": "error"}  # fmt: skip
        out = run_action(repository, inputs, tmp_path)
        assert out["audit.code"] == "0" and out["audit.status"] == "0"
        sarif = Path(out["audit.sarif"]).read_text()
        assert '"automationDetails"' in sarif and '"results": []' in sarif
        assert (out["plan.code"], out["plan.status"]) == ("0", "0"), out
        plan = Path(out["plan.plan"]).read_text()
        assert plan.splitlines()[:3] == [
            f"### registry plan for metro-home at revision 1 ({server.base})",
            "",
            "**✓ 0 findings added (0 errors), 1 removed · 0 cells change owner · documents: "
            "1 created, 2 changed, 0 deleted, 3 unchanged**",
        ]
        assert "| + | `Expectation/metro-home-promises` | created |" in plan
        assert "| warning | `gray-zone` | category=connectivity |" in plan  # removed
        assert out["last.code"] == "0"

        # A promise the live contracts break: the plan adds an error, the job fails.
        promises = repository / "contracts" / "expectations.yaml"
        promises.write_text(
            promises.read_text().replace("      owner: metro\n", "      owner: fastnet\n", 1)
        )
        out = run_action(repository, inputs, tmp_path)
        assert (out["audit.status"], out["plan.status"]) == ("1", "1"), out
        assert "expectation-failed" in Path(out["audit.sarif"]).read_text()
        assert (
            "| error | `expectation-failed` | category=refund |"
            in Path(out["plan.plan"]).read_text()
        )
        assert out["last.code"] == "1"
        assert out["last.stdout"] == (
            "the audit has findings at or above the threshold\nthe plan adds error findings\n"
        )
