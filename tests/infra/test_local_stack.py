"""infra/envs/local as applied on the session's one stack (`local_stack`, tests/conftest.py): every resource checked
with boto3. Plans that must fail or hold given resources: tests/infra/test_plans.py."""

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.conftest import STACK_PARAMETER_VALUES, LocalStack

pytestmark = [pytest.mark.integration, pytest.mark.stack]  # the applied stack

ACCOUNT = "123456789012"  # the emulator's account


def test_local_environment_applies_what_the_manifest_describes(local_stack: LocalStack) -> None:
    _StackCheck(local_stack.prefix, local_stack.endpoint.client).stack(local_stack.manifest)


def test_secrets_parameters_and_keys_are_created_and_values_stay_out_of_the_state(local_stack: LocalStack) -> None:
    """Write-only arguments: the generated secret and the given parameter value are in Secrets Manager and SSM,
    and nowhere in the state (a re-plan showing no change is test_second_apply_changes_nothing)."""
    client = local_stack.endpoint.client
    secret = client("secretsmanager").get_secret_value(SecretId=f"{local_stack.prefix}items-token-key")["SecretString"]
    parameter = client("ssm").get_parameter(Name=f"/{local_stack.prefix}release", WithDecryption=True)["Parameter"]
    assert len(secret) == 32 and secret.isalnum()
    assert (parameter["Type"], parameter["Value"]) == ("SecureString", STACK_PARAMETER_VALUES["release"])
    state = local_stack.terraform.state_path.read_text()
    assert f"{local_stack.prefix}items-token-key" in state  # the secret is in the state; its value is not
    assert secret not in state and STACK_PARAMETER_VALUES["release"] not in state
    kms = client("kms")
    key = kms.describe_key(KeyId=f"alias/{local_stack.prefix}data")["KeyMetadata"]
    assert key["KeyState"] == "Enabled" and kms.get_key_rotation_status(KeyId=key["KeyId"])["KeyRotationEnabled"]


@dataclass
class _StackCheck:
    """Checks of the applied stack's resources, named with `prefix`, through boto3 clients of `client(service)`."""

    prefix: str
    client: Callable[..., Any]

    def _resource_names(self, manifest: dict) -> dict:
        """Real name of every table, bucket and secret the functions hold a permission on, as Terraform names them."""
        grants = [grant for entry in manifest["functions"].values() for grant in entry["permissions"]]
        suffix = {"table": "", "bucket": f"-{ACCOUNT}", "secret": ""}
        return {(g["type"], g["name"]): f"{self.prefix}{g['name']}{suffix[g['type']]}" for g in grants}

    def stack(self, manifest: dict) -> None:
        functions = manifest["functions"]
        names = self._resource_names(manifest)
        arns = {name: self._check_function(name, entry, names) for name, entry in functions.items()}
        self._check_routes(functions, manifest["api"], arns)
        self._check_function_urls(functions)
        self._check_tables()
        self._check_buckets(arns)
        self._check_destinations(functions, arns)
        self._check_state_machines(manifest["chains"], arns)

    def _check_function(self, name: str, entry: dict, resource_names: dict) -> str:
        config = self.client("lambda").get_function_configuration(FunctionName=self.prefix + name)
        expected_environment = {
            **entry["environment"],
            **{_variable(grant): resource_names[(grant["type"], grant["name"])] for grant in entry["permissions"]},
        }
        assert config["MemorySize"] == entry["memory_size"]
        assert config["Timeout"] == entry["timeout"]
        assert config["EphemeralStorage"]["Size"] == entry["ephemeral_storage"]
        assert config["Architectures"] == [entry["architecture"]]
        assert config.get("Environment", {}).get("Variables", {}) == expected_environment
        assert config["LoggingConfig"]["LogFormat"] == entry["logging_format"]
        concurrency = self.client("lambda").get_function(FunctionName=self.prefix + name).get("Concurrency", {})
        assert concurrency.get("ReservedConcurrentExecutions") == entry.get("reserved_concurrency"), name
        if entry["package_type"] == "image":
            code = self.client("lambda").get_function(FunctionName=self.prefix + name)["Code"]
            assert config["PackageType"] == "Image"
            assert code["ImageUri"].endswith(f".amazonaws.com/{(self.prefix + name).lower()}:{entry['image']['tag']}")
        else:
            assert (config["Runtime"], config["Handler"]) == (entry["runtime"], entry["handler"])
            assert config["CodeSha256"] == entry["source_code_hash"]
        self._check_role_policy(config, entry, resource_names)
        return config["FunctionArn"]

    def _check_role_policy(self, config: dict, entry: dict, resource_names: dict) -> None:
        iam = self.client("iam")
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
                elif statement["Sid"].startswith(("Trigger", "Destination")):
                    continue  # checked below against the function's triggers and destinations
                else:
                    assert _resource_name(resource) in own, resource
        granted = {
            _resource_name(r)
            for s in statements
            if s["Sid"].startswith(("Table", "Bucket", "Secret"))
            for r in _as_list(s["Resource"])
        }
        assert granted == own
        triggers = [s for s in statements if s["Sid"].startswith("Trigger")]
        _check_trigger_statements(triggers, entry, self.prefix)
        destinations = {s["Sid"]: (s["Action"], s["Resource"]) for s in statements if s["Sid"].startswith("Destin")}
        assert destinations == _destination_statements(entry, self.prefix), config["FunctionName"]

    def _check_function_urls(self, functions: dict) -> None:
        client = self.client("lambda")
        for name, entry in functions.items():
            if entry.get("function_url"):
                config = client.get_function_url_config(FunctionName=self.prefix + name)
                assert config["AuthType"] == entry["function_url"]["auth_type"]
                cors = entry["function_url"]["cors"]
                assert (config.get("Cors") or {}).get("AllowOrigins") == (cors["allow_origins"] if cors else None)

    def _check_routes(self, functions: dict, declared: dict, arns: dict) -> None:
        client = self.client("apigatewayv2")
        api = next(api for api in client.get_apis()["Items"] if api["Name"] == f"{self.prefix}api")
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
        assert stage["AccessLogSettings"]["DestinationArn"].endswith(f":log-group:/aws/apigateway/{self.prefix}api")

    def _check_tables(self) -> None:
        client = self.client("dynamodb")
        for name in ("predictions", "items"):
            table = client.describe_table(TableName=self.prefix + name)["Table"]
            assert table["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
            assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
            assert table["SSEDescription"]["Status"] == "ENABLED"
            backups = client.describe_continuous_backups(TableName=self.prefix + name)["ContinuousBackupsDescription"]
            assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"

    def _check_buckets(self, arns: dict) -> None:
        client = self.client("s3")
        for name in ("models", "uploads", "thumbnails", "artifacts"):
            bucket = f"{self.prefix}{name}-{ACCOUNT}"
            block = client.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
            assert all(block.values()) and len(block) == 4
            assert client.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
            rules = client.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
            assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
        notifications = client.get_bucket_notification_configuration(Bucket=f"{self.prefix}uploads-{ACCOUNT}")
        [notification] = notifications["LambdaFunctionConfigurations"]
        assert notification["LambdaFunctionArn"] == arns["resize_image"]
        assert notification["Events"] == ["s3:ObjectCreated:*"]

    def _check_destinations(self, functions: dict, arns: dict) -> None:
        client = self.client("lambda")
        declared = {
            name: entry["destinations"] for name, entry in functions.items() if any(entry["destinations"].values())
        }
        assert declared, "the example functions declare destinations"
        for name, destinations in declared.items():
            config = client.get_function_event_invoke_config(FunctionName=self.prefix + name)["DestinationConfig"]
            for kind, key in (("on_success", "OnSuccess"), ("on_failure", "OnFailure")):
                target = destinations[kind]
                expected = _destination_arn(target, self.prefix, arns) if target else None
                assert config.get(key, {}).get("Destination") == expected, (name, kind)

    def _check_state_machines(self, chains: dict, arns: dict) -> None:
        client = self.client("stepfunctions")
        machines = {m["name"]: m["stateMachineArn"] for m in client.list_state_machines()["stateMachines"]}
        assert chains, "the example functions declare chains"
        for name, chain in chains.items():
            definition = json.loads(
                client.describe_state_machine(stateMachineArn=machines[self.prefix + name])["definition"]
            )
            steps = chain["steps"]
            assert definition["StartAt"] == steps[0]
            for step, following in zip(steps, [*steps[1:], None], strict=True):
                state = definition["States"][step]
                assert state["Resource"] == arns[step]
                assert state.get("Next") == following and state.get("End", False) is (following is None)


# What each trigger kind's poller needs from the role, exactly (on the source only).
SOURCE_ACTIONS = {
    "sqs": ["sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"],
    "dynamodb_stream": ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"],
}


def _check_trigger_statements(statements: list[dict], entry: dict, prefix: str) -> None:
    """A role holds the actions its event source mappings need, on those sources, and nothing else."""
    expected = []
    for trigger in entry.get("triggers", []):
        if trigger["type"] == "sqs":
            queue = f"arn:aws:sqs:us-east-1:{ACCOUNT}:{prefix}{trigger['queue']}"
            expected.append((SOURCE_ACTIONS["sqs"], [queue]))
        elif trigger["type"] == "dynamodb_stream":
            expected.append((SOURCE_ACTIONS["dynamodb_stream"], ["stream"]))
            expected.append((["dynamodb:ListStreams"], ["*"]))
            if trigger["on_failure"]:
                name = trigger["on_failure"].split(":", 1)[1]
                expected.append((["sqs:SendMessage"], [f"arn:aws:sqs:us-east-1:{ACCOUNT}:{prefix}{name}"]))
    found = []
    for statement in statements:
        resources = _as_list(statement["Resource"])
        if statement["Action"] == SOURCE_ACTIONS["dynamodb_stream"]:
            assert all(f":table/{prefix}" in r and "/stream/" in r for r in resources), resources
            resources = ["stream"]
        found.append((_as_list(statement["Action"]), resources))
    assert sorted(found) == sorted(expected)


def _variable(grant: dict) -> str:
    """The environment variable telling a function the resource of `grant`: TABLE_ITEMS, SECRET_ITEMS_TOKEN_KEY."""
    return f"{grant['type']}_{grant['name']}".upper().replace("-", "_")


def _destination_arn(target: str, prefix: str, function_arns: dict) -> str:
    """The ARN a function.toml destination names: a function's, or a queue's or topic's of resources.toml."""
    kind, _, name = target.rpartition(":")
    service = {"": None, "queue": "sqs", "topic": "sns"}[kind]
    return function_arns[name] if service is None else f"arn:aws:{service}:us-east-1:{ACCOUNT}:{prefix}{name}"


def _destination_statements(entry: dict, prefix: str) -> dict:
    """What a role needs to deliver its destinations' records: each target's one action, on it only."""
    by_service: dict[str, list[str]] = {}
    for target in filter(None, entry["destinations"].values()):
        kind, _, name = target.rpartition(":")
        service = {"": "lambda", "queue": "sqs", "topic": "sns"}[kind]
        arn = (
            f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{prefix}{name}"
            if service == "lambda"
            else f"arn:aws:{service}:us-east-1:{ACCOUNT}:{prefix}{name}"
        )
        by_service.setdefault(service, []).append(arn)
    sids = {"lambda": "Destinations", "sqs": "DestinationQueues", "sns": "DestinationTopics"}
    actions = {"lambda": "lambda:InvokeFunction", "sqs": "sqs:SendMessage", "sns": "sns:Publish"}
    return {sids[service]: ([actions[service]], arns) for service, arns in by_service.items()}


def _as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


def _resource_name(arn: str) -> str:
    """Table, bucket or secret name of a table, index, bucket, object or secret ARN (Secrets Manager adds '-' and
    six random characters to a secret's name)."""
    tail = arn.split(":")[-1]
    if ":secretsmanager:" in arn:
        return tail[:-7]
    return tail.removeprefix("table/").split("/")[0]
