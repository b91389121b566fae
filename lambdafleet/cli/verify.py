"""`build.py verify [NAME ...] [--commit REF]`: is what is deployed exactly what this source builds?

Rebuilds the working tree (or a commit, in a throw-away git worktree sharing the dependency cache) with
--force, then compares each zip's SHA-256 with the `CodeSha256` Lambda reports for the deployed function, on
the local endpoint or, with --aws, on AWS. Builds are reproducible, so any difference means the deployed code
did not come from this source.
"""

import argparse
import json
import os
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from lambdafleet.build.manifest import FunctionEntry
from lambdafleet.cli import Commands, aws_target
from lambdafleet.errors import UserError

SAME, DIFFERS, MISSING, SKIPPED = "same", "DIFFERS", "MISSING", "skipped"


@contextmanager
def _source_tree(root: Path, commit: str | None) -> Iterator[Path]:
    """The tree to rebuild: the working tree, or `commit` checked out in a temporary worktree."""
    if commit is None:
        yield root
        return
    with tempfile.TemporaryDirectory(prefix="lambdafleet-verify-") as scratch:
        tree = Path(scratch) / "tree"
        result = subprocess.run(
            ["git", "-C", str(root), "worktree", "add", "--detach", "--quiet", str(tree), commit],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise UserError(f"--commit {commit}: {' '.join(result.stderr.split())[:300]}")
        try:
            yield tree
        finally:
            subprocess.run(["git", "-C", str(root), "worktree", "remove", "--force", str(tree)], capture_output=True)


@contextmanager
def _shared_cache(root: Path) -> Iterator[None]:
    """Point the rebuild of another tree at this checkout's caches, so dependencies are not installed again."""
    from lambdafleet.build.paths import CACHE_ENV, cache_root

    previous = os.environ.get(CACHE_ENV)
    os.environ[CACHE_ENV] = str(cache_root(root))
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(CACHE_ENV, None)
        else:
            os.environ[CACHE_ENV] = previous


def rebuild(root: Path, names: list[str] | None, commit: str | None) -> dict[str, FunctionEntry]:
    """Manifest entries of a forced rebuild of the working tree or of `commit`."""
    from lambdafleet.api import build_functions

    with _shared_cache(root), _source_tree(root, commit) as tree:
        return build_functions(tree, names or None, force=True)


def compare(entries: Mapping[str, Mapping[str, object]], deployed_sha: dict[str, str | None]) -> list[dict[str, Any]]:
    """One row per function: its rebuilt and deployed CodeSha256 and whether they match."""
    rows = []
    for name, entry in sorted(entries.items()):
        rebuilt = entry.get("source_code_hash")
        deployed = deployed_sha.get(name)
        if rebuilt is None:
            status = SKIPPED  # an image function: its digest is checked against ECR, not CodeSha256
        elif deployed is None:
            status = MISSING
        else:
            status = SAME if deployed == rebuilt else DIFFERS
        rows.append({"name": name, "status": status, "rebuilt": rebuilt, "deployed": deployed})
    return rows


def _deployed(args: argparse.Namespace, names: list[str]) -> dict[str, str | None]:
    client = aws_target.client_factory(args)("lambda")
    found: dict[str, str | None] = {}
    for name in names:
        with aws_target.aws_errors(args, name):
            try:
                found[name] = client.get_function_configuration(FunctionName=args.prefix + name)["CodeSha256"]
            except client.exceptions.ResourceNotFoundException:
                found[name] = None
    return found


def _run(args: argparse.Namespace) -> int:
    aws_target.check_endpoint(args)
    entries = rebuild(args.root, args.names, args.commit)
    rows = compare(entries, _deployed(args, [n for n, e in entries.items() if e.get("source_code_hash")]))
    if args.json:
        print(json.dumps({"ok": all(r["status"] in (SAME, SKIPPED) for r in rows), "functions": rows}, indent=2))
    else:
        source = f"commit {args.commit}" if args.commit else "the working tree"
        for row in rows:
            detail = {
                SAME: f"CodeSha256 {row['rebuilt']}",
                DIFFERS: f"deployed {row['deployed']}, {source} builds {row['rebuilt']}",
                MISSING: f"not deployed as {args.prefix}{row['name']}",
                SKIPPED: "image function: compare its image digest in ECR",
            }[row["status"]]
            print(f"{row['status']:<8} {row['name']:<24} {detail}")
    return 0 if all(r["status"] in (SAME, SKIPPED) for r in rows) else 1


def register(subparsers: Commands) -> None:
    """Add the verify command."""
    parser = subparsers.add_parser(
        "verify",
        help="check that deployed functions run exactly the code this source builds (exit 1 naming those that differ)",
    )
    parser.add_argument("names", nargs="*", metavar="NAME", help="functions to check (default: all)")
    parser.add_argument("--commit", metavar="REF", help="rebuild this git commit instead of the working tree")
    parser.add_argument("--json", action="store_true", help="print the comparison as JSON")
    aws_target.add_arguments(parser)
    parser.set_defaults(run=_run)
