#!/usr/bin/env python3
"""What is deployed: the last applied manifest and the commit it was built from, kept in the artifact bucket.

    python scripts/deploy_state.py fetch s3://BUCKET/PREFIX   # writes build/manifest.json, prints the commit
    python scripts/deploy_state.py store s3://BUCKET/PREFIX --commit SHA

Both live in ONE object, PREFIX/deploy-state.json, so a deploy that dies half-way can never leave a commit that
disagrees with the manifest (two objects written one after the other could).
"""

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lambdafleet.build import atomic  # noqa: E402  (needs ROOT on sys.path when run as a script)
from lambdafleet.build.manifest import check_manifest  # noqa: E402
from lambdafleet.build.upload import Destination, parse_destination  # noqa: E402
from lambdafleet.cli import Parser  # noqa: E402
from lambdafleet.errors import BuildError, UserError  # noqa: E402

STATE_OBJECT = "deploy-state.json"
STATE_SCHEMA_VERSION = 1
_COMMIT = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?")  # SHA-1 or SHA-256 object names


def state_key(destination: Destination) -> str:
    """The object key of the deploy state under the artifact prefix."""
    return "/".join(p for p in (destination.prefix, STATE_OBJECT) if p)


def _s3_errors(url: str, exc: Exception) -> Exception:
    """One-line error for an S3 failure: a user error when the user can fix it, a fault otherwise."""
    from botocore.exceptions import ClientError, NoCredentialsError

    if isinstance(exc, NoCredentialsError):
        return UserError(f"{url}: no AWS credentials found (set AWS_PROFILE or AWS_ACCESS_KEY_ID)")
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        message = f"{url}: {error.get('Code')}: {error.get('Message')}"
        if error.get("Code") in ("NoSuchBucket", "AccessDenied", "403", "InvalidAccessKeyId"):
            return UserError(message)
        return BuildError(message)
    return BuildError(f"{url}: {exc}")


def _client():
    import boto3  # honours AWS_ENDPOINT_URL and the usual credential chain

    return boto3.client("s3")


def read_state(destination: Destination) -> dict[str, Any] | None:
    """The stored deploy state, or None when nothing has been deployed yet."""
    from botocore.exceptions import BotoCoreError, ClientError

    key = state_key(destination)
    url = f"s3://{destination.bucket}/{key}"
    try:
        body = _client().get_object(Bucket=destination.bucket, Key=key)["Body"].read()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            return None
        raise _s3_errors(url, exc) from None
    except BotoCoreError as exc:
        raise _s3_errors(url, exc) from None
    return _parse_state(url, body)


def _parse_state(url: str, body: bytes) -> dict[str, Any]:
    hint = "delete the object to deploy everything from scratch"
    try:
        state = json.loads(body)
    except ValueError as exc:
        raise UserError(f"{url}: not valid JSON ({exc}); {hint}") from None
    if not isinstance(state, dict) or state.get("schema_version") != STATE_SCHEMA_VERSION:
        raise UserError(f"{url}: schema_version is not {STATE_SCHEMA_VERSION}; {hint}")
    if not _COMMIT.fullmatch(str(state.get("commit"))) or not isinstance(state.get("manifest"), dict):
        raise UserError(f"{url}: commit or manifest missing or malformed; {hint}")
    return state


def commit_known(repo: Path, commit: str) -> bool:
    """True when the checkout at `repo` holds `commit`, so `git diff commit` works (a shallow clone may not)."""
    result = subprocess.run(
        ["git", "-C", str(repo), "cat-file", "-e", f"{commit}^{{commit}}"],
        capture_output=True,
        check=False,
    )
    return result.returncode == 0


def fetch(destination: Destination, manifest_path: Path, repo: Path) -> str | None:
    """Write the deployed manifest to `manifest_path`; return the commit to build changes since, if usable."""
    state = read_state(destination)
    where = f"s3://{destination.bucket}/{state_key(destination)}"
    if state is None:
        print(f"{where}: nothing deployed yet; build everything", file=sys.stderr)
        return None
    atomic.write_text(manifest_path, json.dumps(state["manifest"], indent=2, sort_keys=True) + "\n")
    commit = state["commit"]
    if not commit_known(repo, commit):
        print(f"{where}: deployed commit {commit} is not in this checkout; build everything", file=sys.stderr)
        return None
    print(f"{where}: deployed commit {commit}; {manifest_path} restored", file=sys.stderr)
    return commit


def _load_manifest(path: Path) -> dict[str, Any]:
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path}: no manifest; run: python build.py all --upload s3://...") from None
    except ValueError as exc:
        raise UserError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("functions"), dict):
        raise UserError(f"{path}: functions: missing or not a map")
    check_manifest(manifest, str(path))  # what the next deploy restores must be a manifest Terraform can read
    return manifest


def check_uploaded(path: Path, manifest: dict[str, Any]) -> None:
    """A zip entry with no `s3` object would point the next deploy at a zip that only existed on this runner."""
    for name, entry in sorted(manifest["functions"].items()):
        if entry.get("package_type", "zip") == "zip" and not entry.get("s3"):
            raise UserError(f"{path}: functions.{name}.s3: not uploaded; build with --upload s3://... before storing")


def store(destination: Destination, manifest_path: Path, commit: str) -> None:
    """Record `manifest_path` and `commit` as what is deployed now."""
    from botocore.exceptions import BotoCoreError, ClientError

    if not _COMMIT.fullmatch(commit):
        raise UserError(f"--commit: {commit!r} is not a full commit hash (40 or 64 lower-case hex digits)")
    manifest = _load_manifest(manifest_path)
    check_uploaded(manifest_path, manifest)
    state = {"schema_version": STATE_SCHEMA_VERSION, "commit": commit, "manifest": manifest}
    key = state_key(destination)
    try:
        _client().put_object(
            Bucket=destination.bucket,
            Key=key,
            Body=json.dumps(state, indent=2, sort_keys=True).encode() + b"\n",
            ContentType="application/json",
        )
    except (BotoCoreError, ClientError) as exc:
        raise _s3_errors(f"s3://{destination.bucket}/{key}", exc) from None
    print(f"s3://{destination.bucket}/{key}: deployed commit {commit} recorded", file=sys.stderr)


def _parser() -> argparse.ArgumentParser:
    # Parser: a usage mistake is one line and exit code 2, as in build.py.
    parser = Parser(prog="scripts/deploy_state.py", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for name, help_text in (
        ("fetch", "write the deployed manifest and print the deployed commit (nothing when a full build is needed)"),
        ("store", "record the manifest (built with --upload) and COMMIT as deployed"),
    ):
        command = commands.add_parser(name, help=help_text, description=help_text)
        command.add_argument("artifacts", metavar="s3://BUCKET/PREFIX", help="where the build uploads zips")
        command.add_argument("--manifest", type=Path, default=ROOT / "build" / "manifest.json", help="%(default)s")
        if name == "store":
            command.add_argument("--commit", required=True, help="full hash of the commit the manifest was built from")
    return parser


def _destination(url: str) -> Destination:
    try:
        return parse_destination(url)
    except UserError:  # its message names --upload, which this command does not have
        raise UserError(f"{url!r} is not s3://<bucket>/<prefix> with a valid bucket name") from None


def run(args: argparse.Namespace) -> None:
    """Carry out one parsed command."""
    destination = _destination(args.artifacts)
    if args.command == "fetch":
        print(fetch(destination, args.manifest, ROOT) or "")
    else:
        store(destination, args.manifest, args.commit)


def main(argv: list[str]) -> int:
    """Entry point; returns the exit code (2 for a user error, 1 for a fault)."""
    args = _parser().parse_args(argv)
    try:
        run(args)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
