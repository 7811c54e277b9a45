"""The `registry` command: option parsing only; the work is in the core."""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import msgspec

from registry import __version__, schema, synth, tickets
from registry.access import ROLES
from registry.bundle import Bundle, Policy, summary
from registry.errors import (
    Conflict,
    InvalidDocuments,
    InvalidQuery,
    InvalidRequest,
    LocatedError,
    NotFound,
    RegistryError,
    TicketRejected,
)
from registry.load import LoadResult, load
from registry.model import DAY_FORM, PolicySet, parse_day
from registry.plan import Plan, plan
from registry.report import RENDERERS, Audited, markdown, region_text
from registry.resolve import Answer, OwnerIndex
from registry.rules import SEVERITY_RANK, audit, expectation_failed

EXIT_OK, EXIT_FINDINGS, EXIT_INVALID = 0, 1, 2
# The reader of standard output went away (`registry audit ... | head`): the status a
# process killed by SIGPIPE has (128 + 13), as `cat` or `grep` give in that pipe, and
# apart from 1, which says findings.
EXIT_BROKEN_PIPE = 141
DESCRIPTION = """\
Contracts of service alliances: who owns every complaint. Check the documents
(validate), prove coverage (audit), ask who owns a complaint (owner, route), see
what a change does (plan), and serve them over HTTP (serve, token, log, db);
replay what it answered and verify evidence files offline (decisions, evidence).
"""
EPILOG = """\
Exit codes: 0 done; 1 findings (audit), errors added (plan), tampering (log
verify, evidence verify) or a decision that replays differently; 2 invalid input
or a refusal; 141 when the reader of standard output stops early (| head).
`registry COMMAND --help` gives a command's options.
"""


def main(argv: Sequence[str] | None = None) -> int:
    try:
        code = _run(argv)
        sys.stdout.flush()  # a reader gone since the last write is found here, not at exit
    except BrokenPipeError:
        _drop_stdout()
        return EXIT_BROKEN_PIPE
    return code


def _run(argv: Sequence[str] | None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return EXIT_INVALID
    try:
        code: int = args.run(args)
    except RegistryError as error:
        return refused(error, json_errors=args.run is _validate and args.format == "json")
    return code


def _drop_stdout() -> None:
    """Point standard output at /dev/null, so that the interpreter's flush at exit
    does not fail again on the closed pipe (the recipe of the `signal` module's docs)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no file descriptor behind it (a test's capture)
        pass


def refused(error: RegistryError, json_errors: bool = False) -> int:
    """The CLI's one mapping of a refusal: every error on standard error (or, for
    `validate --format json`, as JSON objects on standard output) and the exit code."""
    if isinstance(error, InvalidDocuments) and json_errors:
        sys.stdout.write(msgspec.json.encode([e.to_dict() for e in error.errors]).decode() + "\n")
        return EXIT_INVALID
    if isinstance(error, InvalidDocuments):
        lines = [str(e) for e in error.errors]
        lines.append(error_count(error))
    elif isinstance(error, InvalidQuery):
        lines = [
            f"registry: --where {e.path.removeprefix('$.')}: {e.message}" for e in error.errors
        ]
    elif isinstance(error, TicketRejected):
        lines = [str(e) for e in error.errors]
        lines.append(f"{len(error.errors)} error(s) in the ticket; not routed")
    else:
        lines = [f"registry: {error.message}"]
        lines += [f"  {e}" for e in error.errors]
    for line in lines:
        print(line, file=sys.stderr)
    return EXIT_FINDINGS if isinstance(error, Conflict) or _stale(error) else EXIT_INVALID


def _stale(error: RegistryError) -> bool:
    """The server refused a write on a conflict (409) or a stale revision (412): like
    findings, a reason to look again, not an invalid command (exit 1)."""
    client = sys.modules.get("registry.client.http")  # not loaded: no server was asked
    return (
        client is not None
        and isinstance(error, client.ClientError)
        and error.status
        in (
            409,
            412,
        )
    )


def error_count(error: InvalidDocuments) -> str:
    """`3 errors in 1 file; 4 files read`: the files named are those the errors are in
    (a path that could not be read among them), the files read every one loaded."""
    named = len({e.file for e in error.errors if e.file is not None})
    read = plural(error.files, "file") + " read" if error.files else "no file read"
    where = f" in {plural(named, 'file')}" if named else ""
    return f"{plural(len(error.errors), 'error')}{where}; {read}"


def plural(count: int, word: str) -> str:
    """`1 waiver`, `2 waivers`, `1,200 cells`."""
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="registry",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"alliance-registry {__version__}")
    sub = parser.add_subparsers(title="commands")

    validate = sub.add_parser(
        "validate", help="check documents; print every error or a summary per alliance"
    )
    validate.add_argument(
        "paths", nargs="+", metavar="PATH", help="files or folders; - for standard input"
    )
    validate.add_argument("--format", choices=["text", "json"], default="text")
    validate.set_defaults(run=_validate)

    audit_cmd = sub.add_parser(
        "audit", help="check coverage and every rule; exit 1 on findings at or above --fail-on"
    )
    audit_cmd.add_argument("paths", nargs="+", metavar="PATH")
    audit_cmd.add_argument("--alliance", help="audit one alliance of the paths")
    audit_cmd.add_argument("--as-of", type=_date, help="the day to audit (default: today, UTC)")
    audit_cmd.add_argument("--policy", type=Path, help="a PolicySet file used for every alliance")
    audit_cmd.add_argument("--fail-on", choices=["error", "warning", "info"], default="error")
    audit_cmd.add_argument("--format", choices=sorted(RENDERERS), default="text")
    audit_cmd.set_defaults(run=_audit)

    owner = sub.add_parser("owner", help="who owns a complaint, and how to hand it over")
    owner.add_argument("paths", nargs="+", metavar="PATH")
    owner.add_argument("--alliance", help="needed when the paths hold several alliances")
    owner.add_argument(
        "--where", action="append", default=[], metavar="DIM=NODE", type=_where,
        help="a node per dimension, e.g. --where category=refund --where region=north",
    )  # fmt: skip
    owner.add_argument("--at", type=_date, help="the day (default: today, UTC)")
    owner.add_argument("--format", choices=["text", "json"], default="text")
    owner.set_defaults(run=_owner)

    route = sub.add_parser(
        "route", help="route a TMF621 trouble ticket: owner, handoff, deadlines, enriched ticket"
    )
    route.add_argument("ticket", metavar="TICKET", help="a TroubleTicket as JSON; - for stdin")
    route.add_argument("paths", nargs="+", metavar="PATH")
    route.add_argument("--alliance", help="needed when the paths hold several alliances")
    route.add_argument("--format", choices=["text", "json"], default="text")
    route.set_defaults(run=_route)

    plan_cmd = sub.add_parser(
        "plan",
        help="findings added and removed, and owners moved, from OLD to NEW (or from the "
        "server's alliance to DIR with --server)",
    )
    plan_cmd.add_argument(
        "paths", nargs="*", metavar="OLD NEW | DIR",
        help="files or folders of the current and the proposed version; with --server, "
        "the folder of the proposed version only",
    )  # fmt: skip
    plan_cmd.add_argument("--alliance", help="plan one alliance of the paths")
    plan_cmd.add_argument("--as-of", type=_date, help="the day to compare (default: today, UTC)")
    plan_cmd.add_argument("--format", choices=["text", "json", "markdown"], default="text")
    _server_option(plan_cmd, required=False)
    plan_cmd.add_argument(
        "--prune", action="store_true",
        help="with --server: plan deleting the documents the server has and DIR does not",
    )  # fmt: skip
    plan_cmd.set_defaults(run=_plan)

    _repository_commands(sub)

    demo = sub.add_parser("demo", help="synthetic alliances for trials and benchmarks")
    demo_sub = demo.add_subparsers(title="demo commands")
    generate = demo_sub.add_parser("generate", help="write a deterministic synthetic alliance")
    generate.add_argument("--preset", choices=sorted(synth.PRESETS), default="small")
    generate.add_argument("--seed", type=int, default=1)
    generate.add_argument(
        "--out", type=Path, required=True, metavar="DIR", help="an empty or new folder"
    )
    generate.add_argument(
        "--force", action="store_true",
        help="replace the alliance generated in DIR before (DIR must hold nothing else)",
    )  # fmt: skip
    generate.add_argument(
        "--defects", type=int, default=0, metavar="K",
        help="plant K gaps and overlaps; the truth goes to defects.jsonl",
    )  # fmt: skip
    generate.set_defaults(run=_generate)

    _server_commands(sub)

    schemas = sub.add_parser("schema", help="write the JSON Schemas of every kind")
    schemas.add_argument("--out", type=Path, default=Path("schemas"))
    schemas.set_defaults(run=_schema)
    return parser


def _repository_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """apply, pull (registry/remote.py) and test: the contracts-repository loop."""
    apply_cmd = sub.add_parser(
        "apply", help="write DIR to the server's alliance in one transaction; print the plan"
    )
    apply_cmd.add_argument(
        "dir", nargs="?", metavar="DIR", help="the folder (or file) of the alliance"
    )
    apply_cmd.add_argument("--alliance", help="needed when DIR holds several alliances")
    _server_option(apply_cmd, required=True)
    apply_cmd.add_argument(
        "--prune", action="store_true",
        help="also delete the documents the server has and DIR does not",
    )  # fmt: skip
    apply_cmd.add_argument(
        "--force", action="store_true",
        help="write even though the change adds error findings (a manager token; logged)",
    )  # fmt: skip
    apply_cmd.add_argument(
        "--if-revision", type=int, metavar="N",
        help="only if the alliance is still at revision N (default: the revision planned on)",
    )  # fmt: skip
    apply_cmd.add_argument("--as-of", type=_date, help="the day to compare (default: today, UTC)")
    apply_cmd.add_argument("--format", choices=["text", "json"], default="text")
    apply_cmd.set_defaults(run=_remote("apply_command"))

    pull = sub.add_parser(
        "pull", help="write the server's documents of an alliance into DIR as YAML"
    )
    pull.add_argument(
        "dir", nargs="?", metavar="DIR", help="the folder to write (created if missing)"
    )
    pull.add_argument("--alliance", required=True)
    _server_option(pull, required=True)
    pull.set_defaults(run=_remote("pull_command"))

    test = sub.add_parser(
        "test", help="check only the promises of the Expectation documents; exit 1 if one breaks"
    )
    test.add_argument("paths", nargs="+", metavar="PATH")
    test.add_argument("--alliance", help="test one alliance of the paths")
    test.add_argument("--as-of", type=_date, help="the day to test (default: today, UTC)")
    test.add_argument("--format", choices=["text", "junit"], default="text")
    test.set_defaults(run=_test)


def _server_option(command: argparse.ArgumentParser, *, required: bool) -> None:
    """`--server URL`; without it REGISTRY_SERVER (required: one of the two)."""
    command.add_argument(
        "--server",
        nargs="?",
        const="",
        metavar="URL",
        help="the registry's URL (alone: REGISTRY_SERVER's); the token is REGISTRY_TOKEN"
        + ("" if required else ". Plans DIR against the server's current alliance"),
    )


def _server(name: str) -> Callable[[argparse.Namespace], int]:
    """A command of the server door, imported only when it runs: the database and
    HTTP libraries take longer to import than `registry audit` takes to run."""

    def run(args: argparse.Namespace) -> int:
        command: Callable[[argparse.Namespace], int] = getattr(
            importlib.import_module("registry.serve"), name
        )
        return command(args)

    return run


def _server_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = sub.add_parser("serve", help="serve the HTTP API (REGISTRY_* variables or flags)")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int, metavar="N")
    serve.add_argument("--database-url", metavar="URL", help="default: sqlite:///registry.db")
    serve.add_argument("--log-level", choices=["critical", "error", "warning", "info", "debug"])
    serve.add_argument(
        "--demo", action="store_true",
        help="a fresh SQLite registry with the example alliances and a token per role",
    )  # fmt: skip
    serve.set_defaults(run=_server("serve_command"))

    token = sub.add_parser("token", help="create, revoke and list API tokens")
    token_sub = token.add_subparsers(title="token commands")
    create = token_sub.add_parser("create", help="print a new token (shown once)")
    create.add_argument("--role", required=True, choices=ROLES)
    create.add_argument("--alliance", help="the alliance it belongs to (all roles but admin)")
    create.add_argument("--partner", help="the partner whose document it edits (partner role)")
    create.add_argument("--name", help="who holds it; the change log names them")
    create.add_argument(
        "--new-alliance", action="store_true",
        help="a manager token for an alliance not in the registry yet (the manager writes it)",
    )  # fmt: skip
    create.set_defaults(run=_server("token_create"))
    revoke = token_sub.add_parser("revoke", help="revoke a token by its id")
    revoke.add_argument("id", type=int)
    revoke.set_defaults(run=_server("token_revoke"))
    listing = token_sub.add_parser("list", help="every token: id, role, scope, state")
    listing.set_defaults(run=_server("token_list"))

    key = sub.add_parser("key", help="the key that signs checkpoints of the change logs")
    key_sub = key.add_subparsers(title="key commands")
    generate = key_sub.add_parser(
        "generate", help="write a new Ed25519 signing key (PEM, mode 0600); print its public key"
    )
    generate.add_argument("--out", required=True, type=Path, metavar="FILE")
    generate.set_defaults(run=_server("key_generate"))

    log = sub.add_parser("log", help="the change logs: check them, print their checkpoints")
    log_sub = log.add_subparsers(title="log commands")
    verify = log_sub.add_parser(
        "verify", help="check the hash chains; exit 1 on tampering, 2 on no such alliance"
    )
    chains = verify.add_mutually_exclusive_group()
    chains.add_argument("--alliance")
    chains.add_argument(
        "--checkpoint", action="append", metavar="FILE",
        help="prove the chain this saved checkpoint names was not rewritten (repeatable)",
    )  # fmt: skip
    verify.add_argument(
        "--public-key", metavar="KEY",
        help="the verifier key `registry key generate` printed, or a file holding it",
    )  # fmt: skip
    verify.set_defaults(run=_server("log_verify"))
    checkpoint = log_sub.add_parser(
        "checkpoint",
        help="print the signed checkpoint of an alliance's change log (of the token log "
        "without --alliance), to keep outside the database",
    )
    checkpoint.add_argument("--alliance")
    checkpoint.set_defaults(run=_server("log_checkpoint"))
    for command in (create, revoke, listing, verify, checkpoint):
        command.add_argument("--database-url", metavar="URL", help="default: REGISTRY_DATABASE_URL")

    _record_commands(sub)

    db = sub.add_parser("db", help="the database's schema: upgrade it, show its revision")
    db_sub = db.add_subparsers(title="db commands")
    upgrading = db_sub.add_parser(
        "upgrade", help="create or upgrade the schema; print the revisions from and to"
    )
    upgrading.set_defaults(run=_server("db_upgrade"))
    showing = db_sub.add_parser("current", help="print the schema revision; change nothing")
    showing.set_defaults(run=_server("db_current"))
    for command in (upgrading, showing):
        command.add_argument("--database-url", metavar="URL", help="default: REGISTRY_DATABASE_URL")


def _record_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The accountability record: replaying decisions, verifying evidence files."""
    decisions = sub.add_parser("decisions", help="the decision log: every answer recorded")
    decisions_sub = decisions.add_subparsers(title="decisions commands")
    replay = decisions_sub.add_parser(
        "replay",
        help="answer a recorded decision again at its revision and day; exit 1 if it differs",
    )
    replay.add_argument("id", help="the decision id (an answer's decisionId)")
    replay.add_argument("--database-url", metavar="URL", help="default: REGISTRY_DATABASE_URL")
    replay.set_defaults(run=_server("decisions_replay"))

    evidence = sub.add_parser("evidence", help="evidence files: verify one offline")
    evidence_sub = evidence.add_subparsers(title="evidence commands")
    checking = evidence_sub.add_parser(
        "verify",
        help="check an evidence file with the server's public key, no server needed; exit 1 "
        "naming what failed",
    )
    checking.add_argument("file", metavar="FILE")
    checking.add_argument(
        "--public-key", required=True, metavar="KEY",
        help="the verifier key `registry key generate` printed, or a file holding it",
    )  # fmt: skip
    checking.set_defaults(run=_server("evidence_verify"))


def _validate(args: argparse.Namespace) -> int:
    result = checked(load(args.paths))
    rows = [summary(b) for b in result.bundles.values()]
    if args.format == "json":  # the same list as the text: one summary per alliance
        sys.stdout.write(msgspec.json.encode(rows).decode() + "\n")
        return EXIT_OK
    for row in rows:
        counts = ", ".join(
            plural(row[key], word)
            for key, word in (
                ("partners", "partner"),
                ("contracts", "contract"),
                ("waivers", "waiver"),
                ("cells", "cell"),
            )
        )
        print(f"{row['alliance']}: valid; {counts}")
    return EXIT_OK


def _schema(args: argparse.Namespace) -> int:
    for path in schema.write(args.out):
        print(path)
    return EXIT_OK


def _date(text: str) -> dt.date:
    day = parse_day(text)
    if day is None:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date {DAY_FORM}")
    return day


def _where(text: str) -> tuple[str, str]:
    dim, sep, node = text.partition("=")
    if not sep or not dim or not node:
        raise argparse.ArgumentTypeError(f"'{text}' is not DIM=NODE, e.g. category=refund")
    return dim, node


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def checked(result: LoadResult) -> LoadResult:
    """The load, once it has no error (else refused with every error)."""
    if not result.ok:
        raise InvalidDocuments("the documents do not load", result.errors, result.files)
    return result


def _bundles(paths: Sequence[str], alliance: str | None) -> list[Bundle]:
    """The valid bundles of the paths (one with --alliance)."""
    result = checked(load(paths))
    if alliance is not None:
        if alliance not in result.bundles:
            known = ", ".join(sorted(result.bundles)) or "none"
            raise NotFound(f"no alliance '{alliance}' in the paths; found: {known}")
        return [result.bundles[alliance]]
    if not result.bundles:
        raise NotFound("the paths hold no Alliance document")
    return [result.bundles[name] for name in sorted(result.bundles)]


def _audit(args: argparse.Namespace) -> int:
    bundles = _bundles(args.paths, args.alliance)
    if args.policy is not None:
        policy = _policy(args.policy)
        for bundle in bundles:
            bundle.policy = policy
    as_of = args.as_of or _today()
    audits = [Audited(audit(b, as_of), b.origins, b) for b in bundles]
    text = RENDERERS[args.format](audits, args.fail_on)
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    threshold = SEVERITY_RANK[args.fail_on]
    failed = any(a.report.worst() >= threshold for a in audits)
    return EXIT_FINDINGS if failed else EXIT_OK


def _policy(path: Path) -> Policy:
    result = checked(load([str(path)]))
    sets = [d for d in result.checked if isinstance(d, PolicySet)]
    if len(sets) != 1:
        raise InvalidDocuments(
            f"{path} must hold exactly one PolicySet",
            [LocatedError("$", "must hold exactly one PolicySet", str(path), 1, 1)],
            result.files,
        )
    return Policy.from_set(sets[0])


def _owner(args: argparse.Namespace) -> int:
    bundle = _one_bundle(args.paths, args.alliance)
    answer = OwnerIndex(bundle).owner(dict(args.where), args.at or _today())
    if args.format == "json":
        print(msgspec.json.format(msgspec.json.encode(answer).decode(), indent=2))
    else:
        print(owner_text(answer))
    return EXIT_OK


def _route(args: argparse.Namespace) -> int:
    bundle = _one_bundle(args.paths, args.alliance)
    source = "<stdin>" if args.ticket == "-" else args.ticket
    try:
        raw = sys.stdin.buffer.read() if args.ticket == "-" else Path(args.ticket).read_bytes()
        ticket = msgspec.json.decode(raw)
    except (OSError, msgspec.DecodeError) as error:
        raise InvalidRequest(f"{source}: cannot read the ticket: {error}") from None
    try:
        routing = tickets.route(ticket, OwnerIndex(bundle), dt.datetime.now(dt.UTC))
    except TicketRejected as error:  # said of the ticket's file, as documents are
        located = [replace(e, file=source) for e in error.errors]
        raise TicketRejected(error.message, located) from None
    if args.format == "json":
        print(msgspec.json.format(msgspec.json.encode(routing).decode(), indent=2))
    else:
        print(tickets.text(routing))
    return EXIT_OK


def _one_bundle(paths: Sequence[str], alliance: str | None) -> Bundle:
    bundles = _bundles(paths, alliance)
    if len(bundles) > 1:
        names = ", ".join(b.name for b in bundles)
        raise InvalidRequest(
            f"the paths hold several alliances ({names}); name one with --alliance"
        )
    return bundles[0]


def owner_text(answer: Answer) -> str:
    asked = ", ".join(f"{k}={v}" for k, v in answer.query.items()) or "every cell"
    if answer.owner is not None:
        head = f"owned by {answer.owner.partner} (contract {answer.owner.contract})"
    else:
        head = f"{answer.status}; candidates: {', '.join(answer.candidates) or 'none'}"
    lines = [f"{answer.alliance}: {asked} on {answer.at}: {head}"]
    lines.append(f"  face: {answer.face.partner if answer.face else 'none'}")
    if answer.handoff is not None:
        h = answer.handoff
        times = ", ".join(
            f"{name} {value}"
            for name, value in (
                ("acknowledge", h.acknowledge_within),
                ("resolve", h.resolve_within),
            )
            if value
        )
        lines.append(f"  handoff: {h.endpoint.name} ({h.endpoint.type} {h.endpoint.address}), "
                     f"mode {h.mode}" + (f", {times}" if times else ""))  # fmt: skip
        if h.requires:
            lines.append(f"  requires: {', '.join(h.requires)}")
    if answer.consulted:
        teams = ", ".join(
            c.partner + (f" within {c.respond_within}" if c.respond_within else "")
            for c in answer.consulted
        )
        lines.append(f"  consulted: {teams}")
    for level in answer.escalation:
        who = " ".join(f"{k} {v}" for k, v in level.to.items())
        lines.append(f"  escalate after {level.after}: {who}")
    return "\n".join(lines)


def _remote(name: str) -> Callable[[argparse.Namespace], int]:
    """A repository command (registry/remote.py), imported only when it runs: the
    HTTP client takes longer to import than `registry audit` takes to run."""

    def run(args: argparse.Namespace) -> int:
        command: Callable[[argparse.Namespace], int] = getattr(
            importlib.import_module("registry.remote"), name
        )
        return command(args)

    return run


def _plan(args: argparse.Namespace) -> int:
    if args.server is not None:
        return _remote("plan_command")(args)
    if args.prune:
        raise InvalidRequest("--prune plans against a server; add --server")
    if len(args.paths) != 2:
        raise InvalidRequest(
            "plan takes OLD and NEW (two paths), or DIR with --server; "
            f"got {plural(len(args.paths), 'path')}"
        )
    old = _bundles([args.paths[0]], args.alliance)
    new = _bundles([args.paths[1]], args.alliance)
    olds = {b.name: b for b in old}
    as_of = args.as_of or _today()
    plans = [plan(olds[b.name], b, as_of) for b in new if b.name in olds]
    if not plans:
        raise InvalidRequest("OLD and NEW share no alliance")
    if args.format == "json":
        print(msgspec.json.format(msgspec.json.encode(plans).decode(), indent=2))
    elif args.format == "markdown":
        print(markdown.plans(plans), end="")
    else:
        print("\n".join(plan_text(p) for p in plans))
    return EXIT_FINDINGS if any(p.adds_errors() for p in plans) else EXIT_OK


def plan_text(p: Plan) -> str:
    lines = [f"{p.alliance} as of {p.as_of}: {len(p.added)} finding(s) added, "
             f"{len(p.removed)} removed"]  # fmt: skip
    for sign, findings in (("+", p.added), ("-", p.removed)):
        for f in findings:
            where = region_text(f)
            lines.append(f"  {sign} {f.rule} ({f.severity}): {f.message}"
                         + (f" [{where}]" if where else ""))  # fmt: skip
    if p.moves is None:
        lines.append("  owners: not compared, the dimension trees differ")
    else:
        cells = sum(m.cells for m in p.moves)
        lines.append(f"  owners: {cells:,} cell(s) in {len(p.moves)} box(es) change owner")
        for m in p.moves:
            where = " ".join(f"{d}={','.join(n)}" for d, n in m.region.items()) or "every cell"
            before, after = ", ".join(m.before) or "nobody", ", ".join(m.after) or "nobody"
            lines.append(f"    {where}: {before} -> {after} ({m.cells:,} cells)")
    return "\n".join(lines)


def _test(args: argparse.Namespace) -> int:
    """Only the promises: each kept or broken, on the day it is asked of."""
    as_of = args.as_of or _today()
    bundles = _bundles(args.paths, args.alliance)
    runs = [(b, list(expectation_failed.tested(b, as_of))) for b in bundles]
    if not any(kept for _, kept in runs):
        raise InvalidRequest("the paths hold no Expectation document; nothing to test")
    if args.format == "junit":
        sys.stdout.write(tests_junit(runs, as_of))
    else:
        for bundle, kept in runs:
            broken = sum(bool(k.broken) for k in kept)
            print(f"{bundle.name} as of {as_of}: {plural(len(kept), 'promise')}, "
                  f"{len(kept) - broken} kept, {broken} broken")  # fmt: skip
            for k in kept:
                name = f"{k.expectation.name}/{k.promise.name}"
                if k.broken:
                    print(f"  ✗ {name}: " + "; ".join(k.broken))
                else:
                    print(f"  ✓ {name}")
    failed = any(k.broken for _, kept in runs for k in kept)
    return EXIT_FINDINGS if failed else EXIT_OK


def tests_junit(
    runs: Sequence[tuple[Bundle, Sequence[expectation_failed.Kept]]], as_of: dt.date
) -> str:
    """One test suite per alliance, one test case per promise (its Expectation the class)."""
    from junitparser import Failure, JUnitXml, TestCase, TestSuite  # noqa: PLC0415

    xml = JUnitXml("registry test")
    for bundle, kept in runs:
        suite = TestSuite(f"{bundle.name} as of {as_of}")
        for k in kept:
            case = TestCase(k.promise.name, classname=f"{bundle.name}.{k.expectation.name}")
            if k.broken:
                failure = Failure("; ".join(k.broken), "expectation-failed")
                failure.text = expectation_failed.message(k.promise, k.day, k.broken)
                case.result = [failure]
            suite.add_testcase(case)
        xml.add_testsuite(suite)
    xml.update_statistics()  # type: ignore[no-untyped-call]
    text: bytes = xml.tostring()  # type: ignore[no-untyped-call]
    return text.decode() + "\n"


def _generate(args: argparse.Namespace) -> int:
    if args.defects < 0:
        print(f"registry: --defects {args.defects}: give a count of 0 or more", file=sys.stderr)
        return EXIT_INVALID
    _check_out(args.out, args.force)
    try:
        written = synth.write(args.out, args.preset, args.seed, args.defects, replace=args.force)
    except ValueError as error:  # more defects than the preset has room for
        print(f"registry: --defects {args.defects}: {args.preset} has {error}", file=sys.stderr)
        return EXIT_INVALID
    print(f"wrote {len(written)} file(s) to {args.out}")
    return EXIT_OK


def _check_out(out: Path, force: bool) -> None:
    """A new alliance goes into an empty folder: files of another would mix with its
    own. `--force` replaces one `demo generate` wrote, and never removes anything else."""
    if out.exists() and not out.is_dir():
        raise InvalidRequest(f"--out {out} is a file; name a folder")
    if not out.is_dir() or not any(out.iterdir()):
        return
    if not force:
        raise InvalidRequest(
            f"--out {out} is not empty, and its files would mix with the new alliance's; "
            "name an empty or new folder, or add --force to replace an alliance generated there"
        )
    others = synth.foreign(out)
    if others:
        shown = ", ".join(str(p.relative_to(out)) for p in others[:3])
        more = f" and {len(others) - 3} more" if len(others) > 3 else ""
        raise InvalidRequest(
            f"--out {out} holds what demo generate does not write ({shown}{more}); --force "
            "replaces only a generated alliance, so name an empty or new folder"
        )
