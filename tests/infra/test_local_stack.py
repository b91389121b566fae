"""Applies infra/envs/local to the embedded emulator, checks what exists with boto3, re-plans, destroys."""

import base64
import hashlib
import json
import zipfile
from pathlib import Path

import boto3
import pytest

pytestmark = pytest.mark.integration

PREFIX = "tfit-"  # keeps these resources apart from anything else the shared emulator holds
DEFAULTS = {
    "runtime": "python3.12",
    "architecture": "x86_64",
    "handler": "lambda_function.lambda_handler",
    "memory_size": 128,
    "timeout": 3,
    "ephemeral_storage": 512,
    "environment": {},
    "description": "",
    "logging_format": "Text",
    "routes": [],
    "destinations": {"on_success": None, "on_failure": None},
    "permissions": [],
    "exclude": [],
    "package_type": "zip",
    "s3": None,
}
FUNCTIONS = {
    "echo": {
        "routes": ["GET /echo"],
        "destinations": {"on_success": "math", "on_failure": None},
        "environment": {"GREETING": "hello"},
    },
    "math": {
        "routes": ["POST /math", "GET /math/{op}"],
        "memory_size": 256,
        "timeout": 5,
        "ephemeral_storage": 1024,
        "logging_format": "JSON",
        "permissions": [{"type": "table", "name": "predictions", "access": "read_write"}],
    },
    "resize_image": {
        "permissions": [
            {"type": "bucket", "name": "uploads", "access": "read"},
            {"type": "bucket", "name": "thumbnails", "access": "write"},
        ],
    },
}
CHAINS = {"pipeline": {"name": "pipeline", "steps": ["echo", "math"], "description": "echo, then math"}}


def _write_zip(path: Path, name: str) -> bytes:
    with zipfile.ZipFile(path, "w") as archive:
        source = f"def lambda_handler(event, context):\n    return {name!r}\n"
        archive.writestr(zipfile.ZipInfo("lambda_function.py", (1980, 1, 1, 0, 0, 0)), source)
    return path.read_bytes()


@pytest.fixture
def manifest(tmp_path: Path) -> dict:
    """A build/ folder with real zips and a manifest.json following the README schema."""
    build = tmp_path / "build"
    build.mkdir()
    functions = {}
    for name, settings in FUNCTIONS.items():
        data = _write_zip(build / f"{name}.zip", name)
        digest = hashlib.sha256(data)
        functions[name] = {
            **DEFAULTS,
            **settings,
            "name": name,
            "zip": f"{name}.zip",
            "size": len(data),
            "unzipped_size": 0,
            "sha256": digest.hexdigest(),
            "source_code_hash": base64.b64encode(digest.digest()).decode(),
            "build_key": digest.hexdigest(),
        }
    document = {"schema_version": 1, "functions": functions, "chains": CHAINS}
    (build / "manifest.json").write_text(json.dumps(document, indent=2, sort_keys=True))
    return {**document, "path": str(build / "manifest.json")}


def _variables(endpoint: str, manifest: dict) -> dict:
    return {"endpoint_url": endpoint, "manifest_path": manifest["path"], "name_prefix": PREFIX}


def test_local_environment_applies_checks_out_and_destroys(
    make_terraform, infra_copy: Path, manifest: dict, aws_env: str, tmp_path: Path
) -> None:
    terraform = make_terraform(infra_copy / "envs" / "local")
    terraform.setup(init_vars={"path": str(tmp_path / "terraform.tfstate")})
    variables = _variables(aws_env, manifest)
    terraform.apply(tf_vars=variables)
    try:
        _check_stack(manifest)
        var_args = [arg for name, value in variables.items() for arg in ("-var", f"{name}={value}")]
        second = terraform.execute_command(
            "plan", "-detailed-exitcode", "-input=false", "-no-color", *var_args
        )
        assert second.retcode == 0, f"second plan is not empty:\n{second.out}"
    finally:
        terraform.destroy(tf_vars=variables)
    left = [f["FunctionName"] for f in boto3.client("lambda").list_functions()["Functions"]]
    assert not [name for name in left if name.startswith(PREFIX)]


def _check_stack(manifest: dict) -> None:
    functions = manifest["functions"]
    resource_names = {
        ("table", "predictions"): f"{PREFIX}predictions",
        ("bucket", "uploads"): f"{PREFIX}uploads-123456789012",
        ("bucket", "thumbnails"): f"{PREFIX}thumbnails-123456789012",
    }
    arns = {name: _check_function(name, entry, resource_names) for name, entry in functions.items()}
    _check_routes(functions, arns)
    _check_tables()
    _check_buckets(arns)
    _check_destinations(arns)
    _check_state_machine(arns)


def _check_function(name: str, entry: dict, resource_names: dict) -> str:
    client = boto3.client("lambda")
    config = client.get_function_configuration(FunctionName=PREFIX + name)
    expected_environment = {
        **entry["environment"],
        **{
            f"{grant['type'].upper()}_{grant['name'].upper()}": resource_names[(grant["type"], grant["name"])]
            for grant in entry["permissions"]
        },
    }
    assert config["Runtime"] == entry["runtime"]
    assert config["Handler"] == entry["handler"]
    assert config["MemorySize"] == entry["memory_size"]
    assert config["Timeout"] == entry["timeout"]
    assert config["EphemeralStorage"]["Size"] == entry["ephemeral_storage"]
    assert config["Architectures"] == [entry["architecture"]]
    assert config.get("Environment", {}).get("Variables", {}) == expected_environment
    assert config["CodeSha256"] == entry["source_code_hash"]
    assert config["LoggingConfig"]["LogFormat"] == entry["logging_format"]
    _check_role_policy(config, entry, resource_names)
    return config["FunctionArn"]


def _check_role_policy(config: dict, entry: dict, resource_names: dict) -> None:
    iam = boto3.client("iam")
    role = config["Role"].rsplit("/", 1)[1]
    assert iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"] == []
    assert iam.list_role_policies(RoleName=role)["PolicyNames"] == ["least-privilege"]
    document = iam.get_role_policy(RoleName=role, PolicyName="least-privilege")["PolicyDocument"]
    statements = document["Statement"]
    own = {resource_names[(grant["type"], grant["name"])] for grant in entry["permissions"]}
    for statement in statements:
        assert statement["Effect"] == "Allow"
        assert all("*" not in action for action in _as_list(statement["Action"])), statement
        for resource in _as_list(statement["Resource"]):
            if statement["Sid"] == "OwnLogGroup":
                assert resource.endswith(f":log-group:/aws/lambda/{config['FunctionName']}:*")
            elif statement["Sid"] != "Destinations":
                assert _resource_name(resource) in own, resource
    granted = {
        _resource_name(r)
        for s in statements
        if s["Sid"].startswith(("Table", "Bucket"))
        for r in s["Resource"]
    }
    assert granted == own


def _as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


def _resource_name(arn: str) -> str:
    """Table or bucket name of a table, index, bucket or object ARN."""
    tail = arn.split(":")[-1]
    return tail.removeprefix("table/").split("/")[0]


def _check_routes(functions: dict, arns: dict) -> None:
    client = boto3.client("apigatewayv2")
    api = next(api for api in client.get_apis()["Items"] if api["Name"] == f"{PREFIX}api")
    integrations = {i["IntegrationId"]: i for i in client.get_integrations(ApiId=api["ApiId"])["Items"]}
    routes = {route["RouteKey"]: route for route in client.get_routes(ApiId=api["ApiId"])["Items"]}
    expected = {key: name for name, entry in functions.items() for key in entry["routes"]}
    assert set(routes) == set(expected)
    for key, name in expected.items():
        integration = integrations[routes[key]["Target"].removeprefix("integrations/")]
        assert integration["IntegrationType"] == "AWS_PROXY"
        assert integration["PayloadFormatVersion"] == "2.0"
        assert arns[name] in integration["IntegrationUri"]
    stage = client.get_stage(ApiId=api["ApiId"], StageName="$default")
    assert stage["AutoDeploy"] is True
    assert stage["AccessLogSettings"]["DestinationArn"].endswith(f":log-group:/aws/apigateway/{PREFIX}api")


def _check_tables() -> None:
    client = boto3.client("dynamodb")
    for name in ("predictions", "items"):
        table = client.describe_table(TableName=PREFIX + name)["Table"]
        assert table["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
        assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
        assert table["SSEDescription"]["Status"] == "ENABLED"
        backups = client.describe_continuous_backups(TableName=PREFIX + name)["ContinuousBackupsDescription"]
        assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"


def _check_buckets(arns: dict) -> None:
    client = boto3.client("s3")
    for name in ("models", "uploads", "thumbnails", "artifacts"):
        bucket = f"{PREFIX}{name}-123456789012"
        block = client.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
        assert all(block.values()) and len(block) == 4
        assert client.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
        rules = client.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
        assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    notifications = client.get_bucket_notification_configuration(Bucket=f"{PREFIX}uploads-123456789012")
    [notification] = notifications["LambdaFunctionConfigurations"]
    assert notification["LambdaFunctionArn"] == arns["resize_image"]
    assert notification["Events"] == ["s3:ObjectCreated:*"]


def _check_destinations(arns: dict) -> None:
    config = boto3.client("lambda").get_function_event_invoke_config(FunctionName=f"{PREFIX}echo")
    assert config["DestinationConfig"]["OnSuccess"]["Destination"] == arns["math"]


def _check_state_machine(arns: dict) -> None:
    client = boto3.client("stepfunctions")
    machine = next(
        m for m in client.list_state_machines()["stateMachines"] if m["name"] == f"{PREFIX}pipeline"
    )
    definition = json.loads(
        client.describe_state_machine(stateMachineArn=machine["stateMachineArn"])["definition"]
    )
    assert definition["StartAt"] == "echo"
    assert definition["States"]["echo"]["Resource"] == arns["echo"]
    assert definition["States"]["echo"]["Next"] == "math"
    assert definition["States"]["math"] == {
        **definition["States"]["math"],
        "Resource": arns["math"],
        "End": True,
    }
