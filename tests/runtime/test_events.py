"""Event shapes from the AWS documentation (API Gateway HTTP API v2, S3, SQS) arrive intact."""

import json
from pathlib import Path

import pytest

EVENTS = Path(__file__).with_name("events")
HANDLER = """
    import hashlib, urllib.parse

    def lambda_handler(event, context):
        if event.get("version") == "2.0":
            http = event["requestContext"]["http"]
            body = f"{http['method']} {event['rawPath']}: {event['body']}"
            return {"statusCode": 200, "headers": {"content-type": "text/plain"}, "body": body}
        records = event["Records"]
        if records[0]["eventSource"] == "aws:s3":
            return [urllib.parse.unquote_plus(r["s3"]["object"]["key"]) for r in records]
        failures = [r["messageId"] for r in records if hashlib.md5(r["body"].encode()).hexdigest() != r["md5OfBody"]]
        return {"batchItemFailures": [{"itemIdentifier": m} for m in failures], "count": len(records)}
"""


@pytest.mark.parametrize(
    ("event_file", "expected"),
    [
        (
            "apigateway-http-v2.json",
            {"statusCode": 200, "headers": {"content-type": "text/plain"}, "body": "POST /my/path: Hello from Lambda"},
        ),
        ("s3-put.json", ["test/key"]),
        ("sqs.json", {"batchItemFailures": [], "count": 2}),
    ],
)
def test_documented_event(make_pool, event_file, expected):
    event = json.loads((EVENTS / event_file).read_text())
    assert make_pool(HANDLER).invoke(event).response == expected
