"""infra/ci: the pull-request plan role reads state and describes the stack, and can read no data.

Applied for real against the embedded endpoint, then the stored policy is checked statement by statement.
"""

import json
from pathlib import Path

import boto3
import pytest

PREFIX = "lambdafleet-"
STATE_BUCKET = "example-state"
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


@pytest.fixture
def applied(make_terraform, infra_copy: Path, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> dict:
    for name, value in {
        "AWS_ENDPOINT_URL": moto_endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
    }.items():
        monkeypatch.setenv(name, value)
    terraform = make_terraform(infra_copy / "ci")
    terraform.setup()
    variables = {"region": "eu-west-1", "github_repository": "octo/fleet", "state_bucket": STATE_BUCKET}
    terraform.apply(tf_vars=variables)
    try:
        yield terraform.output()
    finally:
        terraform.destroy(tf_vars=variables, refresh=False)  # the state is the apply's: nothing to re-read


def _statements(document: str | dict) -> list[dict]:
    policy = json.loads(document) if isinstance(document, str) else document
    return policy["Statement"]


def _as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


def test_the_plan_role_reads_state_and_describes_the_stack_but_reads_no_data(applied: dict) -> None:
    """One apply serves both checks: the policy, then the trust."""
    _check_policy(applied)
    _check_trust()


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
