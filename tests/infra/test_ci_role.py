"""infra/ci: the pull-request plan role reads state and describes the stack, and can read no data.

Applied for real against the embedded emulator, then the stored policy is checked statement by statement.

The same apply carries infra/modules/function's `image_config`, applied for real (a file added to this test's copy
of infra/ci calls the module twice, on ci's provider): it reaches Lambda as ImageConfig, a changed block replaces
the function's settings (as AWS replaces them; moto ignored it until lambdafleet's patch), and both read back without
a diff. The change needs no second apply: the changed function exists before the apply, made as a first apply would
have made it, and the apply imports it, so Terraform reads it back and updates it exactly as after a changed block.
One init, apply, plan and destroy serve the ci role and both functions.
"""

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
import tftest

from lambdafleet.testing.terraform import cli_environment

pytestmark = [pytest.mark.integration, pytest.mark.stack]  # terraform apply

PREFIX = "lambdafleet-"
STATE_BUCKET = "example-state"
REGION = "eu-west-1"
VARIABLES = {"region": REGION, "github_repository": "octo/fleet", "state_bucket": STATE_BUCKET}
# Actions that read what the functions store, or write anything: none may appear in the plan role's policy.
DATA_OR_WRITE = (
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
    "dynamodb:Scan",
    "dynamodb:ExportTableToPointInTime",
    "logs:GetLogEvents",
    "logs:FilterLogEvents",
    "logs:StartQuery",
    "secretsmanager:GetSecretValue",
    "ssm:GetParameter",
    "ssm:GetParameters",
    "kms:Decrypt",
    "lambda:InvokeFunction",
)
WRITE_VERBS = ("Put", "Delete", "Create", "Update", "Tag", "Untag", "Attach", "Detach", "Pass", "Invoke")

IMAGE_URI = "123456789012.dkr.ecr.us-east-1.amazonaws.com/img:tag"
GIVEN = {"entry_point": ["/lambda-entrypoint.sh"], "command": ["app.where"], "working_directory": "/var/task"}
CHANGED = {"command": ["app.other"]}  # the provider sends WorkingDirectory "", Lambda reports none
CREATED, UPDATED = (
    "img-config",
    "img-config-changed",
)  # created with GIVEN; holding GIVEN before the apply, CHANGED in it


def _image_functions() -> dict:
    """The copy's extra configuration: CREATED and UPDATED, Image functions of modules/function; UPDATED imported."""

    def function(name: str, image_config: dict) -> dict:
        variables = {"function_name": name, "package_type": "Image", "image_uri": IMAGE_URI}
        return {"source": "../modules/function", **variables, "image_config": image_config}

    return {
        "module": {"image_created": function(CREATED, GIVEN), "image_updated": function(UPDATED, CHANGED)},
        "import": [{"to": "module.image_updated.aws_lambda_function.this", "id": UPDATED}],
    }


def _create_as_applied(name: str, image_config: dict) -> str:
    """The Image function `name` with `image_config`, made with boto3 as the function module makes it; returns the
    name of the role it runs as (Terraform gives the function its own; the test deletes this one after)."""
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    role = boto3.client("iam").create_role(RoleName=f"{name}-before", AssumeRolePolicyDocument=json.dumps(trust))
    words = {"entry_point": "EntryPoint", "command": "Command", "working_directory": "WorkingDirectory"}
    boto3.client("lambda").create_function(
        FunctionName=name,
        Role=role["Role"]["Arn"],
        PackageType="Image",
        Code={"ImageUri": IMAGE_URI},
        ImageConfig={words[key]: value for key, value in image_config.items()},
    )
    return role["Role"]["RoleName"]


@pytest.fixture(scope="module")
def applied(
    terraform_bin: str, infra_source: Path, moto_endpoint: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tftest.TerraformTest]:
    """infra/ci with the image functions, applied to the emulator; destroyed after the module's tests."""
    work = tmp_path_factory.mktemp("ci")
    ignore = shutil.ignore_patterns(".terraform", "*.tfstate*", ".terraform.lock.hcl")
    infra = Path(shutil.copytree(infra_source, work / "infra", ignore=ignore))
    (infra / "ci" / "image_functions.tf.json").write_text(json.dumps(_image_functions(), indent=2))
    environment = {**cli_environment(work), "TF_DATA_DIR": str(work / "tf-data")}
    with pytest.MonkeyPatch.context() as monkeypatch:
        for name, value in {
            "AWS_ENDPOINT_URL": moto_endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": REGION,
        }.items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("AWS_PROFILE", raising=False)
        terraform = tftest.TerraformTest(str(infra / "ci"), binary=terraform_bin, env=environment)
        terraform.setup()
        before = _create_as_applied(UPDATED, GIVEN)
        try:
            terraform.apply(tf_vars=VARIABLES)
            yield terraform
        finally:
            terraform.destroy(tf_vars=VARIABLES, refresh=False)  # the state is the apply's: nothing to re-read
            boto3.client("iam").delete_role(RoleName=before)


def test_the_plan_role_reads_state_and_describes_the_stack_but_reads_no_data(applied: tftest.TerraformTest) -> None:
    """One apply serves both checks: the policy, then the trust."""
    _check_policy(applied.output())
    _check_trust()


def test_image_config_passes_through_and_a_changed_one_replaces_it(applied: tftest.TerraformTest) -> None:
    client = boto3.client("lambda")
    reported = client.get_function_configuration(FunctionName=CREATED)["ImageConfigResponse"]
    expected = {"EntryPoint": ["/lambda-entrypoint.sh"], "Command": ["app.where"], "WorkingDirectory": "/var/task"}
    assert reported == {"ImageConfig": expected}
    reported = client.get_function_configuration(FunctionName=UPDATED)["ImageConfigResponse"]
    assert reported == {"ImageConfig": {"Command": ["app.other"]}}


def test_a_second_plan_changes_nothing(applied: tftest.TerraformTest) -> None:
    """Read back as written, the changed image_config (working_directory left out) included: no perpetual diff."""
    variables = [f"-var={name}={value}" for name, value in VARIABLES.items()]
    unchanged = applied.execute_command("plan", "-detailed-exitcode", "-input=false", *variables)
    assert unchanged.retcode == 0, unchanged.out


def _statements(document: str | dict) -> list[dict]:
    policy = json.loads(document) if isinstance(document, str) else document
    return policy["Statement"]


def _as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


def _check_policy(applied: dict) -> None:
    iam = boto3.client("iam")
    role_name = applied["plan_role_arn"].rsplit("/", 1)[1]
    assert role_name == f"{PREFIX}ci-plan"
    policy = iam.get_role_policy(RoleName=role_name, PolicyName="plan")["PolicyDocument"]
    statements = _statements(policy)
    actions = {action for statement in statements for action in _as_list(statement["Action"])}
    assert not [a for a in actions if "*" in a], "no wildcard actions"
    assert not actions & set(DATA_OR_WRITE)
    assert not [a for a in actions if a.split(":")[1].startswith(WRITE_VERBS)], sorted(actions)
    for statement in statements:
        assert statement["Effect"] == "Allow"
        for resource in _as_list(statement["Resource"]):
            assert resource != "*", statement
            scoped = PREFIX in resource or STATE_BUCKET in resource or ":apigateway:" in resource
            assert scoped or resource.endswith(":log-group:*"), resource
        if "s3:GetObject" in _as_list(statement["Action"]):
            for resource in _as_list(statement["Resource"]):
                allowed = (f"{STATE_BUCKET}/lambdafleet/terraform.tfstate", "/lambda/*", "/terraform-packages/*")
                assert resource.endswith(allowed), f"object reads beyond state and packages: {resource}"


def _check_trust() -> None:
    """Only this repository's pull requests may assume the role."""
    role = boto3.client("iam").get_role(RoleName=f"{PREFIX}ci-plan")["Role"]
    (statement,) = _statements(role["AssumeRolePolicyDocument"])
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    conditions = statement["Condition"]["StringEquals"]
    assert conditions["token.actions.githubusercontent.com:sub"] == "repo:octo/fleet:pull_request"
    assert conditions["token.actions.githubusercontent.com:aud"] == "sts.amazonaws.com"
