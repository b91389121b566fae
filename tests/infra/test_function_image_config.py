"""infra/modules/function's image_config, applied for real against the embedded emulator: it reaches Lambda as
ImageConfig, reads back without a diff, and a changed block replaces the function's settings (as AWS replaces
them; moto ignored it until lambdafleet's patch)."""

import json
from pathlib import Path

import boto3
import pytest
from tftest import TerraformTestError

URI = "123456789012.dkr.ecr.us-east-1.amazonaws.com/img:tag"


def _variables(image_config: dict | None) -> dict[str, str]:
    variables = {"function_name": "img-config", "package_type": "Image", "image_uri": URI}
    return {**variables, "image_config": json.dumps(image_config)} if image_config else variables


def test_image_config_passes_through_and_changes_apply(make_terraform, infra_copy: Path, aws_env: str) -> None:
    terraform = make_terraform(infra_copy / "modules" / "function")
    terraform.setup()
    given = {"entry_point": ["/lambda-entrypoint.sh"], "command": ["app.where"], "working_directory": "/var/task"}
    terraform.apply(tf_vars=_variables(given))
    try:
        client = boto3.client("lambda")
        reported = client.get_function_configuration(FunctionName="img-config")["ImageConfigResponse"]
        expected = {"EntryPoint": ["/lambda-entrypoint.sh"], "Command": ["app.where"], "WorkingDirectory": "/var/task"}
        assert reported == {"ImageConfig": expected}

        changed = {"command": ["app.other"]}  # the provider sends WorkingDirectory "", Lambda reports none
        terraform.apply(tf_vars=_variables(changed))
        reported = client.get_function_configuration(FunctionName="img-config")["ImageConfigResponse"]
        assert reported == {"ImageConfig": {"Command": ["app.other"]}}
        unchanged = terraform.execute_command("plan", "-detailed-exitcode", "-input=false", *_var_args(changed))
        assert unchanged.retcode == 0, unchanged.out  # read back as written: no perpetual diff

        with pytest.raises(TerraformTestError, match="must be an absolute path"):
            terraform.plan(tf_vars=_variables({"working_directory": "var/task"}))
    finally:
        terraform.destroy(tf_vars=_variables(None), refresh=False)


def _var_args(image_config: dict) -> list[str]:
    return [f"-var={name}={value}" for name, value in _variables(image_config).items()]
