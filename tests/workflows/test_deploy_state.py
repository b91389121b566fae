"""scripts/deploy_state.py against a real moto server and a real git checkout.

The script runs in this process (its `main`, loaded from the checkout's copy), which saves an interpreter and a
boto3 import per call; tests/workflows/test_deploy_script.py runs it as a process, as scripts/deploy.sh does.
"""

import importlib.util
import io
import json
import shutil
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import boto3
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
BUCKET = "artifacts"


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A git repository holding the script, with one commit (the package is imported from this checkout)."""
    repo = tmp_path / "repo"
    shutil.copytree(REPO_ROOT / "scripts", repo / "scripts", ignore=shutil.ignore_patterns("__pycache__"))
    _git(tmp_path, "init", "-q", str(repo))
    _git(repo, "add", ".")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "init")
    return repo


@pytest.fixture
def bucket(aws_env: str) -> str:
    client = boto3.client("s3")
    if BUCKET not in {b["Name"] for b in client.list_buckets()["Buckets"]}:
        client.create_bucket(Bucket=BUCKET)
    for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=item["Key"])
    return BUCKET


@dataclass(frozen=True)
class Result:
    returncode: int
    stdout: str
    stderr: str


def _script(repo: Path) -> ModuleType:
    """scripts/deploy_state.py of `repo`, loaded as a module (its ROOT is `repo`); sys.path is left as it was."""
    spec = importlib.util.spec_from_file_location("deploy_state_under_test", repo / "scripts" / "deploy_state.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    path = list(sys.path)
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path[:] = path
    return module


def _state(repo: Path, *args: str) -> Result:
    """`python scripts/deploy_state.py ARGS` in `repo`, run in this process: exit code, stdout and stderr."""
    stdout, stderr = io.StringIO(), io.StringIO()
    with redirect_stdout(stdout), redirect_stderr(stderr):
        try:
            code = _script(repo).main(list(args))
        except SystemExit as exc:  # argparse's usage errors
            code = exc.code if isinstance(exc.code, int) else 1
    return Result(code, stdout.getvalue(), stderr.getvalue())


SHA = "ab" * 32


def _settings(name: str, package_type: str) -> dict:
    """function.toml's defaults, as the manifest records them (lambdafleet/build/manifest.schema.json)."""
    return {
        "name": name, "runtime": "python3.12", "architecture": "x86_64", "handler": "lambda_function.lambda_handler",
        "memory_size": 128, "timeout": 3, "ephemeral_storage": 512, "environment": {}, "description": "",
        "logging_format": "Text", "package_type": package_type, "routes": [],
        "destinations": {"on_success": None, "on_failure": None}, "permissions": [], "exclude": [], "shared": [],
        "build_key": SHA,
    }  # fmt: skip


def _manifest(s3: dict | None = None) -> dict:
    built = {"zip": "echo.zip", "size": 1, "unzipped_size": 1, "sha256": SHA, "source_code_hash": "qw==", "image": None}
    entry = {**_settings("echo", "zip"), **built, "s3": s3}
    context = {"context": "predict.image", "base_image": "b", "platform": "linux/amd64", "command": [], "sha256": SHA}
    unbuilt = dict.fromkeys(("zip", "size", "unzipped_size", "sha256", "source_code_hash", "s3"))
    image = {**_settings("predict", "image"), **unbuilt, "image": {**context, "tag": SHA}}
    return {"schema_version": 1, "functions": {"echo": entry, "predict": image}, "chains": {}}


UPLOADED = {"bucket": BUCKET, "key": f"lambda/echo/{SHA}.zip", "version_id": None}


def _write_manifest(repo: Path, manifest: dict) -> Path:
    path = repo / "build" / "manifest.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(manifest))
    return path


def test_fetch_before_any_deploy_asks_for_a_full_build(checkout, bucket):
    result = _state(checkout, "fetch", f"s3://{bucket}/lambda")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "\n"
    assert "nothing deployed yet" in result.stderr
    assert not (checkout / "build").exists()


def test_store_then_fetch_restores_manifest_and_commit(checkout, bucket):
    head = _git(checkout, "rev-parse", "HEAD")
    path = _write_manifest(checkout, _manifest(UPLOADED))
    stored = _state(checkout, "store", f"s3://{bucket}/lambda", "--commit", head)
    assert stored.returncode == 0, stored.stderr

    body = boto3.client("s3").get_object(Bucket=bucket, Key="lambda/deploy-state.json")["Body"].read()
    assert json.loads(body) == {"schema_version": 1, "commit": head, "manifest": _manifest(UPLOADED)}

    path.unlink()
    fetched = _state(checkout, "fetch", f"s3://{bucket}/lambda")
    assert fetched.returncode == 0, fetched.stderr
    assert fetched.stdout.strip() == head
    assert json.loads(path.read_text()) == _manifest(UPLOADED)


def test_deployed_commit_missing_from_checkout_means_full_build_but_keeps_manifest(checkout, bucket):
    unknown = "1" * 40  # e.g. history rewritten by a force push, or a shallow clone
    state = {"schema_version": 1, "commit": unknown, "manifest": _manifest(UPLOADED)}
    boto3.client("s3").put_object(Bucket=bucket, Key="lambda/deploy-state.json", Body=json.dumps(state).encode())
    result = _state(checkout, "fetch", f"s3://{bucket}/lambda")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "\n"
    assert "not in this checkout" in result.stderr
    assert json.loads((checkout / "build/manifest.json").read_text()) == _manifest(UPLOADED)


def test_store_refuses_a_manifest_whose_zips_were_not_uploaded(checkout, bucket):
    _write_manifest(checkout, _manifest(s3=None))
    result = _state(checkout, "store", f"s3://{bucket}/lambda", "--commit", _git(checkout, "rev-parse", "HEAD"))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: {checkout / 'build/manifest.json'}: functions.echo.s3: not uploaded; "
        "build with --upload s3://... before storing"
    ]
    assert "Contents" not in boto3.client("s3").list_objects_v2(Bucket=bucket)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["store", "s3://artifacts/lambda", "--commit", "HEAD"], "is not a full commit hash"),
        (["store", "s3://artifacts/lambda", "--commit", "a" * 40], "build/manifest.json: no manifest"),
        (["fetch", "s3://no-such-bucket/lambda"], "s3://no-such-bucket/lambda/deploy-state.json: NoSuchBucket"),
        (["fetch", "https://example.com/x"], "'https://example.com/x' is not s3://<bucket>/<prefix>"),
        (["store", "s3://artifacts/lambda"], "the following arguments are required: --commit"),
    ],
)
def test_user_errors_are_one_line_exit_2(checkout, bucket, args, message):
    result = _state(checkout, *args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "error: " in lines[0] and message in lines[0], result.stderr


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "not valid JSON"),
        (json.dumps({"schema_version": 9}).encode(), "schema_version is not 1"),
        (json.dumps({"schema_version": 1, "commit": "main", "manifest": {}}).encode(), "commit or manifest"),
    ],
)
def test_corrupt_state_is_named_and_nothing_is_written(checkout, bucket, body, message):
    boto3.client("s3").put_object(Bucket=bucket, Key="lambda/deploy-state.json", Body=body)
    result = _state(checkout, "fetch", f"s3://{bucket}/lambda")
    assert result.returncode == 2
    assert f"s3://{bucket}/lambda/deploy-state.json: {message}" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (checkout / "build").exists()
