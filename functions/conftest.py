"""Lets each function's own tests import that function's handler module.

Every function has a `lambda_function.py`, so they cannot all sit on sys.path at once; the
`lambda_module` fixture imports the one belonging to the test's function folder and forgets it
(and its sibling modules) afterwards.
"""

import importlib
import sys
import urllib.parse
import uuid
from pathlib import Path

import boto3
import pytest


def _function_dir(test_path: Path) -> Path:
    for parent in test_path.parents:
        if parent.parent.name == "functions":
            return parent
    raise LookupError(f"{test_path} is not inside functions/<name>/")


@pytest.fixture
def lambda_module(request):
    function_dir = _function_dir(Path(request.path))
    sys.path.insert(0, str(function_dir))
    try:
        yield importlib.import_module("lambda_function")
    finally:
        sys.path.remove(str(function_dir))
        for name, module in list(sys.modules.items()):
            if str(getattr(module, "__file__", "") or "").startswith(str(function_dir)):
                del sys.modules[name]


def _http_api_event(method: str, path: str, body: str | None = None, query: dict | None = None) -> dict:
    """An API Gateway HTTP API (payload format 2.0) event, shaped like the AWS documentation's example."""
    query = query or {}
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": urllib.parse.urlencode(query),
        "headers": {"content-type": "application/json", "host": "api.example.com"},
        **({"queryStringParameters": query} if query else {}),
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api-id",
            "domainName": "api.example.com",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "192.0.2.1",
                "userAgent": "agent",
            },
            "requestId": "id",
            "routeKey": "$default",
            "stage": "$default",
            "time": "12/Mar/2020:19:03:58 +0000",
            "timeEpoch": 1583348638390,
        },
        **({"body": body} if body is not None else {}),
        "isBase64Encoded": False,
    }


@pytest.fixture
def http_event():
    """Builds HTTP API events: `http_event("POST", "/predict", body='{"features": []}')`."""
    return _http_api_event


@pytest.fixture
def new_table(aws_env):
    """Creates a DynamoDB table with the examples' key schema (`id`, string) and returns its unique name."""

    def create(prefix: str) -> str:
        name = f"{prefix}-{uuid.uuid4()}"
        boto3.client("dynamodb").create_table(
            TableName=name,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        return name

    return create


@pytest.fixture
def new_bucket(aws_env):
    """Creates an S3 bucket with a unique name and returns that name."""

    def create(prefix: str) -> str:
        name = f"{prefix}-{uuid.uuid4()}"
        boto3.client("s3").create_bucket(Bucket=name)
        return name

    return create


@pytest.fixture
def zip_invoke(aws_env, lambda_build_dir):
    """`zip_invoke(name, event, **env)`: runs functions/<name> from its built zip through the local runtime
    (awslambdaric, Lambda's environment variables), pointed at the moto server, with `env` added to its
    environment as Terraform would set it. Environments stay warm within one test."""
    from lambdafleet.runtime.from_repo import open_function

    pools = {}
    credentials = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "x"}
    root = Path(__file__).resolve().parent.parent

    def invoke(name: str, event: object, **env: str):
        key = (name, tuple(sorted(env.items())))
        if key not in pools:
            extra = {"AWS_ENDPOINT_URL": aws_env, **env}
            pools[key] = open_function(root, name, out_dir=lambda_build_dir, credentials=credentials, extra_env=extra)
        return pools[key].invoke(event)

    yield invoke
    for pool in pools.values():
        pool.close()
