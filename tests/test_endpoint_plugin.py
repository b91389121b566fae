"""lambdafleet.testing.endpoint as a project's function tests get it: `aws_env` points boto3 at the plugin's own
bare emulator (this repository's root conftest.py overrides `moto_endpoint` with its shared `build.py local`, so
its own tests never start that emulator)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.stack  # slow end to end: pytest in a new process, starting the emulator

REPO_ROOT = Path(__file__).resolve().parent.parent
CONFTEST = 'pytest_plugins = ["lambdafleet.testing.endpoint"]\n'
TESTS = """
import boto3


def test_aws_env_reaches_the_plugins_emulator(aws_env, moto_endpoint):
    assert aws_env == moto_endpoint and moto_endpoint.startswith("http://127.0.0.1:")
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="plugin-check")
    assert [bucket["Name"] for bucket in s3.list_buckets()["Buckets"]] == ["plugin-check"]
"""


def test_a_project_s_function_tests_get_the_bare_emulator(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_uses_aws.py").write_text(TESTS)
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "PYTEST_XDIST"))}
    environment["PYTHONPATH"] = str(REPO_ROOT)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist"],
        cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout, result.stdout
