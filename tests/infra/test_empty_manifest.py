"""A manifest with no functions would make `terraform apply` destroy every function: the plan refuses it."""

import json
from pathlib import Path

import pytest
from tftest import TerraformTestError

pytestmark = pytest.mark.integration

PREFIX = "tfempty-"


def _empty_manifest(tmp_path: Path) -> Path:
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps({"schema_version": 1, "functions": {}, "chains": {}}))
    return path


def _plan(make_terraform, infra_copy: Path, endpoint: str, manifest: Path, **variables: str):
    terraform = make_terraform(infra_copy / "envs" / "local")
    terraform.setup(init_vars={"path": str(manifest.parent / "terraform.tfstate")})
    tf_vars = {"endpoint_url": endpoint, "manifest_path": str(manifest), "name_prefix": PREFIX, **variables}
    return terraform.plan(output=True, tf_vars=tf_vars)


def test_plan_refuses_a_manifest_with_no_functions(make_terraform, infra_copy: Path, aws_env: str, tmp_path: Path):
    manifest = _empty_manifest(tmp_path)
    with pytest.raises(TerraformTestError) as failure:
        _plan(make_terraform, infra_copy, aws_env, manifest)
    message = " ".join(" ".join(map(str, failure.value.args)).split())
    assert f"{manifest}: functions is empty: applying it would destroy every deployed function" in message
    assert "allow_empty_manifest = true" in message


def test_allow_empty_manifest_lets_the_plan_through(make_terraform, infra_copy: Path, aws_env: str, tmp_path: Path):
    manifest = _empty_manifest(tmp_path)
    plan = _plan(make_terraform, infra_copy, aws_env, manifest, allow_empty_manifest="true", buckets="{}")
    modules = {change.get("module_address") for change in plan.resource_changes.values()}
    assert not any(str(module).startswith("module.stack.module.function") for module in modules)
