"""Every HTTP-front-door setting the manifest can carry, through `terraform apply` of infra/envs/local: payload
1.0, stage and route throttling, a Lambda authorizer, AWS_IAM and JWT routes, CORS, a public function URL with its
own CORS; then an empty second plan."""

import base64
import hashlib
import io
import json
import zipfile
from pathlib import Path

import boto3
import pytest

pytestmark = pytest.mark.integration

PREFIX = "tfhttp-"
HANDLER = "def lambda_handler(event, context):\n    return {'statusCode': 200, 'body': 'ok'}\n"
CORS = {
    "allow_origins": ["https://app.example"],
    "allow_methods": ["GET"],
    "allow_headers": ["authorization"],
    "expose_headers": ["x-total"],
    "allow_credentials": True,
    "max_age": 60,
}


def _function(name: str, tmp_path: Path, **changes: object) -> dict:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(zipfile.ZipInfo("lambda_function.py", (2020, 1, 1, 0, 0, 0)), HANDLER)
    (tmp_path / f"{name}.zip").write_bytes(buffer.getvalue())
    digest = hashlib.sha256(buffer.getvalue()).digest()
    return {
        "name": name,
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
        "payload_format_version": "2.0",
        "function_url": None,
        "destinations": {"on_success": None, "on_failure": None},
        "permissions": [],
        "zip": f"{name}.zip",
        "sha256": digest.hex(),
        "source_code_hash": base64.b64encode(digest).decode(),
        "s3": None,
        "image": None,
        **changes,
    }


def test_every_front_door_setting_applies_and_replans_empty(
    make_terraform, infra_copy: Path, aws_env: str, tmp_path: Path
) -> None:
    functions = {
        "web": _function(
            "web",
            tmp_path,
            routes=["GET /iam", "GET /gated", "GET /jwt", "GET /busy"],
            payload_format_version="1.0",
            function_url={"auth_type": "NONE", "cors": CORS},
        ),
        "gate": _function("gate", tmp_path),
    }
    api = {
        "cors": CORS,
        "throttling": {"rate_limit": 50.0, "burst_limit": 20},
        "authorizers": {
            "gate": {
                "type": "lambda",
                "function": "gate",
                "simple_responses": True,
                "result_ttl": 60,
                "identity_sources": ["$request.header.Authorization"],
            },
            "users": {
                "type": "jwt",
                "issuer": "https://local-issuer.lambdafleet.invalid",
                "audience": ["app"],
                "identity_sources": ["$request.header.Authorization"],
            },
        },
        "routes": {
            "GET /iam": {"authorization": "AWS_IAM", "scopes": [], "throttling": None},
            "GET /gated": {"authorization": "gate", "scopes": [], "throttling": None},
            "GET /jwt": {"authorization": "users", "scopes": ["read"], "throttling": None},
            "GET /busy": {"authorization": "NONE", "scopes": [], "throttling": {"rate_limit": 1.0, "burst_limit": 1}},
        },
    }
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"schema_version": 1, "functions": functions, "chains": {}, "api": api}))
    terraform = make_terraform(infra_copy / "envs" / "local")
    terraform.setup(init_vars={"path": str(tmp_path / "terraform.tfstate")})
    variables = {
        "endpoint_url": aws_env,
        "manifest_path": str(manifest),
        "name_prefix": PREFIX,
        "tables": "{}",
        "buckets": "{}",
    }
    terraform.apply(tf_vars=variables)
    try:
        _check(functions)
        var_args = [arg for name, value in variables.items() for arg in ("-var", f"{name}={value}")]
        second = terraform.execute_command("plan", "-detailed-exitcode", "-input=false", "-no-color", *var_args)
        assert second.retcode == 0, f"second plan is not empty:\n{second.out}"
    finally:
        terraform.destroy(tf_vars=variables)


def _check(functions: dict) -> None:
    client = boto3.client("apigatewayv2")
    api = next(api for api in client.get_apis()["Items"] if api["Name"] == f"{PREFIX}api")
    assert api["CorsConfiguration"]["AllowCredentials"] is True
    routes = {route["RouteKey"]: route for route in client.get_routes(ApiId=api["ApiId"])["Items"]}
    assert routes["GET /iam"]["AuthorizationType"] == "AWS_IAM"
    assert routes["GET /gated"]["AuthorizationType"] == "CUSTOM"
    assert (routes["GET /jwt"]["AuthorizationType"], routes["GET /jwt"]["AuthorizationScopes"]) == ("JWT", ["read"])
    gate = client.get_authorizer(ApiId=api["ApiId"], AuthorizerId=routes["GET /gated"]["AuthorizerId"])
    assert (gate["AuthorizerType"], gate["AuthorizerResultTtlInSeconds"]) == ("REQUEST", 60)
    integration = client.get_integrations(ApiId=api["ApiId"])["Items"][0]
    assert integration["PayloadFormatVersion"] == "1.0"
    stage = client.get_stage(ApiId=api["ApiId"], StageName="$default")
    assert stage["DefaultRouteSettings"]["ThrottlingBurstLimit"] == 20
    assert stage["RouteSettings"]["GET /busy"]["ThrottlingRateLimit"] == 1.0
    url = boto3.client("lambda").get_function_url_config(FunctionName=f"{PREFIX}web")
    assert (url["AuthType"], url["Cors"]["AllowOrigins"]) == ("NONE", ["https://app.example"])
