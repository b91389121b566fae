"""Fixtures for the Terraform tests.

Terraform always runs on a throw-away copy of infra/ with its data dir and state in tmp, so no state, lock
file or .terraform directory reaches the repository. The tests skip cleanly when terraform is missing.
"""

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import tftest

REPO_ROOT = Path(__file__).resolve().parents[2]
INFRA = REPO_ROOT / "infra"
# Offline machines keep the AWS provider in this filesystem mirror; elsewhere init downloads it.
PROVIDER_MIRROR = Path("/opt/tf-plugins")


@pytest.fixture(scope="session")
def terraform_bin() -> str:
    """The terraform executable; the test is skipped when none is installed."""
    binary = shutil.which("terraform")
    if binary is None:
        pytest.skip("no `terraform` binary on PATH: install Terraform >= 1.5 to run the infrastructure tests")
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


def cli_environment(workdir: Path) -> dict[str, str]:
    """Environment for terraform: a generated CLI config that uses the provider mirror when present."""
    config = workdir / "terraformrc"
    mirror = f'provider_installation {{\n  filesystem_mirror {{\n    path = "{PROVIDER_MIRROR}"\n  }}\n}}\n'
    config.write_text(mirror if PROVIDER_MIRROR.is_dir() else "")
    return {
        "TF_CLI_CONFIG_FILE": str(config),
        "TF_IN_AUTOMATION": "1",
        "TF_INPUT": "0",
        "CHECKPOINT_DISABLE": "1",
    }


@pytest.fixture
def make_terraform(terraform_bin: str, tmp_path: Path) -> Callable[[Path], tftest.TerraformTest]:
    """Factory of tftest handles on a directory, each with its own data dir under tmp."""
    environment = cli_environment(tmp_path)

    def make(tfdir: Path) -> tftest.TerraformTest:
        data_dir = tmp_path / "tf-data" / tfdir.relative_to(tmp_path).as_posix().replace("/", "_")
        return tftest.TerraformTest(str(tfdir), binary=terraform_bin, env={**environment, "TF_DATA_DIR": str(data_dir)})

    return make
