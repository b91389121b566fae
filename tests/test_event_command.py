"""`build.py event KIND`: each sample event has the shape of AWS's documented example of that trigger.

tests/fixtures/events/ holds the examples of the Lambda developer guide (S3, SQS, DynamoDB Streams, SNS, EventBridge
events and scheduled events) and the API Gateway developer guide (HTTP API payload formats 2.0 and 1.0). A shape is
the set of key paths with their JSON types; maps keyed by data (headers, DynamoDB items, attributes) count as one
object whatever their keys.
"""

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import one_line_error

EXAMPLES = Path(__file__).resolve().parent / "fixtures" / "events"
OPAQUE = {
    "headers",
    "multiValueHeaders",
    "queryStringParameters",
    "multiValueQueryStringParameters",
    "Keys",
    "NewImage",
    "OldImage",
    "MessageAttributes",
    "messageAttributes",
    "detail",
    "pathParameters",
    "stageVariables",
}
# What each kind's documented example holds that a plain sample need not: authorizers, client certificates and
# stage variables depend on API settings this project does not use.
OPTIONAL = {
    "http": {"requestContext.authentication", "requestContext.authorizer", "stageVariables", "pathParameters"},
    "http-v1": {"requestContext.identity.clientCert"},
}
# Options that make the sample carry every part the documented example shows.
RICH = {
    "http": [
        *("--method", "POST", "--path", "/my/path?parameter1=value1&parameter1=value2&parameter2=value"),
        *("--body", "Hello from Lambda", "--header", "cookie: cookie1; cookie2"),
    ],
    "http-v1": ["--path", "/my/path?parameter1=value1&parameter1=value2&parameter2=value", "--body", "Hello"],
    "eventbridge": ["--resource", "arn:aws:ec2:us-east-1:123456789012:instance/i-1234567890abcdef0"],
}


def _type(value: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number"
    )


def shape(value: Any, path: str = "") -> dict[str, str]:
    """{key path: JSON type}; list items share the path `name[]`, data-keyed maps stay one object."""
    found = {path: _type(value)} if path else {}
    if isinstance(value, dict) and path.rsplit(".", 1)[-1] not in OPAQUE:
        for key, item in value.items():
            found.update(shape(item, f"{path}.{key}" if path else key))
    elif isinstance(value, list):
        for item in value:
            found.update(shape(item, f"{path}[]"))
    return found


def _documented(kind: str) -> dict[str, Any]:
    return json.loads((EXAMPLES / f"{kind}.json").read_text())


def _event(run_cli, *args: str) -> dict[str, Any]:
    result = run_cli("event", *args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("kind", ["http", "http-v1", "s3", "sqs", "dynamodb", "sns", "eventbridge", "schedule"])
def test_the_sample_has_the_shape_of_the_documented_example(run_cli, kind: str) -> None:
    generated, documented = shape(_event(run_cli, kind, *RICH.get(kind, []))), shape(_documented(kind))
    optional = OPTIONAL.get(kind, set())
    extra = {path for path in generated if path not in documented}
    assert not extra, f"not in AWS's example: {sorted(extra)}"
    missing = {path for path in documented if path not in generated and not path.startswith(tuple(optional))}
    assert not missing, f"AWS's example has, the sample lacks: {sorted(missing)}"
    differing = {
        path: (generated[path], documented[path])
        for path in generated
        if generated[path] != documented[path] and "null" not in (generated[path], documented[path])
    }
    assert not differing, differing


def test_http_sample_carries_the_request_as_a_route_sees_it(run_cli) -> None:
    event = _event(run_cli, "http", "--method", "put", "--path", "/items/7?a=1&a=2", "--route", "PUT /items/{id}")
    assert (event["routeKey"], event["rawPath"], event["rawQueryString"]) == ("PUT /items/{id}", "/items/7", "a=1&a=2")
    assert event["requestContext"]["http"]["method"] == "PUT"
    assert event["queryStringParameters"] == {"a": "1,2"}  # repeated names joined, as API Gateway sends them
    assert "body" not in event and event["isBase64Encoded"] is False


def test_s3_sample_encodes_the_key_as_s3_does(run_cli) -> None:
    [record] = _event(run_cli, "s3", "--bucket", "photos", "--key", "in/a b+c.png", "--size", "7")["Records"]
    assert record["s3"]["object"]["key"] == "in/a+b%2Bc.png" and record["s3"]["object"]["size"] == 7
    assert record["s3"]["bucket"]["arn"] == "arn:aws:s3:::photos"
    assert record["eventName"] == "ObjectCreated:Put"


def test_sqs_sample_has_the_checksum_of_its_body(run_cli) -> None:
    [record] = _event(run_cli, "sqs", "--queue", "jobs", "--message", '{"job": 1}')["Records"]
    assert record["body"] == '{"job": 1}'
    assert record["md5OfBody"] == hashlib.md5(b'{"job": 1}').hexdigest()
    assert record["eventSourceARN"] == "arn:aws:sqs:us-east-1:123456789012:jobs"


def test_dynamodb_sample_follows_the_event_name(run_cli) -> None:
    removed = _event(run_cli, "dynamodb", "--event-name", "REMOVE", "--keys", '{"pk": {"S": "a"}}')["Records"][0]
    assert removed["eventName"] == "REMOVE" and "NewImage" not in removed["dynamodb"]
    assert removed["dynamodb"]["Keys"] == removed["dynamodb"]["OldImage"] == {"pk": {"S": "a"}}


def test_eventbridge_and_schedule_samples(run_cli) -> None:
    event = _event(run_cli, "eventbridge", "--source", "shop", "--detail-type", "Order", "--detail", '{"id": 3}')
    assert (event["source"], event["detail-type"], event["detail"]) == ("shop", "Order", {"id": 3})
    scheduled = _event(run_cli, "schedule", "--rule", "nightly")
    assert scheduled["resources"] == ["arn:aws:events:us-east-1:123456789012:rule/nightly"]


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["dynamodb", "--keys", "{nope"], ["--keys: not valid JSON"]),
        (["eventbridge", "--detail", "[1]"], ["--detail: must be a JSON object"]),
        (["http", "--path", "health"], ["--path 'health': must start with /"]),
        (["http", "--header", "nocolon"], ["--header 'nocolon': expected NAME:VALUE"]),
        (["dynamodb", "--event-name", "UPSERT"], ["--event-name 'UPSERT'", "INSERT, MODIFY, REMOVE"]),
        (["kinesis"], ["invalid choice: 'kinesis'"]),
    ],
)
def test_bad_options_are_one_line_errors(run_cli, args: list[str], fragments: list[str]) -> None:
    one_line_error(run_cli("event", *args), *fragments)
