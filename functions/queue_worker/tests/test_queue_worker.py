"""queue_worker against an SQS event shaped as the Lambda developer guide shows it, on moto."""

import json

import boto3
import pytest


@pytest.fixture
def table(new_table, monkeypatch) -> str:
    name = new_table("jobs")
    monkeypatch.setenv("TABLE_JOBS", name)
    return name


def _record(message_id: str, body: dict) -> dict:
    return {
        "messageId": message_id,
        "receiptHandle": "MessageReceiptHandle",
        "body": json.dumps(body),
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": "1523232000000",
            "SenderId": "123456789012",
            "ApproximateFirstReceiveTimestamp": "1523232000001",
        },
        "messageAttributes": {},
        "md5OfBody": "7b270e59b47ff90a553787216d55d91d",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:jobs",
        "awsRegion": "us-east-1",
    }


def test_reports_only_the_failed_messages(lambda_module, table: str) -> None:
    event = {"Records": [_record("m1", {"id": "a"}), _record("m2", {"id": "b", "poison": True}), _record("m3", {})]}
    result = lambda_module.lambda_handler(event, None)
    assert result == {"batchItemFailures": [{"itemIdentifier": "m2"}, {"itemIdentifier": "m3"}]}
    item = boto3.client("dynamodb").get_item(TableName=table, Key={"id": {"S": "a"}})["Item"]
    assert item["handled"] == {"N": "1"}


def test_a_second_delivery_shows_as_two(lambda_module, table: str) -> None:
    event = {"Records": [_record("m1", {"id": "a"})]}
    lambda_module.lambda_handler(event, None)
    lambda_module.lambda_handler(event, None)
    item = boto3.client("dynamodb").get_item(TableName=table, Key={"id": {"S": "a"}})["Item"]
    assert item["handled"] == {"N": "2"}
