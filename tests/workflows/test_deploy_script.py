"""scripts/deploy.sh end to end: real git, real build.py, real Terraform, a real moto server.

The Terraform environment is a provider-free stand-in (tests/workflows/fixtures/infra) with the interface the
script relies on: each command takes a fraction of a second and records which zip each function would run.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from lambdafleet.testing.repository import copy_package

REPO_ROOT = Path(__file__).resolve().parents[2]
FIXTURE_INFRA = Path(__file__).resolve().parent / "fixtures" / "infra"
ENV_DIR = "infra/envs/test"

pytestmark = pytest.mark.integration


class Checkout:
    """A git repository with the build tooling, the scripts, two functions and the stand-in Terraform."""

    def __init__(self, root: Path, cache: Path) -> None:
        self.root = root
        self.env = {**os.environ, "PYTHON": sys.executable, "LAMBDAFLEET_CACHE_DIR": str(cache)}
        for name in ("build.py", "pyproject.toml", ".gitignore"):
            shutil.copy2(REPO_ROOT / name, root / name)
        copy_package(root / "lambdafleet")  # with its bytecode (git ignores it): build.py runs need not recompile
        shutil.copytree(REPO_ROOT / "scripts", root / "scripts", ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copytree(FIXTURE_INFRA, root / "infra")
        for name in ("alpha", "beta"):
            self.write(f"functions/{name}/lambda_function.py", "def lambda_handler(event, context):\n    return 1\n")
        self.git("init", "-q")
        self.commit("initial")
        self.terraform("init", "-input=false")

    def write(self, relative: str, text: str) -> None:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    def git(self, *args: str) -> str:
        command = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-C", str(self.root), *args]
        return subprocess.run(command, check=True, capture_output=True, text=True).stdout.strip()

    def commit(self, message: str) -> str:
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)
        return self.git("rev-parse", "HEAD")

    def terraform(self, *args: str) -> str:
        command = ["terraform", f"-chdir={self.root / ENV_DIR}", *args]
        return subprocess.run(command, check=True, capture_output=True, text=True, env=self.env).stdout

    def deploy(self, mode: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(self.root / "scripts" / "deploy.sh"), mode, ENV_DIR],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    def deployed(self) -> dict[str, str]:
        return json.loads(self.terraform("output", "-json", "deployed"))

    def state(self) -> dict:
        body = boto3.client("s3").get_object(Bucket="deploy-test-artifacts", Key="lambda/deploy-state.json")["Body"]
        return json.loads(body.read())


def _built(result: subprocess.CompletedProcess) -> set[str]:
    return {line.split()[1] for line in result.stderr.splitlines() if line.startswith("built ")}


@pytest.fixture
def checkout(tmp_path: Path, aws_env: str, shared_cache: Path) -> Checkout:
    client = boto3.client("s3")
    if "deploy-test-artifacts" in {b["Name"] for b in client.list_buckets()["Buckets"]}:
        for item in client.list_objects_v2(Bucket="deploy-test-artifacts").get("Contents", []):
            client.delete_object(Bucket="deploy-test-artifacts", Key=item["Key"])
        client.delete_bucket(Bucket="deploy-test-artifacts")
    root = tmp_path / "repo"
    root.mkdir()
    return Checkout(root, shared_cache)


@pytest.mark.stack  # slow end to end: leave out with -m 'not stack' while editing
def test_deploys_build_and_record_only_what_changed_and_never_a_dirty_tree(checkout):
    """One checkout through its deploys (each costs builds, uploads and applies, so they share it): the first
    bootstraps, the next builds only what changed, a dirty tree is refused, and a plan records nothing."""
    first = checkout.deploy("apply")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "first deploy: creating the artifact bucket" in first.stderr
    assert _built(first) == {"alpha", "beta"}
    deployed = checkout.deployed()
    assert set(deployed) == {"alpha", "beta"} and all(key.startswith("lambda/") for key in deployed.values())
    assert checkout.state()["commit"] == checkout.git("rev-parse", "HEAD")

    checkout.write("functions/alpha/lambda_function.py", "def lambda_handler(event, context):\n    return 2\n")
    head = checkout.commit("alpha v2")
    shutil.rmtree(checkout.root / "build")  # a fresh runner: only the deploy state remembers beta's zip
    second = checkout.deploy("apply")
    assert second.returncode == 0, second.stdout + second.stderr
    assert "first deploy" not in second.stderr
    assert _built(second) == {"alpha"}
    redeployed = checkout.deployed()
    assert redeployed["beta"] == deployed["beta"] and redeployed["alpha"] != deployed["alpha"]
    recorded = checkout.state()
    assert recorded["commit"] == head
    assert recorded["manifest"]["functions"]["alpha"]["s3"]["key"] == redeployed["alpha"]

    checkout.write("functions/beta/lambda_function.py", "def lambda_handler(event, context):\n    return 3\n")
    dirty = checkout.deploy("apply")
    assert dirty.returncode == 2
    assert dirty.stderr.strip().splitlines()[-1].endswith("uncommitted changes; commit or stash them before deploying")

    checkout.commit("beta v3")
    plan = checkout.deploy("plan")
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert _built(plan) == {"beta"}
    plan_text = (checkout.root / "build/plan.txt").read_text()
    assert 'module.stack.terraform_data.function["beta"] will be updated' in plan_text
    # then the drift of every resource in the state (the stand-in holds no secret version or parameter)
    drift = plan_text.split("# Drift since the last apply: every resource refreshed but secret versions", 1)[1]
    assert 'module.stack.terraform_data.function["alpha"]: Refreshing state' in drift and "No changes" in drift
    assert checkout.state() == recorded


def test_usage_errors_exit_2(checkout):
    for args in ([], ["deploy", ENV_DIR], ["apply", "infra/envs/nope"]):
        result = subprocess.run(
            [str(checkout.root / "scripts" / "deploy.sh"), *args], cwd=checkout.root, capture_output=True, text=True
        )
        assert result.returncode == 2, args
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


@pytest.mark.parametrize("mode", ["plan", "apply"])
def test_a_failing_terraform_output_stops_before_any_build_or_bootstrap(checkout, mode):
    # A backend the environment was never initialised for: `terraform output` fails, as without `terraform init`.
    checkout.write(f"{ENV_DIR}/backend.tf", 'terraform {\n  backend "local" {}\n}\n')
    checkout.commit("backend")
    result = checkout.deploy(mode)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.strip().splitlines() == [
        f"error: {ENV_DIR}: terraform output failed (run terraform init?): "
        'Backend initialization required, please run "terraform init"'
    ]
    assert not (checkout.root / "build").exists()
