"""infra/ci: the pull-request plan role reads state and describes the stack, and can read no data.

Applied for real against the embedded endpoint, then the stored policy is checked statement by statement, and
against what the AWS provider really calls: scripts/deploy.sh plan's two plans of the applied local stack, and a
refresh of the resource types that stack lacks, run with the provider's debug log, whose every request's IAM
action must be granted (and none may read a secret or parameter value).

The apply of infra/ci also carries infra/modules/function's `image_config`, applied for real (a file added to this
test's copy of infra/ci calls the module twice, on ci's provider): it reaches Lambda as ImageConfig, a changed block
replaces the function's settings (as AWS replaces them; moto ignored it until lambdafleet's patch), and both read
back without a diff. The change needs no second apply: the changed function exists before the apply, as a first
apply would have left it, and the apply imports it, so Terraform reads it back and updates it exactly as after a
changed block. One init, apply, plan and destroy serve the ci role and both functions.
"""

import fnmatch
import importlib.util
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
import tftest

from lambdafleet.dev.stack import endpoint_environment, var_args
from lambdafleet.testing.terraform import cli_environment
from tests.conftest import REPO_ROOT, LocalStack

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
# Read actions AWS authorizes on no resource type: the only ones granted on "*".
NO_RESOURCE_TYPE = {
    "kms:ListAliases",
    "secretsmanager:GetRandomPassword",
    "sns:GetSubscriptionAttributes",
    "ssm:DescribeParameters",
}
WRITE_VERBS = ("Put", "Delete", "Create", "Update", "Tag", "Untag", "Attach", "Detach", "Pass", "Invoke")


IMAGE_URI = "123456789012.dkr.ecr.us-east-1.amazonaws.com/img:tag"
GIVEN = {"entry_point": ["/lambda-entrypoint.sh"], "command": ["app.where"], "working_directory": "/var/task"}
CHANGED = {"command": ["app.other"]}  # the provider sends WorkingDirectory "", Lambda reports none
# CREATED: made by the apply with GIVEN; UPDATED: holds GIVEN before the apply, which changes it to CHANGED.
CREATED, UPDATED = "img-config", "img-config-changed"


def _emulator_environment(endpoint: str) -> dict[str, str]:
    """AWS settings of the calls to the embedded emulator: placeholder keys, infra/ci's region."""
    keys = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    return {"AWS_ENDPOINT_URL": endpoint, **keys, "AWS_DEFAULT_REGION": REGION}


@pytest.fixture
def emulator_env(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """boto3 (and terraform started by the test) calls the emulator, in infra/ci's region, for this test."""
    for name, value in _emulator_environment(moto_endpoint).items():
        monkeypatch.setenv(name, value)


def _image_functions() -> dict:
    """The copy's extra configuration: CREATED and UPDATED, Image functions of modules/function; UPDATED imported."""

    def function(name: str, image_config: dict) -> dict:
        variables = {"function_name": name, "package_type": "Image", "image_uri": IMAGE_URI}
        return {"source": "../modules/function", **variables, "image_config": image_config}

    return {
        "module": {"image_created": function(CREATED, GIVEN), "image_updated": function(UPDATED, CHANGED)},
        "import": [{"to": "module.image_updated.aws_lambda_function.this", "id": UPDATED}],
    }


def _create_as_applied(client: Callable[[str], Any], name: str, image_config: dict) -> str:
    """The Image function `name` with `image_config`, made with boto3 as the function module makes it; returns the
    name of the role it runs as (Terraform gives the function its own; the fixture deletes this one after)."""
    lambda_may_assume = {
        "Effect": "Allow",
        "Principal": {"Service": "lambda.amazonaws.com"},
        "Action": "sts:AssumeRole",
    }
    trust = {"Version": "2012-10-17", "Statement": [lambda_may_assume]}
    role = client("iam").create_role(RoleName=f"{name}-before", AssumeRolePolicyDocument=json.dumps(trust))["Role"]
    words = {"entry_point": "EntryPoint", "command": "Command", "working_directory": "WorkingDirectory"}
    client("lambda").create_function(
        FunctionName=name,
        Role=role["Arn"],
        PackageType="Image",
        Code={"ImageUri": IMAGE_URI},
        ImageConfig={words[key]: value for key, value in image_config.items()},
    )
    return str(role["RoleName"])


@dataclass(frozen=True)
class Applied:
    """infra/ci with the image functions, applied: its outputs, and terraform on it."""

    outputs: dict[str, Any]
    terraform: tftest.TerraformTest


@pytest.fixture(scope="module")
def applied(
    terraform_bin: str, infra_source: Path, moto_endpoint: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Applied]:
    """infra/ci and the image functions applied to the emulator once for the module's tests, then destroyed."""
    work = tmp_path_factory.mktemp("ci")
    ignore = shutil.ignore_patterns(".terraform", "*.tfstate*", ".terraform.lock.hcl")
    infra = Path(shutil.copytree(infra_source, work / "infra", ignore=ignore))
    (infra / "ci" / "image_functions.tf.json").write_text(json.dumps(_image_functions(), indent=2))
    aws = _emulator_environment(moto_endpoint)
    environment = {**cli_environment(work), "TF_DATA_DIR": str(work / "tf-data"), **aws}
    terraform = tftest.TerraformTest(str(infra / "ci"), binary=terraform_bin, env=environment)
    terraform.setup()
    session = boto3.Session(aws["AWS_ACCESS_KEY_ID"], aws["AWS_SECRET_ACCESS_KEY"], region_name=REGION)

    def client(service: str) -> Any:
        return session.client(service, endpoint_url=moto_endpoint)

    before = _create_as_applied(client, UPDATED, GIVEN)
    try:
        terraform.apply(tf_vars=VARIABLES)
        yield Applied(terraform.output(), terraform)
    finally:
        terraform.destroy(tf_vars=VARIABLES, refresh=False)  # the state is the apply's: nothing to re-read
        client("iam").delete_role(RoleName=before)


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
            if resource == "*":
                assert set(_as_list(statement["Action"])) <= NO_RESOURCE_TYPE, statement
                continue
            if resource.endswith(":key/*"):  # generated ids: the stack's keys are those with its aliases
                aliases = statement["Condition"]["ForAnyValue:StringLike"]["kms:ResourceAliases"]
                describe_only = statement["Action"] in ("kms:DescribeKey", ["kms:DescribeKey"])
                assert aliases == f"alias/{PREFIX}*" or (describe_only and aliases == "alias/aws/*"), statement
                continue
            scoped = PREFIX in resource or STATE_BUCKET in resource or ":apigateway:" in resource
            assert scoped or resource.endswith((":log-group:*", ":event-source-mapping:*")), resource
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


# The SDK's service ids (the provider's `rpc.service` log field) and IAM's prefix for each.
IAM_PREFIX = {
    "ApiGatewayV2": "apigateway",
    "CloudWatch Logs": "logs",
    "DynamoDB": "dynamodb",
    "ECR": "ecr",
    "EventBridge": "events",
    "IAM": "iam",
    "KMS": "kms",
    "Kinesis": "kinesis",
    "Lambda": "lambda",
    "S3": "s3",
    "SFN": "states",
    "SNS": "sns",
    "SQS": "sqs",
    "SSM": "ssm",
    "STS": "sts",
    "Secrets Manager": "secretsmanager",
}
# Operations whose IAM action is not named after them (the Service Authorization Reference's operation table).
ACTION_OF = {
    "s3:GetBucketAccelerateConfiguration": "s3:GetAccelerateConfiguration",
    "s3:GetBucketCors": "s3:GetBucketCORS",
    "s3:GetBucketEncryption": "s3:GetEncryptionConfiguration",
    "s3:GetBucketLifecycleConfiguration": "s3:GetLifecycleConfiguration",
    "s3:GetBucketNotificationConfiguration": "s3:GetBucketNotification",
    "s3:GetBucketReplication": "s3:GetReplicationConfiguration",
    "s3:GetObjectLockConfiguration": "s3:GetBucketObjectLockConfiguration",
    "s3:GetPublicAccessBlock": "s3:GetBucketPublicAccessBlock",
    "s3:HeadBucket": "s3:ListBucket",
    "s3:HeadObject": "s3:GetObject",
}
# Calls that need no grant: AWS answers GetCallerIdentity to anyone, and the provider's account lookup tries
# iam:GetUser first and falls back to STS when it is refused (a role is no user).
NEEDS_NO_GRANT = {"sts:GetCallerIdentity", "iam:GetUser"}
# What a refresh of a secret version or a parameter reads, and the plan role must not: their values
# (scripts/refresh_targets.py leaves those two resource types out of the drift plan).
VALUE_READS = {"secretsmanager:GetSecretValue", "ssm:GetParameter"}
# What of infra/ the applied local stack has none of (the examples declare no topic, stream or bus, and their
# buckets no policy): applied beside infra/ci on the emulator and refreshed with the log on.
EXTRA_TYPES = """
provider "aws" {
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
}

module "topic" {
  source = "../modules/topic"
  name   = "lambdafleet-extra"
}

module "stream" {
  source = "../modules/stream"
  name   = "lambdafleet-extra"
}

module "bus" {
  source = "../modules/event_bus"
  name   = "lambdafleet-extra"
}

resource "aws_sns_topic_subscription" "extra" {
  topic_arn = module.topic.arn
  protocol  = "lambda"
  endpoint  = "arn:aws:lambda:eu-west-1:123456789012:function:lambdafleet-extra"
}

resource "aws_s3_bucket" "extra" {
  bucket = "lambdafleet-extra-123456789012"
}

resource "aws_s3_bucket_policy" "extra" {
  bucket = aws_s3_bucket.extra.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid = "TlsOnly", Effect = "Deny", Principal = "*", Action = "s3:*",
      Resource  = [aws_s3_bucket.extra.arn, "${aws_s3_bucket.extra.arn}/*"],
      Condition = { Bool = { "aws:SecureTransport" = "false" } }
    }]
  })
}

"""
# infra/ci's own OIDC provider: applied once by an administrator, never planned by a pull request.
NEVER_PLANNED = {"aws_iam_openid_connect_provider"}
# Types whose refresh makes a call the local stack's refresh of a bucket makes too (GetBucketLifecycleConfiguration);
# not in EXTRA_TYPES because the provider then waits ~55 s on the emulator for the rule to read back as written.
READ_BY_A_BUCKET_REFRESH = {"aws_s3_bucket_lifecycle_configuration": "s3:GetLifecycleConfiguration"}
REQUEST_SENT = "HTTP Request Sent"


def _entries(log: str) -> list[str]:
    """The provider's log entries for the AWS requests it sent (an entry may span lines: bodies do)."""
    return [entry for entry in re.split(r"\n(?=\d{4}-\d\d-\d\dT)", log) if REQUEST_SENT in entry]


def _iam_actions(entries: list[str]) -> set[str]:
    """The IAM action of each AWS request the provider logged (_entries)."""
    actions = set()
    for entry in entries:
        method = re.search(r"rpc\.method=(\S+)", entry)
        service = re.search(r'rpc\.service=("[^"]*"|\S+)', entry)
        assert method and service, entry[:500]
        prefix = IAM_PREFIX[service[1].strip('"')]
        action = "apigateway:GET" if prefix == "apigateway" else f"{prefix}:{method[1]}"
        actions.add(ACTION_OF.get(action, action))
    return actions


def _resource_types(root: Path) -> set[str]:
    """Managed resource types declared anywhere under infra/."""
    return {m for tf in root.rglob("*.tf") for m in re.findall(r'^resource "(aws_[a-z0-9_]+)"', tf.read_text(), re.M)}


def _refresh_targets() -> ModuleType:
    """scripts/refresh_targets.py, which scripts/deploy.sh plan runs, loaded as a module."""
    spec = importlib.util.spec_from_file_location("refresh_targets", REPO_ROOT / "scripts" / "refresh_targets.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _plan_reads(local_stack: LocalStack, log: Path, *arguments: str) -> tuple[set[str], set[str]]:
    """The IAM actions of the calls a `terraform plan ARGUMENTS` of the applied stack makes (the provider's log),
    and the KMS key ids they name."""
    env = {**endpoint_environment(local_stack.variables), "TF_LOG_PROVIDER": "DEBUG", "TF_LOG_PATH": str(log)}
    variables = var_args(local_stack.variables)
    local_stack.terraform.run("plan", "-lock=false", "-input=false", *variables, *arguments, env=env)
    entries = _entries(log.read_text())
    keys = {key for entry in entries if "rpc.service=KMS" in entry for key in re.findall(r'"KeyId":"([^"]+)"', entry)}
    return _iam_actions(entries), keys


def _extra_types_reads(make_terraform: Callable[[Path], Any], infra_copy: Path) -> tuple[set[str], set[str]]:
    """(IAM actions, resource types) of a logged refresh-only plan of EXTRA_TYPES applied on the emulator."""
    root = infra_copy / "extra-types"
    root.mkdir()
    (root / "main.tf").write_text(EXTRA_TYPES)
    terraform = make_terraform(root)
    terraform.setup()
    terraform.apply()  # left on the session's emulator: names of their own, and nothing reads them after
    log = root / "provider.log"
    terraform.env.update({"TF_LOG_PROVIDER": "DEBUG", "TF_LOG_PATH": str(log)})
    terraform.execute_command("plan", "-refresh-only", "-input=false", "-lock=false", "-no-color")
    entries = _entries(log.read_text())
    return _iam_actions(entries), {m[1] for entry in entries if (m := re.search(r"tf_resource_type=(\w+)", entry))}


def _granted(policy: dict) -> set[str]:
    return {action for statement in _statements(policy) for action in _as_list(statement["Action"])}


def _declared_types(configuration: str, infra: Path) -> set[str]:
    """The managed resource types a root configuration declares, its modules' (../modules/NAME) included."""
    types = set(re.findall(r'^resource "(aws_[a-z0-9_]+)"', configuration, re.M))
    for module in re.findall(r'source = "\.\./modules/([a-z_]+)"', configuration):
        types |= _resource_types(infra / "modules" / module)
    return types


def _rendered_policy(
    make_terraform: Callable[[Path], Any], infra_copy: Path, local_stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> dict:
    """The plan role's policy for the local stack's prefix and region, from a plan of infra/ci (nothing applied)."""
    for name, value in {
        "AWS_ENDPOINT_URL": local_stack.endpoint.url,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    terraform = make_terraform(infra_copy / "ci")
    terraform.setup()
    variables = {"github_repository": "octo/fleet", "state_bucket": STATE_BUCKET, "name_prefix": local_stack.prefix}
    plan = terraform.plan(output=True, tf_vars={"region": "us-east-1", **variables})
    return dict(json.loads(plan.outputs["plan_policy_json"]))


def _check_key_aliases(policy: dict, key_ids: set[str], local_stack: LocalStack) -> None:
    """Each KMS key a plan names has an alias that a kms:DescribeKey grant's kms:ResourceAliases patterns match: a
    table's refresh describes the AWS-managed alias/aws/dynamodb."""
    patterns = [
        pattern
        for statement in _statements(policy)
        if "kms:DescribeKey" in _as_list(statement["Action"])
        for pattern in _as_list(statement["Condition"]["ForAnyValue:StringLike"]["kms:ResourceAliases"])
    ]
    kms = local_stack.endpoint.client("kms")
    for key_id in key_ids:
        aliases = [key_id] if key_id.startswith("alias/") else kms.list_aliases(KeyId=key_id)["Aliases"]
        names = [alias if isinstance(alias, str) else alias["AliasName"] for alias in aliases]
        assert any(fnmatch.fnmatchcase(name, p) for name in names for p in patterns), (key_id, names, patterns)


def test_the_plan_role_reads_state_and_describes_the_stack_but_reads_no_data(
    applied: Applied, emulator_env: None, make_terraform: Callable[[Path], Any], infra_copy: Path
) -> None:
    """One apply of infra/ci serves three checks: the policy reads no data and writes nothing, the trust, and the
    resource types the local stack lacks (EXTRA_TYPES), applied beside it and refreshed with the provider's log on,
    call nothing the policy does not grant."""
    _check_policy(applied.outputs)
    _check_trust()
    granted = _granted(json.loads(applied.outputs["plan_policy_json"]))
    reads, refreshed = _extra_types_reads(make_terraform, infra_copy)
    assert refreshed == _declared_types(EXTRA_TYPES, infra_copy)
    assert "sns:ListSubscriptionsByTopic" in reads  # a subscription's refresh
    assert sorted(reads - granted - NEEDS_NO_GRANT) == []


@pytest.mark.stack  # the apply of `applied`
def test_image_config_passes_through_and_a_changed_one_replaces_it(applied: Applied, emulator_env: None) -> None:
    client = boto3.client("lambda")
    reported = client.get_function_configuration(FunctionName=CREATED)["ImageConfigResponse"]
    expected = {"EntryPoint": ["/lambda-entrypoint.sh"], "Command": ["app.where"], "WorkingDirectory": "/var/task"}
    assert reported == {"ImageConfig": expected}
    reported = client.get_function_configuration(FunctionName=UPDATED)["ImageConfigResponse"]
    assert reported == {"ImageConfig": {"Command": ["app.other"]}}


@pytest.mark.stack  # the apply of `applied`, and a plan
def test_a_second_plan_of_infra_ci_and_the_image_functions_changes_nothing(applied: Applied) -> None:
    """Read back as written, the changed image_config (working_directory left out) included: no perpetual diff."""
    variables = [f"-var={name}={value}" for name, value in VARIABLES.items()]
    unchanged = applied.terraform.execute_command("plan", "-detailed-exitcode", "-input=false", *variables)
    assert unchanged.retcode == 0, unchanged.out


def test_a_pull_request_plan_of_the_applied_stack_calls_only_what_the_plan_role_grants(
    local_stack: LocalStack,
    make_terraform: Callable[[Path], Any],
    infra_copy: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """scripts/deploy.sh plan's two plans of the applied local stack, the provider's log on: the changes against the
    recorded state, then a refresh-only plan of every resource but the value-bearing ones. Every call is granted
    by the plan role's policy for the stack's prefix, none reads a value, and every resource type of infra/ is
    refreshed here or by the test above."""
    policy = _rendered_policy(make_terraform, infra_copy, local_stack, monkeypatch)
    script = _refresh_targets()
    addresses = local_stack.terraform.run("state", "list").stdout.splitlines()
    targets = script.targets(addresses)
    in_state = {script.resource_type(address) for address in addresses} - {None}
    refreshed = {script.resource_type(target) for target in targets}
    assert in_state - refreshed == script.VALUE_READING_TYPES  # the stack has a secret and a parameter

    changes, _ = _plan_reads(local_stack, tmp_path / "changes.log", "-refresh=false")
    targeted = (f"-target={t}" for t in targets)
    drift, key_ids = _plan_reads(local_stack, tmp_path / "drift.log", "-refresh-only", *targeted)
    assert "sqs:GetQueueAttributes" in drift and "lambda:GetFunction" in drift  # it did refresh
    assert not (changes | drift) & VALUE_READS
    assert sorted((changes | drift) - _granted(policy) - NEEDS_NO_GRANT) == []
    assert "alias/aws/dynamodb" in key_ids  # the tables' refresh
    _check_key_aliases(policy, key_ids, local_stack)
    assert set(READ_BY_A_BUCKET_REFRESH.values()) <= drift
    extra = _declared_types(EXTRA_TYPES, REPO_ROOT / "infra") | set(READ_BY_A_BUCKET_REFRESH)
    covered = refreshed | extra | script.VALUE_READING_TYPES | NEVER_PLANNED
    assert _resource_types(REPO_ROOT / "infra") - covered == set(), "a resource type no plan here refreshes"


def test_refresh_targets_leave_out_only_the_resources_whose_refresh_reads_a_value() -> None:
    """scripts/refresh_targets.py as deploy.sh runs it: state addresses in, `-target=` lines out, keys with dots,
    spaces and brackets kept whole, data sources and value-bearing resources left out."""
    state = "\n".join(
        [
            'module.stack.aws_lambda_layer_version.layer["numpy/python3.12-x86_64"]',
            'module.stack.module.http_api[0].aws_apigatewayv2_route.this["GET /math/iam"]',
            "module.stack.data.aws_caller_identity.current",
            'module.stack.aws_secretsmanager_secret.this["items-token-key"]',
            'module.stack.aws_secretsmanager_secret_version.this["items-token-key"]',
            'module.stack.aws_ssm_parameter.this["release"]',
            'module.stack.aws_ssm_parameter_note.this["aws_ssm_parameter.x"]',
            "",
        ]
    )
    script = REPO_ROOT / "scripts" / "refresh_targets.py"
    result = subprocess.run([sys.executable, str(script)], input=state, capture_output=True, text=True, check=True)
    assert result.stdout.splitlines() == [
        '-target=module.stack.aws_lambda_layer_version.layer["numpy/python3.12-x86_64"]',
        '-target=module.stack.module.http_api[0].aws_apigatewayv2_route.this["GET /math/iam"]',
        '-target=module.stack.aws_secretsmanager_secret.this["items-token-key"]',
        '-target=module.stack.aws_ssm_parameter_note.this["aws_ssm_parameter.x"]',
    ]
