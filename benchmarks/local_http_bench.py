#!/usr/bin/env python3
"""Embedded endpoint figure: HTTP latency of a trivial HTTP API route with a warm execution environment.

    python benchmarks/local_http_bench.py [--requests 300] [--enforced-call]

Starts `build.py local` on a free loopback port, deploys a one-line function behind `GET /ping` and, behind a
Lambda authorizer whose verdict is cached (TTL 300 s), `GET /guarded`, with boto3 (as Terraform would), warms
them, then times requests from a new connection each (as curl does).
With `--enforced-call` the function also reads a DynamoDB item with its role's credentials on every request, so
each request includes one call the endpoint checks against the role's policies (issue 14).
Goal (issues 5 and 16): median <= 10 ms, with the authorizer cached too.
"""

import argparse
import http.client
import io
import json
import sys
import time
import zipfile
from pathlib import Path

import boto3

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _stats import median, percentile  # noqa: E402

from lambdafleet.testing.endpoint import start_build_py_local  # noqa: E402

HANDLER = "def lambda_handler(event, context):\n    return {'statusCode': 200, 'body': 'pong'}\n"
AUTHORIZER = "def lambda_handler(event, context):\n    return {'isAuthorized': True, 'context': {'who': 'bench'}}\n"
CALLING_HANDLER = """import boto3
TABLE = boto3.client("dynamodb")

def lambda_handler(event, context):
    TABLE.get_item(TableName="bench", Key={"id": {"S": "1"}})
    return {'statusCode': 200, 'body': 'pong'}
"""
TRUST = {
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]
}


def _zip(source: str) -> bytes:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("lambda_function.py", source)
    return archive.getvalue()


def _grant_a_table(options: dict) -> None:
    """A table `bench` the role `bench` may read."""
    table = boto3.client("dynamodb", **options).create_table(
        TableName="bench",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )["TableDescription"]
    grant = {"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": table["TableArn"]}
    boto3.client("iam", **options).put_role_policy(
        RoleName="bench", PolicyName="read", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [grant]})
    )


def _deploy(url: str, enforced_call: bool = False) -> str:
    """A function behind GET /ping and, Lambda-authorized, GET /guarded on a $default stage; returns the API id.
    With `enforced_call`, the function reads a DynamoDB item its role is allowed to read."""
    options = {"endpoint_url": url, "region_name": "us-east-1", "aws_access_key_id": "x", "aws_secret_access_key": "x"}
    role = boto3.client("iam", **options).create_role(RoleName="bench", AssumeRolePolicyDocument=json.dumps(TRUST))
    if enforced_call:
        _grant_a_table(options)
    arns = {}
    for name, source in (("ping", CALLING_HANDLER if enforced_call else HANDLER), ("gate", AUTHORIZER)):
        arns[name] = boto3.client("lambda", **options).create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=role["Role"]["Arn"],
            Handler="lambda_function.lambda_handler",
            Code={"ZipFile": _zip(source)},
            Timeout=30,  # a cold start importing boto3 on a loaded machine can pass Lambda's default 3 s
        )["FunctionArn"]
        boto3.client("lambda", **options).get_waiter("function_active_v2").wait(FunctionName=name)  # Pending first
    gateway = boto3.client("apigatewayv2", **options)
    api_id = gateway.create_api(Name="bench", ProtocolType="HTTP")["ApiId"]
    integration = gateway.create_integration(
        ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationUri=arns["ping"], PayloadFormatVersion="2.0"
    )
    authorizer = gateway.create_authorizer(
        ApiId=api_id,
        Name="gate",
        AuthorizerType="REQUEST",
        AuthorizerUri=arns["gate"],
        AuthorizerPayloadFormatVersion="2.0",
        EnableSimpleResponses=True,
        AuthorizerResultTtlInSeconds=300,
        IdentitySource=["$request.header.Authorization"],
    )["AuthorizerId"]
    target = f"integrations/{integration['IntegrationId']}"
    gateway.create_route(ApiId=api_id, RouteKey="GET /ping", Target=target)
    gateway.create_route(
        ApiId=api_id, RouteKey="GET /guarded", Target=target, AuthorizationType="CUSTOM", AuthorizerId=authorizer
    )
    gateway.create_stage(ApiId=api_id, StageName="$default", AutoDeploy=True)
    return api_id


def _get_ms(port: int, path: str) -> float:
    start = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", path, headers={"Authorization": "bench-token"})
    response = connection.getresponse()
    body = response.read()
    connection.close()
    elapsed = (time.perf_counter() - start) * 1000
    if (response.status, body) != (200, b"pong"):
        raise RuntimeError(f"GET {path}: {response.status} {body!r}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--enforced-call", action="store_true", help="the function makes one IAM-checked call")
    args = parser.parse_args()
    url, server = start_build_py_local(ROOT)
    port = int(url.rsplit(":", 1)[1])
    try:
        api_id = _deploy(url, args.enforced_call)
        path, guarded = f"/_api/{api_id}/ping", f"/_api/{api_id}/guarded"
        cold = _get_ms(port, path)
        for _ in range(20):  # warm the environments (the authorizer's too) and the server's code paths
            _get_ms(port, path)
            _get_ms(port, guarded)
        samples = sorted(_get_ms(port, path) for _ in range(args.requests))
        authorized = sorted(_get_ms(port, guarded) for _ in range(args.requests))
    finally:
        server.terminate()
        server.wait(timeout=30)
    figures = {
        "first request (cold start) ms": round(cold, 1),
        "median ms": round(median(samples), 2),
        "p90 ms": round(percentile(samples, 0.9), 2),
        "authorizer cached median ms": round(median(authorized), 2),
        "authorizer cached p90 ms": round(percentile(authorized, 0.9), 2),
        "requests": len(samples),
        "enforced call per request": args.enforced_call,
    }
    print(json.dumps(figures))
    print(f"warm HTTP route, median of {len(samples)}: {figures['median ms']} ms   (goal <= 10 ms)")
    print(
        f"same route behind a cached Lambda authorizer: {figures['authorizer cached median ms']} ms   (goal <= 10 ms)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
