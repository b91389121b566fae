"""Fixtures for the Terraform tests.

Terraform always runs on a throw-away copy of infra/ with its data dir and state in tmp, so no state, lock
file or .terraform directory reaches the repository. The tests skip cleanly when terraform is missing.
"""

import hashlib
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import tftest

from lambdafleet.testing.terraform import cli_environment

REPO_ROOT = Path(__file__).resolve().parents[2]
INFRA = REPO_ROOT / "infra"
CHECKOV_LOCK = Path(__file__).with_name("requirements-checkov.txt")


@pytest.fixture(scope="session")
def terraform_bin() -> str:
    """The terraform executable; the test is skipped when none is installed."""
    binary = shutil.which("terraform")
    if binary is None:
        pytest.skip("no `terraform` binary on PATH: install Terraform >= 1.11 to run the infrastructure tests")
    return binary


@pytest.fixture(scope="session")
def infra_source() -> Path:
    """The repository's infra/ directory (read-only: tests run Terraform on copies)."""
    return INFRA


@pytest.fixture
def infra_copy(tmp_path: Path) -> Path:
    """A copy of infra/ in tmp, without local Terraform leftovers."""
    ignore = shutil.ignore_patterns(".terraform", "*.tfstate*", ".terraform.lock.hcl")
    return Path(shutil.copytree(INFRA, tmp_path / "infra", ignore=ignore))


@pytest.fixture
def make_terraform(terraform_bin: str, tmp_path: Path) -> Callable[[Path], tftest.TerraformTest]:
    """Factory of tftest handles on a directory, each with its own data dir under tmp."""
    environment = cli_environment(tmp_path)

    def make(tfdir: Path) -> tftest.TerraformTest:
        data_dir = tmp_path / "tf-data" / tfdir.relative_to(tmp_path).as_posix().replace("/", "_")
        return tftest.TerraformTest(str(tfdir), binary=terraform_bin, env={**environment, "TF_DATA_DIR": str(data_dir)})

    return make


@pytest.fixture(scope="session")
def checkov_bin() -> Path:
    """checkov installed from its own hashed lock into a virtualenv under .cache/, reused while the lock is unchanged.

    checkov pins boto3 exactly and caps packaging, so it cannot share the dev environment.
    """
    venv = REPO_ROOT / ".cache" / "checkov" / hashlib.sha256(CHECKOV_LOCK.read_bytes()).hexdigest()[:16]
    complete = venv / "installed"
    if not complete.exists():
        shutil.rmtree(venv, ignore_errors=True)  # a half-made one from an interrupted run
        uv = shutil.which("uv") or str(Path(sys.executable).with_name("uv"))
        subprocess.run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)], check=True)
        install = [uv, "pip", "install", "--quiet", "--require-hashes", "--python", str(venv / "bin" / "python")]
        subprocess.run([*install, "-r", str(CHECKOV_LOCK)], check=True, timeout=600)
        complete.touch()
    return venv / "bin" / "checkov"
