"""The alliance managers' loop against a real `registry serve`: pull, plan --server,
apply --server (the CLI in this process, the server in its own), on SQLite and
PostgreSQL.

- pull -> apply -> pull is byte-identical, and the apply between changes nothing;
- a plan against the server is the server's own dry run of the same documents;
- apply with a stale --if-revision exits 1 and changes nothing;
- --prune deletes exactly the documents the folder lacks, and nothing without it;
- an apply that breaks a promise exits 1, prints the refused plan, writes nothing.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from registry.cli import main
from registry.store import Store
from tests.conftest import CONTRACTS, bearer
from tests.live import LiveServer

pytestmark = pytest.mark.slow
A = "metro-home"
AS_OF = "2026-11-22"


@pytest.fixture
def server(
    seeded: Store, database_url: str, tmp_path: Path, tokens: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[LiveServer]:  # fmt: skip
    with LiveServer(database_url, tmp_path / "server.log") as live:
        monkeypatch.setenv("REGISTRY_SERVER", live.base)
        monkeypatch.setenv("REGISTRY_TOKEN", tokens["manager"])
        yield live


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def stored(server: LiveServer, token: str) -> dict[str, Any]:
    response = httpx.get(server.url(f"/v1/alliances/{A}/documents"), headers=bearer(token))
    response.raise_for_status()
    found: dict[str, Any] = response.json()
    return found


def files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*.yaml"))}


def test_pull_apply_pull_is_byte_identical_and_prune_deletes_what_is_missing(
    server: LiveServer, tokens: dict[str, str], tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    folder = tmp_path / "contracts"
    code, out, err = run(capsys, "pull", "--alliance", A, str(folder))
    assert (code, err) == (0, "")
    assert (
        out.splitlines()[0]
        == f"{A} at revision 1: 5 documents in {folder}; 3 files written, 0 removed"
    )
    assert sorted(files(folder)) == ["alliance.yaml", "contracts.yaml", "partners.yaml"]
    pulled = files(folder)
    code, out, _ = run(capsys, "apply", "--server", str(folder), "--as-of", AS_OF)
    assert code == 0
    assert out.splitlines()[0] == (
        f"nothing to apply: {A} on {server.base} at revision 1: 0 created, 0 changed, "
        "0 deleted, 5 unchanged"
    )
    assert run(capsys, "pull", "--alliance", A, str(folder))[1].endswith(
        "0 files written, 0 removed\n"
    )
    assert files(folder) == pulled

    # A document moved to a file of one's own stays there; a new one goes by its kind.
    contracts = (folder / "contracts.yaml").read_text()
    fastnet, metro = contracts.split("---\n")
    (folder / "contracts.yaml").write_text(metro)
    (folder / "fastnet.yaml").write_text(fastnet.replace("PT1H", "PT2H"))
    code, out, _ = run(capsys, "apply", str(folder), "--server", server.base, "--as-of", AS_OF)
    assert code == 0, out
    assert out.splitlines()[:2] == [
        f"applied to {A} on {server.base}: now revision 2: 0 created, 1 changed, 0 deleted, "
        "4 unchanged",
        "  ~ Contract/fastnet-internet (updated)",
    ]
    run(capsys, "pull", "--alliance", A, str(folder))
    again = files(folder)
    assert sorted(again) == ["alliance.yaml", "contracts.yaml", "fastnet.yaml", "partners.yaml"]
    assert b"acknowledgeWithin: PT2H" in again["fastnet.yaml"]
    assert run(capsys, "apply", "--server", str(folder))[1].startswith("nothing to apply")
    run(capsys, "pull", "--alliance", A, str(folder))
    assert files(folder) == again

    # Without --prune a document missing from the folder stays; with it, it goes.
    (folder / "fastnet.yaml").unlink()
    before = stored(server, tokens["manager"])
    code, out, _ = run(capsys, "apply", "--server", str(folder), "--as-of", AS_OF, "--force")
    assert (
        "  = Contract/fastnet-internet: on the server, not in DIR; kept (--prune deletes it)" in out
    )
    assert stored(server, tokens["manager"]) == before
    code, out, _ = run(
        capsys, "apply", "--server", str(folder), "--as-of", AS_OF, "--prune", "--force"
    )
    assert code == 0, out
    assert "  - Contract/fastnet-internet (deleted)" in out
    assert "  forced: written although it adds error findings" in out
    after = stored(server, tokens["manager"])
    assert after["revision"] == 3
    assert sorted((d["kind"], d["name"]) for d in after["documents"]) == [
        ("Alliance", A), ("Contract", "metro-rest"), ("Partner", "fastnet"), ("Partner", "metro"),
    ]  # fmt: skip
    assert run(capsys, "pull", "--alliance", A, str(folder))[1].endswith(
        "0 files written, 0 removed\n"
    )


def yaml_stream(folder: Path) -> bytes:
    return b"---\n".join(p.read_bytes() for p in sorted(folder.glob("*.yaml")))


def test_plan_is_the_servers_dry_run_and_a_stale_revision_changes_nothing(
    server: LiveServer, tokens: dict[str, str], tmp_path: Path, alliance_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    folder = tmp_path / "proposed"
    shutil.copytree(alliance_dir, folder)
    # Metro takes outages over from fastnet: owners move, a finding goes, one comes.
    (folder / "contracts.yaml").write_text(
        CONTRACTS.replace(
            "    - where: {category: [billing, installation]}",
            "    - where: {category: [billing, installation, outage]}",
        ).replace(
            "    - where: {category: [internet]}\n  handoffs",
            "    - where: {category: [slow-speed]}\n  handoffs",
        )
    )
    code, out, err = run(
        capsys, "plan", "--server", str(folder), "--as-of", AS_OF, "--format", "json"
    )
    assert (code, err) == (0, "")
    dry_run = httpx.post(
        server.url(f"/v1/alliances/{A}/apply?dryRun=true&asOf={AS_OF}"),
        content=yaml_stream(folder),
        headers=bearer(tokens["manager"]) | {"Content-Type": "application/yaml"},
    )
    assert dry_run.status_code == 200
    assert json.loads(out) == dry_run.json()
    planned = dry_run.json()
    assert planned["applied"] is False and planned["revision"] == 1
    assert [m["after"] for m in planned["plan"]["moves"]] == [["metro"]]
    code, text, _ = run(capsys, "plan", "--server", str(folder), "--as-of", AS_OF)
    assert text.splitlines()[:3] == [
        f"plan for {A} on {server.base} at revision 1: 0 created, 2 changed, 0 deleted, "
        "3 unchanged",
        "  ~ Contract/fastnet-internet (updated)",
        "  ~ Contract/metro-rest (updated)",
    ]
    assert "    category=outage: fastnet -> metro (2 cells)" in text

    before = stored(server, tokens["manager"])
    code, out, err = run(capsys, "apply", "--server", str(folder), "--if-revision", "7")
    assert code == 1
    assert err == 'registry: the alliance is at revision 1, not "r7"; read it again and retry\n'
    assert stored(server, tokens["manager"]) == before
    code, out, err = run(
        capsys, "apply", "--server", str(folder), "--if-revision", "1", "--as-of", AS_OF
    )
    assert (code, err) == (0, "")
    assert stored(server, tokens["manager"])["revision"] == 2


def test_an_apply_that_breaks_a_promise_prints_the_refused_plan(
    server: LiveServer, tokens: dict[str, str], tmp_path: Path, alliance_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    folder = tmp_path / "contracts"
    shutil.copytree(alliance_dir, folder)
    (folder / "expectations.yaml").write_text(
        "apiVersion: alliance-registry/v1\nkind: Expectation\n"
        f"metadata: {{name: internet, alliance: {A}}}\n"
        "spec:\n  promises:\n    - name: outages-with-fastnet\n"
        "      where: {category: outage, region: north}\n      owner: metro\n"
    )
    before = stored(server, tokens["manager"])
    code, out, err = run(capsys, "apply", "--server", str(folder), "--as-of", AS_OF)
    assert code == 1
    assert err == (
        "registry: the change adds 1 error finding; nothing was written. Fix the documents, "
        "or send force=true as a manager to write anyway\n"
    )
    assert out.splitlines() == [
        f"refused: {A} on {server.base} at revision 1",
        f"{A} as of {AS_OF}: 1 finding(s) added, 0 removed",
        "  + expectation-failed (error): promise 'outages-with-fastnet' (category=outage, "
        "region=north on 2026-11-22) is broken: owner: expected metro, got fastnet "
        "[category=outage region=north]",
        "  owners: 0 cell(s) in 0 box(es) change owner",
    ]
    assert stored(server, tokens["manager"]) == before
    code, out, _ = run(capsys, "plan", "--server", str(folder), "--as-of", AS_OF)
    assert code == 1  # the plan adds an error
