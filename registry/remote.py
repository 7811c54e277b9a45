"""The command line's repository commands, which talk to a registry server through
`registry.client`: pull, plan --server and apply --server.

A contracts folder (DIR) holds one alliance. `plan` sends its documents to the
server's dry run and prints what applying them would change: documents created,
changed and deleted, findings added and removed, owners moved. `apply` sends the
same with If-Match on the revision the plan was made on, so it lands only on the
alliance the plan was about, and prints the plan it applied (or, refused, the plan
that was refused). Documents on the server that DIR lacks are deleted only with
--prune.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import msgspec

from registry import folder
from registry.cli import (
    EXIT_FINDINGS,
    EXIT_OK,
    checked,
    plan_text,
    plural,
)
from registry.client import Client, ClientError, Outcome
from registry.errors import InvalidRequest, NotFound
from registry.load import load
from registry.report import markdown


@dataclass
class Proposal:
    """What DIR asks of the server's alliance."""

    alliance: str
    documents: list[object]  # JSON-ready, as sent
    refs: set[str]
    revision: int  # the server's alliance revision read (0: not on the server)
    server_refs: set[str]
    prune: bool

    @property
    def deletes(self) -> list[str]:
        return sorted(self.server_refs - self.refs) if self.prune else []

    @property
    def kept(self) -> list[str]:
        """On the server, not in DIR, and not deleted (no --prune)."""
        return [] if self.prune else sorted(self.server_refs - self.refs)


def _client(args: argparse.Namespace) -> Client:
    return Client.from_env(server=args.server or None)


def _split_server(args: argparse.Namespace, positional: str) -> None:
    """`--server DIR`: a bare --server takes REGISTRY_SERVER, and what argparse gave
    it that is no URL is the path that followed."""
    value = args.server
    if value and "://" not in value:
        args.server = ""
        current = getattr(args, positional)
        if isinstance(current, list):
            current.insert(0, value)
        elif current is None:
            setattr(args, positional, value)
        else:
            raise InvalidRequest(f"--server {value}: give an http:// or https:// URL")


def _one_path(args: argparse.Namespace, attr: str, command: str) -> str:
    value = getattr(args, attr)
    paths = value if isinstance(value, list) else [value] if value else []
    if len(paths) != 1:
        raise InvalidRequest(
            f"{command} takes one DIR (the alliance's folder); got {plural(len(paths), 'path')}"
        )
    return str(paths[0])


def _propose(client: Client, path: str, alliance: str | None, prune: bool) -> Proposal:
    result = checked(load([path]))
    if alliance is None:
        if len(result.bundles) != 1:
            names = ", ".join(sorted(result.bundles)) or "none"
            raise InvalidRequest(f"{path} holds {len(result.bundles)} alliances ({names}); "
                                 "name one with --alliance")  # fmt: skip
        alliance = next(iter(result.bundles))
    elif alliance not in result.bundles:
        known = ", ".join(sorted(result.bundles)) or "none"
        raise NotFound(f"no alliance '{alliance}' in {path}; found: {known}")
    documents = folder.alliance_documents(result, alliance)
    try:
        stored = client.documents(alliance)
        revision, server_refs = stored.revision, {f"{d.kind}/{d.name}" for d in stored.documents}
    except ClientError as error:
        if error.status != 404:
            raise
        revision, server_refs = 0, set()  # a new alliance: the apply creates it
    return Proposal(
        alliance,
        folder.sendable(documents),
        {d.ref for d in documents},
        revision,
        server_refs,
        prune,
    )


def plan_command(args: argparse.Namespace) -> int:
    _split_server(args, "paths")
    path = _one_path(args, "paths", "plan --server")
    with _client(args) as client:
        proposal = _propose(client, path, args.alliance, args.prune)
        outcome = client.apply(
            proposal.alliance,
            proposal.documents,
            deletes=proposal.deletes,
            dry_run=True,
            force=True,  # a plan shows the errors it adds; it never writes
            as_of=args.as_of,
        )
    _print(outcome, proposal, args.format, client.server)
    return EXIT_FINDINGS if outcome.plan and outcome.plan.adds_errors() else EXIT_OK


def apply_command(args: argparse.Namespace) -> int:
    _split_server(args, "dir")
    path = _one_path(args, "dir", "apply")
    with _client(args) as client:
        proposal = _propose(client, path, args.alliance, args.prune)
        revision = proposal.revision if args.if_revision is None else args.if_revision
        try:
            outcome = client.apply(
                proposal.alliance,
                proposal.documents,
                deletes=proposal.deletes,
                revision=revision,
                force=args.force,
                as_of=args.as_of,
            )
        except ClientError as error:
            if error.status == 409 and error.plan is not None:
                refused = Outcome(
                    alliance=proposal.alliance,
                    revision=proposal.revision,
                    applied=False,
                    documents=[],
                    plan=error.plan,
                )
                _print(refused, proposal, args.format, client.server, applying=True)
            raise
    _print(outcome, proposal, args.format, client.server, applying=True)
    return EXIT_OK


def pull_command(args: argparse.Namespace) -> int:
    _split_server(args, "dir")
    path = Path(_one_path(args, "dir", "pull"))
    if path.exists() and not path.is_dir():
        raise InvalidRequest(f"{path} is a file; pull writes into a folder")
    with _client(args) as client:
        stored = client.documents(args.alliance)
    pulled = [folder.Pulled(d.kind, d.name, d.document) for d in stored.documents]
    written, removed = folder.write(path, pulled)
    print(
        f"{stored.alliance} at revision {stored.revision}: {plural(len(pulled), 'document')}"
        f" in {path}; {plural(len(written), 'file')} written, {len(removed)} removed"
    )
    for changed in written:
        print(f"  wrote {changed}")
    for gone in removed:
        print(f"  removed {gone}")
    return EXIT_OK


def _print(
    outcome: Outcome, proposal: Proposal, form: str, server: str, applying: bool = False
) -> None:
    if form == "json":
        sys.stdout.write(msgspec.json.format(msgspec.json.encode(outcome), indent=2).decode())
        sys.stdout.write("\n")
    elif form == "markdown":
        changes = [(r.ref, r.action) for r in outcome.documents]
        verb = "applied to" if outcome.applied else "plan for"
        title = f"registry {verb} {outcome.alliance} at revision {outcome.revision} ({server})"
        sys.stdout.write(
            markdown.plan(outcome.plan, title=title, changes=changes, kept=proposal.kept)
        )
    else:
        print(outcome_text(outcome, proposal.kept, server, applying))


def outcome_text(outcome: Outcome, kept: list[str], server: str, applying: bool = False) -> str:
    counts = {action: 0 for action in ("created", "updated", "deleted", "unchanged")}
    for result in outcome.documents:
        counts[result.action] += 1
    if outcome.applied:
        head = f"applied to {outcome.alliance} on {server}: now revision {outcome.revision}"
    elif not outcome.documents:
        head = f"refused: {outcome.alliance} on {server} at revision {outcome.revision}"
    elif applying:
        head = f"nothing to apply: {outcome.alliance} on {server} at revision {outcome.revision}"
    else:
        head = f"plan for {outcome.alliance} on {server} at revision {outcome.revision}"
    lines = []
    if outcome.documents:
        lines.append(
            f"{head}: {counts['created']} created, {counts['updated']} changed, "
            f"{counts['deleted']} deleted, {counts['unchanged']} unchanged"
        )
    else:
        lines.append(head)
    signs = {"created": "+", "updated": "~", "deleted": "-"}
    for result in outcome.documents:
        if result.action in signs:
            lines.append(f"  {signs[result.action]} {result.ref} ({result.action})")
    for ref in kept:
        lines.append(f"  = {ref}: on the server, not in DIR; kept (--prune deletes it)")
    if outcome.forced:
        lines.append("  forced: written although it adds error findings")
    if outcome.plan is not None:
        lines.append(plan_text(outcome.plan))
    return "\n".join(lines)
