"""The `registry` command: option parsing only; the work is in the core."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import msgspec

from registry import __version__, schema
from registry.bundle import summary
from registry.load import LoadResult, load

EXIT_OK, EXIT_FINDINGS, EXIT_INVALID = 0, 1, 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return EXIT_INVALID
    code: int = args.run(args)
    return code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="registry", description=__doc__)
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

    schemas = sub.add_parser("schema", help="write the JSON Schemas of every kind")
    schemas.add_argument("--out", type=Path, default=Path("schemas"))
    schemas.set_defaults(run=_schema)
    return parser


def print_errors(result: LoadResult, fmt: str = "text") -> None:
    if fmt == "json":
        sys.stdout.write(msgspec.json.encode([e.to_dict() for e in result.errors]).decode() + "\n")
        return
    for error in result.errors:
        print(error, file=sys.stderr)
    print(f"{len(result.errors)} error(s) in {result.files} file(s)", file=sys.stderr)


def _validate(args: argparse.Namespace) -> int:
    result = load(args.paths)
    if not result.ok:
        print_errors(result, args.format)
        return EXIT_INVALID
    rows = [summary(b) for b in result.bundles.values()]
    if args.format == "json":
        sys.stdout.write(msgspec.json.encode([]).decode() + "\n")
        return EXIT_OK
    for row in rows:
        print(
            f"{row['alliance']}: valid; {row['partners']} partners, {row['contracts']} contracts, "
            f"{row['waivers']} waivers, {row['cells']:,} cells"
        )
    return EXIT_OK


def _schema(args: argparse.Namespace) -> int:
    for path in schema.write(args.out):
        print(path)
    return EXIT_OK
