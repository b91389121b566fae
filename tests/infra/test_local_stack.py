"""Applies infra/envs/local to the embedded emulator, checks what exists with boto3, re-plans, destroys."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from tftest import TerraformTestError

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]

PREFIX = "tfit-"  # keeps these resources apart from anything else the shared emulator holds
ACCOUNT = "123456789012"  # the emulator's account


@pytest.fixture
def manifest(tmp_path: Path, shared_cache: Path) -> dict:
    """The real `python build.py all` of the repository's functions, run on a copy in tmp."""
    repo = tmp_path / "repo"
    repo.mkdir()
    for name in ("build.py", "pyproject.toml"):
        shutil.copy2(REPO_ROOT / name, repo / name)
    for name in ("lambdafleet", "functions", "models"):
        # Functions share files through relative symlinks (into models/, between functions): keep them.
        shutil.copytree(REPO_ROOT / name, repo / name, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
    result = subprocess.run(
        [sys.executable, "build.py", "all", "--quiet"],
        cwd=repo,
        env={**os.environ, "LAMBDAFLEET_CACHE_DIR": str(shared_cache)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    path = repo / "build" / "manifest.json"
    return {**json.loads(path.read_text()), "path": str(path)}


FRONT_DOOR_CORS = {
    "allow_origins": ["https://app.example"],
    "allow_methods": ["GET"],
    "allow_headers": ["authorization"],
    "expose_headers": ["x-total"],
    "allow_credentials": True,
    "max_age": 60,
}


def _with_every_front_door_setting(manifest: dict) -> dict:
    """The manifest plus what the examples do not use, so that one apply covers every setting build.py can write:
    math behind payload-1.0 routes (AWS_IAM, a Lambda authorizer, route throttling), stage throttling, and a
    public function URL with its own CORS on echo."""
    functions = manifest["functions"]
    functions["math"] = {**functions["math"], "routes": ["GET /math/iam", "GET /math/gated", "GET /math/busy"]}
    functions["math"]["payload_format_version"] = "1.0"
    functions["echo"] = {**functions["echo"], "function_url": {"auth_type": "NONE", "cors": FRONT_DOOR_CORS}}
    api = manifest["api"]
    api["throttling"] = {"rate_limit": 50.0, "burst_limit": 20}
    api["authorizers"]["gate"] = {
        "type": "lambda",
        "function": "echo",
        "simple_responses": True,
        "result_ttl": 60,
        "identity_sources": ["$request.header.Authorization"],
    }
    api["routes"]["GET /math/iam"] = {"authorization": "AWS_IAM", "scopes": [], "throttling": None}
    api["routes"]["GET /math/gated"] = {"authorization": "gate", "scopes": [], "throttling": None}
    api["routes"]["GET /math/busy"] = {
        "authorization": "NONE",
        "scopes": [],
        "throttling": {"rate_limit": 1.0, "burst_limit": 1},
    }
    Path(manifest["path"]).write_text(json.dumps({k: v for k, v in manifest.items() if k != "path"}))
    return manifest


def _variables(endpoint: str, manifest: dict) -> dict:
    return {"endpoint_url": endpoint, "manifest_path": manifest["path"], "name_prefix": PREFIX}


def test_local_environment_applies_checks_out_and_destroys(
    make_terraform, infra_copy: Path, manifest: dict, aws_env: str, tmp_path: Path
) -> None:
    manifest = _with_every_front_door_setting(manifest)
    terraform = make_terraform(infra_copy / "envs" / "local")
    terraform.setup(init_vars={"path": str(tmp_path / "terraform.tfstate")})
    variables = _variables(aws_env, manifest)
    terraform.apply(tf_vars=variables)
    try:
        _check_stack(manifest)
        var_args = [arg for name, value in variables.items() for arg in ("-var", f"{name}={value}")]
        second = terraform.execute_command("plan", "-detailed-exitcode", "-input=false", "-no-color", *var_args)
        assert second.retcode == 0, f"second plan is not empty:\n{second.out}"
    finally:
        terraform.destroy(tf_vars=variables)
    left = [f["FunctionName"] for f in boto3.client("lambda").list_functions()["Functions"]]
    assert not [name for name in left if name.startswith(PREFIX)]


def _resource_names(manifest: dict) -> dict:
    """Real name of every table and bucket the functions hold a permission on, as Terraform names them."""
    grants = [grant for entry in manifest["functions"].values() for grant in entry["permissions"]]
    suffix = {"table": "", "bucket": f"-{ACCOUNT}"}
    return {(g["type"], g["name"]): f"{PREFIX}{g['name']}{suffix[g['type']]}" for g in grants}


def _check_stack(manifest: dict) -> None:
    functions = manifest["functions"]
    names = _resource_names(manifest)
    arns = {name: _check_function(name, entry, names) for name, entry in functions.items()}
    _check_routes(functions, manifest["api"], arns)
    _check_function_urls(functions)
    _check_tables()
    _check_buckets(arns)
    _check_destinations(functions, arns)
    _check_state_machines(manifest["chains"], arns)


def _check_function(name: str, entry: dict, resource_names: dict) -> str:
    config = boto3.client("lambda").get_function_configuration(FunctionName=PREFIX + name)
    expected_environment = {
        **entry["environment"],
        **{
            f"{grant['type'].upper()}_{grant['name'].upper()}": resource_names[(grant["type"], grant["name"])]
            for grant in entry["permissions"]
        },
    }
    assert config["MemorySize"] == entry["memory_size"]
    assert config["Timeout"] == entry["timeout"]
    assert config["EphemeralStorage"]["Size"] == entry["ephemeral_storage"]
    assert config["Architectures"] == [entry["architecture"]]
    assert config.get("Environment", {}).get("Variables", {}) == expected_environment
    assert config["LoggingConfig"]["LogFormat"] == entry["logging_format"]
    if entry["package_type"] == "image":
        code = boto3.client("lambda").get_function(FunctionName=PREFIX + name)["Code"]
        assert config["PackageType"] == "Image"
        assert code["ImageUri"].endswith(f".amazonaws.com/{(PREFIX + name).lower()}:{entry['image']['tag']}")
    else:
        assert (config["Runtime"], config["Handler"]) == (entry["runtime"], entry["handler"])
        assert config["CodeSha256"] == entry["source_code_hash"]
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
    granted = {_resource_name(r) for s in statements if s["Sid"].startswith(("Table", "Bucket")) for r in s["Resource"]}
    assert granted == own


def _as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


def _resource_name(arn: str) -> str:
    """Table or bucket name of a table, index, bucket or object ARN."""
    tail = arn.split(":")[-1]
    return tail.removeprefix("table/").split("/")[0]


def _check_function_urls(functions: dict) -> None:
    client = boto3.client("lambda")
    for name, entry in functions.items():
        if entry.get("function_url"):
            config = client.get_function_url_config(FunctionName=PREFIX + name)
            assert config["AuthType"] == entry["function_url"]["auth_type"]
            cors = entry["function_url"]["cors"]
            assert (config.get("Cors") or {}).get("AllowOrigins") == (cors["allow_origins"] if cors else None)


def _check_routes(functions: dict, declared: dict, arns: dict) -> None:
    client = boto3.client("apigatewayv2")
    api = next(api for api in client.get_apis()["Items"] if api["Name"] == f"{PREFIX}api")
    integrations = {i["IntegrationId"]: i for i in client.get_integrations(ApiId=api["ApiId"])["Items"]}
    routes = {route["RouteKey"]: route for route in client.get_routes(ApiId=api["ApiId"])["Items"]}
    expected = {key: name for name, entry in functions.items() for key in entry["routes"]}
    assert set(routes) == set(expected)
    for key, name in expected.items():
        integration = integrations[routes[key]["Target"].removeprefix("integrations/")]
        assert integration["IntegrationType"] == "AWS_PROXY"
        assert integration["PayloadFormatVersion"] == functions[name].get("payload_format_version", "2.0")
        assert arns[name] in integration["IntegrationUri"]
    kinds = {"NONE": "NONE", "AWS_IAM": "AWS_IAM"}
    kinds |= {name: {"jwt": "JWT", "lambda": "CUSTOM"}[a["type"]] for name, a in declared["authorizers"].items()}
    for key, settings in declared["routes"].items():
        assert routes[key]["AuthorizationType"] == kinds[settings["authorization"]]
        assert routes[key].get("AuthorizationScopes", []) == settings["scopes"]
    gate = client.get_authorizer(ApiId=api["ApiId"], AuthorizerId=routes["GET /math/gated"]["AuthorizerId"])
    assert (gate["AuthorizerType"], gate["AuthorizerResultTtlInSeconds"]) == ("REQUEST", 60)
    users = client.get_authorizer(ApiId=api["ApiId"], AuthorizerId=routes["PUT /items/{id}"]["AuthorizerId"])
    assert users["JwtConfiguration"]["Issuer"] == declared["authorizers"]["users"]["issuer"]
    assert api["CorsConfiguration"]["AllowOrigins"] == declared["cors"]["allow_origins"]
    stage = client.get_stage(ApiId=api["ApiId"], StageName="$default")
    assert stage["DefaultRouteSettings"]["ThrottlingBurstLimit"] == declared["throttling"]["burst_limit"]
    assert stage["RouteSettings"]["GET /math/busy"]["ThrottlingRateLimit"] == 1.0
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
        bucket = f"{PREFIX}{name}-{ACCOUNT}"
        block = client.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
        assert all(block.values()) and len(block) == 4
        assert client.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
        rules = client.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
        assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    notifications = client.get_bucket_notification_configuration(Bucket=f"{PREFIX}uploads-{ACCOUNT}")
    [notification] = notifications["LambdaFunctionConfigurations"]
    assert notification["LambdaFunctionArn"] == arns["resize_image"]
    assert notification["Events"] == ["s3:ObjectCreated:*"]


def _check_destinations(functions: dict, arns: dict) -> None:
    client = boto3.client("lambda")
    declared = {name: entry["destinations"] for name, entry in functions.items() if any(entry["destinations"].values())}
    assert declared, "the example functions declare destinations"
    for name, destinations in declared.items():
        config = client.get_function_event_invoke_config(FunctionName=PREFIX + name)["DestinationConfig"]
        for kind, key in (("on_success", "OnSuccess"), ("on_failure", "OnFailure")):
            target = destinations[kind]
            assert config.get(key, {}).get("Destination") == (arns[target] if target else None), (name, kind)


def _check_state_machines(chains: dict, arns: dict) -> None:
    client = boto3.client("stepfunctions")
    machines = {m["name"]: m["stateMachineArn"] for m in client.list_state_machines()["stateMachines"]}
    assert chains, "the example functions declare chains"
    for name, chain in chains.items():
        definition = json.loads(client.describe_state_machine(stateMachineArn=machines[PREFIX + name])["definition"])
        steps = chain["steps"]
        assert definition["StartAt"] == steps[0]
        for step, following in zip(steps, [*steps[1:], None], strict=True):
            state = definition["States"][step]
            assert state["Resource"] == arns[step]
            assert state.get("Next") == following and state.get("End", False) is (following is None)


def _one_function_manifest(tmp_path: Path, **changes) -> Path:
    """A manifest holding one zip function `math` (with `changes` applied), written to tmp; returns its path."""
    path = tmp_path / "manifest.json"
    function = {
        "name": "math",
        "runtime": "python3.12",
        "architecture": "x86_64",
        "handler": "lambda_function.lambda_handler",
        "memory_size": 128,
        "timeout": 3,
        "ephemeral_storage": 512,
        "environment": {},
        "description": "",
        "logging_format": "Text",
        "package_type": "zip",
        "routes": [],
        "destinations": {"on_success": None, "on_failure": None},
        "permissions": [],
        "zip": "math.zip",
        "sha256": "0" * 64,
        "source_code_hash": "AAAA",
        "s3": None,
        "image": None,
        **changes,
    }
    path.write_text(json.dumps({"schema_version": 1, "functions": {"math": function}, "chains": {}}))
    return path


def _local_plan_error(terraform, endpoint: str, manifest_path: Path) -> str:
    """Plan envs/local for `manifest_path` (state next to it), which must fail; returns Terraform's message."""
    terraform.setup(init_vars={"path": str(manifest_path.parent / "terraform.tfstate")})
    with pytest.raises(TerraformTestError) as failure:
        terraform.plan(tf_vars={"endpoint_url": endpoint, "manifest_path": str(manifest_path), "name_prefix": PREFIX})
    return " ".join(" ".join(map(str, failure.value.args)).split())


def test_plan_names_the_manifest_key_of_an_undeclared_resource(
    make_terraform, infra_copy: Path, aws_env: str, tmp_path: Path
) -> None:
    path = _one_function_manifest(
        tmp_path,
        destinations={"on_success": "ghost", "on_failure": None},
        permissions=[{"type": "table", "name": "nope", "access": "read"}],
    )
    message = _local_plan_error(make_terraform(infra_copy / "envs" / "local"), aws_env, path)
    assert f"{path}: functions.math.permissions names table 'nope', which is not declared in var.tables" in message
    assert "functions.math.destinations.on_success names function 'ghost', which is not in the manifest" in message
    assert "var.buckets.uploads.notify_function names function 'resize_image', which is not in the manifest" in message


def test_plan_refuses_a_name_the_prefix_pushes_past_64_characters(
    make_terraform, infra_copy: Path, aws_env: str, tmp_path: Path
) -> None:
    long_name = "m" * (64 - len(PREFIX) + 1)
    path = _one_function_manifest(tmp_path, name=long_name, zip=f"{long_name}.zip")
    manifest = json.loads(path.read_text())
    manifest["functions"] = {long_name: manifest["functions"]["math"]}
    path.write_text(json.dumps(manifest))
    message = _local_plan_error(make_terraform(infra_copy / "envs" / "local"), aws_env, path)
    assert f"functions.{long_name}: '{PREFIX}{long_name}' is over the 64 characters Lambda and IAM allow" in message


# envs/aws reaches the emulator through AWS_ENDPOINT_URL (aws_env), with local state instead of its S3 backend.
ENVIRONMENT_VARIABLES = {"local": lambda endpoint: {"endpoint_url": endpoint}, "aws": lambda _: {"region": "us-east-1"}}


@pytest.mark.parametrize("environment", sorted(ENVIRONMENT_VARIABLES))
def test_every_environment_passes_declared_tables_and_buckets_to_the_stack(
    make_terraform, infra_copy: Path, aws_env: str, tmp_path: Path, environment: str
) -> None:
    env_dir = infra_copy / "envs" / environment
    (env_dir / "backend_override.tf").write_text('terraform {\n  backend "local" {}\n}\n')
    path = _one_function_manifest(tmp_path, permissions=[{"type": "table", "name": "orders", "access": "read"}])
    terraform = make_terraform(env_dir)
    terraform.setup(init_vars={"path": str(tmp_path / "terraform.tfstate")})
    plan = terraform.plan(
        output=True,
        tf_vars={
            **ENVIRONMENT_VARIABLES[environment](aws_env),
            "manifest_path": str(path),
            "name_prefix": PREFIX,
            "tables": json.dumps({"orders": {"hash_key": "order_id"}}),
            "buckets": json.dumps({"exports": {}}),
        },
    )
    modules = {change.get("module_address") for change in plan.resource_changes.values()}
    assert {'module.stack.module.table["orders"]', 'module.stack.module.bucket["exports"]'} <= modules
    assert 'module.stack.module.table["predictions"]' not in modules
