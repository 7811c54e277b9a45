"""The server door's commands: `registry serve` (and its demo registry), `registry
token`, `registry key generate`, `registry log verify` and `log checkpoint`, and
`registry db`. Imported only when one of them runs."""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import shutil
import signal
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import msgspec
import uvicorn
import uvicorn.config

from registry.access import Role
from registry.checkpoint import Checkpoint, CheckpointError, Signer, Verifier
from registry.errors import InvalidRequest, NotFound
from registry.service import TOKEN_LOG, Proof, Registry, logs, metrics, verify_evidence
from registry.service.database import Upgrade, current, head, missing_file, upgrade
from registry.settings import Settings, SettingsError

# uvicorn kills a worker that does not answer its supervisor's ping in time, and with
# it every request in flight. Its default (5 s) killed busy but healthy workers on a
# loaded 2-core machine (tests/test_live_server.py); a hung worker still goes.
WORKER_HEALTHCHECK_SECONDS = 30
# Open files a worker needs besides its connections: database, logs, libraries.
FILES_BESIDES_CONNECTIONS = 64

DEMO_ALLIANCE = "triple-play"
DEMO_PARTNER = "fastnet"


def examples_dir() -> Path:
    """The seed alliances: beside the package in a checkout, inside it in a wheel."""
    here = Path(__file__).resolve().parent
    for candidate in (here.parent / "examples", here / "examples"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("the example alliances are not installed with this registry")


def demo(settings: Settings, folder: Path | None) -> tuple[Settings, str]:
    """A fresh registry with the example alliances and a token per role, in
    `folder` unless the settings name a database; returns the settings to serve it
    with and the text to show the user."""
    url = settings.database_url
    if folder is not None:
        url = f"sqlite:///{folder}/registry.db"
    settings = msgspec.structs.replace(settings, database_url=url)
    scopes: list[tuple[Role, str | None, str | None]] = [
        ("admin", None, None),
        ("manager", DEMO_ALLIANCE, None),
        ("auditor", DEMO_ALLIANCE, None),
        ("resolver", DEMO_ALLIANCE, None),
        ("partner", DEMO_ALLIANCE, DEMO_PARTNER),
    ]
    with Registry.open(url, settings.signer()) as registry:
        alliances = registry.seed([examples_dir()], "demo seed")
        tokens = {
            role: registry.create_token(role, a, p, f"demo {role}")[1] for role, a, p in scopes
        }
    return settings, _banner(settings, alliances, tokens)


def _banner(settings: Settings, alliances: dict[str, int], tokens: dict[Role, str]) -> str:
    base = f"http://{settings.host}:{settings.port}"
    a = DEMO_ALLIANCE
    lines = [
        f"Demo registry in {settings.database_url}",
        f"Alliances: {', '.join(alliances)}",
        "",
        "Tokens (shown once):",
        *(f"  {role:<9} {token}" for role, token in tokens.items()),
        "",
        f"Try (the manager, auditor, resolver and partner tokens are for {a}):",
        f"  export TOKEN={tokens['admin']}",
        f'  curl -H "Authorization: Bearer $TOKEN" '
        f'"{base}/v1/alliances/{a}/owner?category=refund&region=north&channel=web"',
        f'  curl -H "Authorization: Bearer $TOKEN" "{base}/v1/alliances/{a}/audit"',
        f'  curl -X POST -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/yaml" '
        f'--data-binary @examples/{a}/contracts.yaml "{base}/v1/alliances/{a}/apply?dryRun=true"',
        "",
        f"Auditor's page: {base}/ui/ (sign in with the auditor token)",
        f"API description: {base}/schema   health: {base}/health",
    ]
    return "\n".join(lines)


def run(settings: Settings) -> None:
    """Serve until interrupted. Workers are separate processes that build the app
    from REGISTRY_* variables, so they get these settings through the environment."""
    settings.signer()  # a key that cannot be used is said here once, not by every worker
    os.environ.update(settings.to_env())
    open_files(settings.max_connections + FILES_BESIDES_CONNECTIONS)
    upgraded = upgrade(settings.database_url)  # create or upgrade the schema once, up front
    if upgraded.before != upgraded.after:
        print(f"registry: {_upgraded(upgraded)}", file=sys.stderr, flush=True)
    # Several workers: each writes its metrics where the one answering a scrape adds
    # them all up (prometheus-client's multiprocess mode, registry/service/metrics.py).
    if settings.workers > 1:
        metrics.prepare_multiprocess()
    elif os.environ.get(metrics.MULTIPROC_ENV):
        metrics.prepare_multiprocess()  # the operator's folder: emptied of an earlier run
    try:
        uvicorn.run(
            "registry.server:app_from_env",
            factory=True,
            host=settings.host,
            port=settings.port,
            workers=settings.workers,
            log_level=settings.log_level,
            log_config=logs.uvicorn_config(settings.log_format, settings.log_level)
            or uvicorn.config.LOGGING_CONFIG,
            # JSON: the edge's lines, with ids. Above info no access line is printed:
            # uvicorn would still format one per request (some microseconds each).
            access_log=settings.log_format != "json"
            and settings.log_level.lower() in ("trace", "debug", "info"),
            timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
            # On SIGTERM or SIGINT: no new connections, the requests in flight finish
            # (for this long at most), then the app's shutdown stops background work.
            timeout_graceful_shutdown=settings.shutdown_timeout,
            # httptools with header limits, header timeouts and a connection limit.
            http="registry.connections:GuardedHttp",
            timeout_keep_alive=settings.keep_alive_timeout,
        )
    finally:
        metrics.finish_multiprocess()


def open_files(needed: int) -> None:
    """Raise this process's soft limit on open files (which its workers inherit) to
    `needed`, as far as the hard limit allows, so each worker can hold
    REGISTRY_MAX_CONNECTIONS connections."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return
    if hard != resource.RLIM_INFINITY and hard < needed:
        raise SettingsError(
            f"REGISTRY_MAX_CONNECTIONS: {needed - FILES_BESIDES_CONNECTIONS} connections "
            f"need {needed} open files and this process may open {hard} (ulimit -Hn); "
            "lower it or raise the limit"
        )
    resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


def _settings(args: argparse.Namespace) -> Settings:
    return Settings.from_env(
        database_url=getattr(args, "database_url", None),
        host=getattr(args, "host", None),
        port=getattr(args, "port", None),
        workers=getattr(args, "workers", None),
        log_level=getattr(args, "log_level", None),
    )


def _registry(args: argparse.Namespace, signing: bool = True) -> Registry:
    """The registry the settings name; `signing`: with the signing key they name, so
    the token log's entries get their checkpoints (verifying needs no private key)."""
    settings = _settings(args)
    url = _existing(settings.database_url)
    return Registry.open(url, settings.signer() if signing else None)


def _existing(url: str) -> str:
    """The URL, once it names a database that is there: the commands that read or
    administer a registry never make an empty one (only `serve` and `db upgrade` do)."""
    path = missing_file(url)
    if path is not None:
        raise NotFound(
            f"no registry database at {path.absolute()}; `registry db upgrade` (or "
            "`registry serve`) makes one there, or name another with --database-url or "
            "REGISTRY_DATABASE_URL"
        )
    return url


def serve_command(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if not args.demo:
        run(settings)
        return 0
    # The demo's own database goes into a temporary folder, removed when it stops.
    named = "REGISTRY_DATABASE_URL" in os.environ or args.database_url is not None
    if named:
        settings, banner = demo(settings, None)
        print(banner, flush=True)
        run(settings)
        return 0
    folder = Path(tempfile.mkdtemp(prefix="registry-demo-"))
    with _removed_when_stopped(folder):
        settings, banner = demo(settings, folder)
        print(banner, flush=True)
        run(settings)
    return 0


class _Stopped(Exception):
    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _stop(signum: int, _frame: FrameType | None) -> None:
    raise _Stopped(signum)


@contextlib.contextmanager
def _removed_when_stopped(folder: Path) -> Iterator[None]:
    """Remove `folder` however the server stops. On SIGINT or SIGTERM uvicorn shuts
    down, puts back the handlers it found and raises the signal again, which would
    end the process before any `finally`: the handlers put here turn it into an
    exception, and once the folder is gone the signal is raised once more with its
    default action, so the process ends as it would have (status 130 or 143)."""
    stopping = (signal.SIGINT, signal.SIGTERM)
    previous = {signum: signal.signal(signum, _stop) for signum in stopping}
    stopped = None
    try:
        yield
    except _Stopped as caught:
        stopped = caught.signum
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        shutil.rmtree(folder, ignore_errors=True)
    if stopped is not None:
        signal.signal(stopped, signal.SIG_DFL)
        signal.raise_signal(stopped)


def token_create(args: argparse.Namespace) -> int:
    with _registry(args) as registry:
        token_id, secret = registry.create_token(
            args.role, args.alliance, args.partner, args.name, new_alliance=args.new_alliance
        )
    print(f"token {token_id} ({args.role}); it is shown only now:", file=sys.stderr)
    print(secret)
    return 0


def token_revoke(args: argparse.Namespace) -> int:
    with _registry(args) as registry:
        registry.revoke_token(args.id)
    print(f"token {args.id} revoked")
    return 0


def token_list(args: argparse.Namespace) -> int:
    with _registry(args) as registry:
        rows = registry.tokens()
    for row in rows:
        scope = "/".join(x for x in (row.alliance, row.partner) if x) or "every alliance"
        state = f"revoked {row.revoked}" if row.revoked else "in force"
        print(f"{row.id}\t{row.role}\t{scope}\t{row.name or ''}\t{row.created}\t{state}")
    return 0


def key_generate(args: argparse.Namespace) -> int:
    signer = Signer.generate()
    try:
        # Created 0600 or not at all: a key is never overwritten, nor readable by others.
        descriptor = os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise InvalidRequest(
            f"{args.out} exists; a signing key is never overwritten (choose another --out)"
        ) from None
    except OSError as exc:
        raise InvalidRequest(f"cannot write {args.out}: {exc.strerror}") from None
    with os.fdopen(descriptor, "wb") as out:
        out.write(signer.pem())
    print(
        f"signing key written to {args.out} (mode 0600); serve with "
        f"REGISTRY_SIGNING_KEY_FILE={args.out}. Its public key, to verify checkpoints with:",
        file=sys.stderr,
    )
    print(signer.verifier_key)
    return 0


def log_verify(args: argparse.Namespace) -> int:
    if (args.checkpoint is None) != (args.public_key is None):
        raise InvalidRequest("--checkpoint and --public-key go together")
    if args.checkpoint is not None:
        return _prove(args)
    with _registry(args, signing=False) as registry:
        found = registry.verify(args.alliance)
        tokens = registry.verify_tokens() if args.alliance is None else None
    if args.alliance is not None and args.alliance not in found:
        raise NotFound(f"no alliance '{args.alliance}' in the database")
    if tokens is not None:
        found = {**found, TOKEN_LOG: tokens}
    for alliance, problems in found.items():
        print(f"{alliance}: {'intact' if not problems else f'{len(problems)} problem(s)'}")
        for problem in problems:
            print(f"  {problem}")
    return 1 if any(found.values()) else 0


def _prove(args: argparse.Namespace) -> int:
    """Each checkpoint file's chain held to it: 0 when every one is the history signed,
    1 when one was rewritten; 2 (a refusal) for a checkpoint the key did not sign."""
    key = Path(args.public_key)
    verifier = Verifier.parse(_read(key) if key.is_file() else args.public_key)
    anchors: list[Checkpoint] = []
    for path in args.checkpoint:
        try:
            anchors.append(verifier.open(_read(Path(path))))
        except CheckpointError as exc:
            raise CheckpointError(f"{path}: {exc.message}") from None
    proofs: list[Proof] = []
    with _registry(args, signing=False) as registry:
        for path, anchor in zip(args.checkpoint, anchors, strict=True):
            try:
                proofs += registry.prove([anchor], verifier)
            except CheckpointError as exc:
                raise CheckpointError(f"{path}: {exc.message}") from None
    for proof in proofs:
        if proof.problems:
            print(f"{proof.label}: {len(proof.problems)} problem(s)")
            for problem in proof.problems:
                print(f"  {problem}")
            continue
        after = ""
        if proof.revision == proof.size + 1:
            after = f"; revision {proof.revision} signed since"
        elif proof.revision > proof.size:
            after = f"; revisions {proof.size + 1} to {proof.revision} signed since"
        print(f"{proof.label}: intact to revision {proof.size} as checkpointed{after}")
    return 1 if any(proof.problems for proof in proofs) else 0


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise InvalidRequest(f"cannot read {path}: {reason}") from None


def log_checkpoint(args: argparse.Namespace) -> int:
    with _registry(args) as registry:
        note = registry.checkpoint(args.alliance)
    sys.stdout.write(note)
    return 0


def decisions_replay(args: argparse.Namespace) -> int:
    """Answer a recorded decision again at its revision and day: exit 0 on a match,
    1 naming each difference."""
    with _registry(args, signing=False) as registry:
        replay = registry.replay_recorded(args.id)
    print(
        f"decision {replay.decision_id} of '{replay.alliance}' (revision {replay.revision}, "
        f"day {replay.day}): {replay.result}"
    )
    for difference in replay.differences:
        print(
            f"  {difference.field}: recorded {difference.recorded}, replayed {difference.replayed}"
        )
    return 0 if replay.result == "match" else 1


def evidence_verify(args: argparse.Namespace) -> int:
    """Check an evidence file offline with the server's public key: exit 0 when every
    check passes, 1 naming each that failed."""
    key = Path(args.public_key)
    verifier = Verifier.parse(_read(key) if key.is_file() else args.public_key)
    try:
        data = Path(args.file).read_bytes()
    except OSError as exc:
        raise InvalidRequest(f"cannot read {args.file}: {exc.strerror}") from None
    verified = verify_evidence(data, verifier)
    what = f"evidence of '{verified.alliance}' at revision {verified.revision}"
    if verified.problems:
        print(f"{what}: {len(verified.problems)} problem(s)")
        for problem in verified.problems:
            print(f"  {problem}")
        return 1
    print(
        f"{what}: verified: the checkpoint signed by {verifier.label}, {verified.changes} "
        f"change-log entries, {verified.documents} documents as the log commits to them, "
        f"the audit as of {verified.as_of} recomputed, {verified.decisions} decision(s) "
        "replayed to match"
    )
    return 0


def db_upgrade(args: argparse.Namespace) -> int:
    upgraded = upgrade(_settings(args).database_url)
    print(_upgraded(upgraded))
    return 0


def db_current(args: argparse.Namespace) -> int:
    found, made_before_migrations = current(_existing(_settings(args).database_url))
    if found == head():
        print(f"revision {found}, the newest")
    elif found is not None:
        print(f"revision {found}; registry db upgrade brings it to {head()}")
    elif made_before_migrations:
        print(f"none: made before migrations; registry db upgrade brings it to {head()}")
    else:
        print(f"none: an empty database; registry db upgrade makes it at revision {head()}")
    return 0


def _upgraded(upgraded: Upgrade) -> str:
    if upgraded.before is None:
        return f"made a new database at revision {upgraded.after}"
    if upgraded.before == upgraded.after:
        return f"the database is at revision {upgraded.after} already; nothing to do"
    before = f"revision {upgraded.before}" + (
        " (adopted: made before migrations)" if upgraded.adopted else ""
    )
    return f"upgraded the database from {before} to revision {upgraded.after}"
