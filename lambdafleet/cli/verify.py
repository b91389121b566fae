"""`build.py verify [NAME ...] [--commit REF]`: is what is deployed exactly what this source builds?

Rebuilds the working tree (or a commit, in a throw-away git worktree sharing the dependency cache) with
--force, then compares each zip's SHA-256 with the `CodeSha256` Lambda reports for the deployed function, on
the local endpoint or, with --aws, on AWS, and likewise each layer the manifest lists for the function with the
layer version attached to it (by name, in order, and by content). Builds are reproducible, so any difference
means the deployed code did not come from this source.
"""

import argparse
import json
import os
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lambdafleet.build.manifest import FunctionEntry, LayerEntry
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


def rebuild(
    root: Path, names: list[str] | None, commit: str | None
) -> tuple[dict[str, FunctionEntry], dict[str, LayerEntry]]:
    """Manifest entries of a forced rebuild of the working tree or of `commit`: functions, and the manifest's layers."""
    from lambdafleet.api import build_functions
    from lambdafleet.build.manifest import MANIFEST_FILE, read_manifest
    from lambdafleet.build.paths import build_dir

    with _shared_cache(root), _source_tree(root, commit) as tree:
        entries = build_functions(tree, names or None, force=True)
        return entries, read_manifest(build_dir(tree) / MANIFEST_FILE)["layers"]


@dataclass(frozen=True)
class Deployed:
    """A deployed function's code hash and its attached layer versions (ARN, CodeSha256), in order."""

    code_sha: str
    layers: tuple[tuple[str, str | None], ...] = ()


def layer_version_name(prefix: str, layer: str, runtime: str, architecture: str) -> str:
    """The layer name infra/main.tf publishes a layer build under (Lambda allows no '.' in it)."""
    return f"{prefix}{layer}-{runtime.replace('.', '_')}-{architecture}"


def compare_layers(
    entry: Mapping[str, Any], layers: Mapping[str, Mapping[str, Any]], deployed: Deployed, prefix: str
) -> list[dict[str, Any]]:
    """One row per layer the entry lists, then one per attached layer it does not: the layer version attached
    under the expected name, whether it is at the same position (Lambda extracts layers in order, a later one over
    an earlier one) and whether its CodeSha256 is the rebuilt zip's."""
    target = f"{entry['runtime']}-{entry['architecture']}"
    attached = {arn.split(":")[6]: (index, arn, sha) for index, (arn, sha) in enumerate(deployed.layers)}
    rows = []
    for index, layer in enumerate(entry.get("layers") or []):
        rebuilt = layers.get(layer, {}).get("builds", {}).get(target, {}).get("source_code_hash")
        name = layer_version_name(prefix, layer, entry["runtime"], entry["architecture"])
        position, arn, sha = attached.pop(name, (None, None, None))
        status = MISSING if arn is None else SAME if sha == rebuilt and position == index else DIFFERS
        row = {"layer": layer, "status": status, "arn": arn, "rebuilt": rebuilt, "deployed": sha, "position": index}
        rows.append(row | {"attached_at": position})
    for position, arn, sha in sorted(attached.values()):
        rows.append(
            {"layer": arn.split(":")[6], "status": DIFFERS, "arn": arn, "rebuilt": None, "deployed": sha}
            | {"position": None, "attached_at": position}
        )
    return rows


def compare(
    entries: Mapping[str, Mapping[str, Any]],
    deployed: Mapping[str, Deployed | None],
    layers: Mapping[str, Mapping[str, Any]] | None = None,
    prefix: str = "",
) -> list[dict[str, Any]]:
    """One row per function: its rebuilt and deployed CodeSha256 and whether they match, with a row per layer
    (compare_layers) for a deployed zip function."""
    rows = []
    for name, entry in sorted(entries.items()):
        rebuilt = entry.get("source_code_hash")
        found = deployed.get(name)
        layer_rows: list[dict[str, Any]] = []
        if rebuilt is None:
            status = SKIPPED  # an image function: its digest is checked against ECR, not CodeSha256
        elif found is None:
            status = MISSING
        else:
            status = SAME if found.code_sha == rebuilt else DIFFERS
            layer_rows = compare_layers(entry, layers or {}, found, prefix)
        code_sha = found.code_sha if found else None
        rows.append({"name": name, "status": status, "rebuilt": rebuilt, "deployed": code_sha, "layers": layer_rows})
    return rows


def describe_deployed(client: Any, function_name: str) -> Deployed | None:
    """What `function_name` runs (None when there is no such function), from a boto3 Lambda client."""
    try:
        configuration = client.get_function_configuration(FunctionName=function_name)
    except client.exceptions.ResourceNotFoundException:
        return None
    arns = [layer["Arn"] for layer in configuration.get("Layers") or []]
    return Deployed(configuration["CodeSha256"], tuple((arn, _layer_sha(client, arn)) for arn in arns))


def _deployed(args: argparse.Namespace, names: list[str]) -> dict[str, Deployed | None]:
    client = aws_target.client_factory(args)("lambda")
    found: dict[str, Deployed | None] = {}
    for name in names:
        with aws_target.aws_errors(args, name):
            found[name] = describe_deployed(client, args.prefix + name)
    return found


def _layer_sha(client: Any, arn: str) -> str | None:
    """The CodeSha256 of the layer version `arn` (None when it was deleted: the function keeps its copy)."""
    layer, version = arn.rsplit(":", 1)
    try:
        return str(client.get_layer_version(LayerName=layer, VersionNumber=int(version))["Content"]["CodeSha256"])
    except client.exceptions.ResourceNotFoundException:
        return None


def _ok(rows: list[dict[str, Any]]) -> bool:
    return all(r["status"] in (SAME, SKIPPED) and all(lr["status"] == SAME for lr in r["layers"]) for r in rows)


def _layer_detail(function: str, row: Mapping[str, Any], source: str, prefix: str) -> str:
    version = row["arn"].rsplit(":", 2)[-2:] if row["arn"] else []
    attached = ":".join(version)
    if row["status"] == MISSING:
        return f"no version of this layer is attached to {prefix}{function}"
    if row["rebuilt"] is None:
        return f"{attached} is attached, {source} lists no such layer for {function}"
    if row["status"] == SAME:
        return f"{attached} CodeSha256 {row['deployed']}"
    if row["deployed"] == row["rebuilt"]:
        where, listed = row["attached_at"] + 1, row["position"] + 1
        return f"{attached} is layer {where} of {prefix}{function}, {source} lists it as layer {listed}"
    deployed = row["deployed"] or "unknown (that layer version was deleted)"
    return f"deployed {attached} CodeSha256 {deployed}, {source} builds {row['rebuilt']}"


def _run(args: argparse.Namespace) -> int:
    aws_target.check_endpoint(args)
    entries, layers = rebuild(args.root, args.names, args.commit)
    deployed = _deployed(args, [n for n, e in entries.items() if e.get("source_code_hash")])
    rows = compare(entries, deployed, layers, args.prefix)
    if args.json:
        print(json.dumps({"ok": _ok(rows), "functions": rows}, indent=2))
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
            for layer in row["layers"]:
                label = f"{row['name']} layer {layer['layer']}"
                print(f"{layer['status']:<8} {label:<24} {_layer_detail(row['name'], layer, source, args.prefix)}")
    return 0 if _ok(rows) else 1


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
