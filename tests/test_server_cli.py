"""The server door's commands: `registry token`, `registry log verify`, and
`registry serve --demo` as a user runs it (a real process, polled, never slept on)."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from conftest import REPO
from sqlalchemy import text

from registry.access import digest
from registry.cli import main
from registry.store import Store
from tests.live import _environment, free_port, registry_command

ROLE_LINE = re.compile(r"^  (admin|manager|auditor|resolver|partner) +(ar_\S+)$", re.M)


# Several `registry` processes each: out of the quick loop (-m "not slow"), which keeps
# one process per refusal below.
@pytest.mark.slow
def test_token_create_list_and_revoke(seeded: Store, database_url: str) -> None:
    made = registry_command(
        "token", "create", "--role", "auditor", "--alliance", "metro-home", "--name", "ines",
        database_url=database_url,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    secret = made.stdout.strip()
    assert secret.startswith("ar_") and len(secret) == 46
    assert made.stderr == "token 1 (auditor); it is shown only now:\n"
    assert seeded.principals()[digest(secret)].role == "auditor"

    listed = registry_command("token", "list", database_url=database_url)
    row = listed.stdout.strip().split("\t")
    assert (row[0], row[1], row[2], row[3], row[5]) == (
        "1",
        "auditor",
        "metro-home",
        "ines",
        "in force",
    )

    revoked = registry_command("token", "revoke", "1", database_url=database_url)
    assert (revoked.returncode, revoked.stdout) == (0, "token 1 revoked\n")
    assert digest(secret) not in seeded.principals()
    again = registry_command("token", "revoke", "1", database_url=database_url)
    assert (again.returncode, again.stderr) == (2, "registry: no token 1 in force\n")


@pytest.mark.slow  # a process per bad scope
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "manager"], "a manager token belongs to one alliance; add --alliance"),
        (
            ["--role", "admin", "--alliance", "metro-home"],
            "an admin token holds every alliance; leave out --alliance and --partner",
        ),
        (
            ["--role", "partner", "--alliance", "metro-home"],
            "a partner token edits its own Partner document; add --partner",
        ),
        (
            ["--role", "auditor", "--alliance", "metro-home", "--partner", "fastnet"],
            "--partner is only for partner tokens",
        ),
    ],
)
def test_token_create_refuses_a_bad_scope(
    store: Store, database_url: str, args: list[str], message: str
) -> None:
    made = registry_command("token", "create", *args, database_url=database_url)
    assert (made.returncode, made.stdout, made.stderr) == (2, "", f"registry: {message}\n")
    assert store.tokens() == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--role", "auditor", "--alliance", "metro-hom"],
            "no alliance 'metro-hom' in the registry (did you mean 'metro-home'?); the "
            "alliances are metro-home (a manager token for an alliance still to be written: "
            "--new-alliance)",
        ),
        (
            ["--role", "partner", "--alliance", "metro-home", "--partner", "fastnt"],
            "no partner 'fastnt' in alliance 'metro-home' (did you mean 'fastnet'?); its "
            "partners are fastnet, metro",
        ),
        (
            ["--role", "auditor", "--alliance", "metro-home", "--new-alliance"],
            "--new-alliance is only for manager tokens",
        ),
    ],
)
def test_token_create_refuses_an_alliance_or_partner_not_in_the_registry(
    seeded: Store,
    database_url: str,
    args: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["token", "create", *args, "--database-url", database_url]) == 2
    assert capsys.readouterr() == ("", f"registry: {message}\n")
    assert seeded.tokens() == []


def test_a_manager_token_may_name_an_alliance_still_to_be_written(
    seeded: Store, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """docs/api.md: a manager token of that name creates the alliance by writing it."""
    argv = ["token", "create", "--role", "manager", "--alliance", "new-home"]
    assert main([*argv, "--database-url", database_url]) == 2
    capsys.readouterr()
    assert main([*argv, "--new-alliance", "--database-url", database_url]) == 0
    secret = capsys.readouterr().out.strip()
    assert seeded.principals()[digest(secret)].alliance == "new-home"


@pytest.mark.parametrize(
    "command",
    [["log", "verify"], ["token", "list"], ["token", "create", "--role", "admin"],
     ["token", "revoke", "1"], ["db", "current"]],
)  # fmt: skip
def test_commands_on_no_database_say_so_and_make_none(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: list[str],
) -> None:
    """The default database is ./registry.db: a command run in the wrong folder must not
    make an empty one there and report on it."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("REGISTRY_DATABASE_URL", raising=False)
    assert main(command) == 2
    assert capsys.readouterr() == (
        "",
        f"registry: no registry database at {tmp_path / 'registry.db'}; `registry db "
        "upgrade` (or `registry serve`) makes one there, or name another with "
        "--database-url or REGISTRY_DATABASE_URL\n",
    )
    assert list(tmp_path.iterdir()) == []
    elsewhere = f"sqlite:///{tmp_path}/elsewhere/registry.db"
    assert main([*command, "--database-url", elsewhere]) == 2
    assert "no registry database at " in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_log_verify_exit_codes(seeded: Store, database_url: str) -> None:
    intact = registry_command("log", "verify", database_url=database_url)
    assert (intact.returncode, intact.stdout) == (0, "metro-home: intact\ntoken log: intact\n")
    unknown = registry_command("log", "verify", "--alliance", "nowhere", database_url=database_url)
    assert (unknown.returncode, unknown.stderr) == (
        2, "registry: no alliance 'nowhere' in the database\n"
    )  # fmt: skip
    with seeded.engine.begin() as connection:
        connection.execute(text("UPDATE changes SET actor = 'someone else'"))
    tampered = registry_command("log", "verify", database_url=database_url)
    assert tampered.returncode == 1
    assert tampered.stdout == (
        "metro-home: 1 problem(s)\n"
        "  metro-home entry 1 (revision 1): its content does not match its hash\n"
        "token log: intact\n"
    )


@pytest.mark.slow
def test_serve_demo_prints_working_tokens_and_serves_the_examples(tmp_path: Path) -> None:
    """The README's main job: every printed token works, the three curl calls answer."""
    port = free_port()
    log = tmp_path / "demo.log"
    temporary = tmp_path / "tmp"  # where the demo makes its folder
    temporary.mkdir()
    with log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "registry", "serve", "--demo", "--port", str(port),
             "--log-level", "warning"],
            stdout=out, stderr=subprocess.STDOUT, cwd=tmp_path,
            env={**_environment(), "TMPDIR": str(temporary)},
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base, server, log)
        banner = log.read_text()
        tokens = dict(ROLE_LINE.findall(banner))
        assert sorted(tokens) == ["admin", "auditor", "manager", "partner", "resolver"]
        assert (
            "Alliances: co-branded-card, condominium, franchise, metro-home, roaming, triple-play"
            in banner
        )
        assert not (tmp_path / "registry.db").exists()  # the demo keeps out of ./registry.db
        (folder,) = temporary.iterdir()
        assert f"Demo registry in sqlite:///{folder}/registry.db" in banner

        def get(path: str, role: str) -> httpx.Response:
            return httpx.get(base + path, headers={"Authorization": f"Bearer {tokens[role]}"})

        # The README's three calls, run by the shell as a reader pastes them (the
        # admin's token in $TOKEN, from the repository's root), on this test's port.
        owner, audit, planned = (json.loads(call) for call in readme_calls(base, tokens["admin"]))
        assert (owner["status"], owner["owner"]) == (
            "owned", {"partner": "metro", "contract": "metro-care"}
        )  # fmt: skip
        assert (owner["query"], owner["face"]["partner"]) == (
            {"category": "refund", "region": "north", "channel": "web"}, "metro"
        )  # fmt: skip
        assert (audit["alliance"], audit["summary"]["error"]) == ("triple-play", 0)
        assert (planned["applied"], planned["revision"]) == (False, 1)
        assert {d["ref"] for d in planned["documents"]} == {
            "Contract/" + name for name in (
                "callwave-phone", "callwave-phone-north-legacy", "fastnet-internet",
                "fastnet-phone-north", "fieldforce-installation", "metro-care", "skyview-tv",
            )
        }  # fmt: skip
        # Every role's token works for what the role may do.
        owner = get(
            "/v1/alliances/triple-play/owner?category=refund&region=north&channel=web&at=2026-11-22",
            "resolver",
        ).json()
        assert (owner["status"], owner["owner"]) == (
            "owned", {"partner": "metro", "contract": "metro-care"}
        )  # fmt: skip
        audit = get("/v1/alliances/triple-play/audit?asOf=2026-11-22", "auditor").json()
        assert (audit["alliance"], audit["summary"]["error"]) == ("triple-play", 0)
        planned_by_manager = httpx.post(
            base + "/v1/alliances/triple-play/apply?dryRun=true",
            content=(REPO / "examples/triple-play/partners.yaml").read_bytes(),
            headers={"Authorization": f"Bearer {tokens['manager']}",
                     "Content-Type": "application/yaml"},
        )  # fmt: skip
        assert planned_by_manager.status_code == 200, planned_by_manager.text
        assert (planned_by_manager.json()["applied"], planned_by_manager.json()["revision"]) == (
            False, 1
        )  # fmt: skip
        assert [a["name"] for a in get("/v1/alliances", "partner").json()] == ["triple-play"]
        listed = get("/v1/alliances", "admin").json()
        assert [a["name"] for a in listed] == [
            "co-branded-card", "condominium", "franchise", "metro-home", "roaming", "triple-play"
        ]  # fmt: skip
        assert get("/v1/alliances/roaming/audit", "auditor").status_code == 404
    finally:
        server.terminate()
        server.wait(timeout=20)
    # Stopped, it leaves nothing behind, and ends as a terminated process does.
    assert server.returncode == -signal.SIGTERM
    assert list(temporary.iterdir()) == []


def readme_calls(base: str, token: str) -> list[str]:
    """Run each `curl` command of the README's set-up section with bash, from the
    repository's root, and return what each printed."""
    readme = (REPO / "README.md").read_text()
    calls = re.findall(r"^    (curl .*?[^\\])$", readme.replace("\\\n", " "), re.M)
    assert len(calls) == 3, calls
    printed = []
    for call in calls:
        done = subprocess.run(
            ["bash", "-c", call.replace("http://127.0.0.1:8765", base)],
            cwd=REPO, env={"TOKEN": token, "PATH": "/usr/bin:/bin"},
            capture_output=True, text=True, timeout=60, check=True,
        )  # fmt: skip
        printed.append(done.stdout)
    return printed


def _wait_healthy(base: str, server: subprocess.Popen[bytes], log: Path) -> None:
    """Poll /health; between polls wait on the process, which returns at once if it
    has exited (as tests/live.py does)."""
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        try:
            server.wait(timeout=0.05)
        except subprocess.TimeoutExpired:
            continue
        pytest.fail(f"registry serve --demo exited: {log.read_text()}")
    pytest.fail(f"registry serve --demo never became healthy: {log.read_text()}")
