"""audit_log against a DynamoDB Streams event shaped as the Lambda developer guide shows it, on moto."""

import boto3
import pytest


@pytest.fixture
def table(new_table, monkeypatch) -> str:
    name = new_table("audit")
    monkeypatch.setenv("TABLE_AUDIT", name)
    return name


def _record(event_id: str, name: str, item: dict) -> dict:
    return {
        "eventID": event_id,
        "eventName": name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": {
            "ApproximateCreationDateTime": 1479499740,
            "Keys": {"id": item["id"]},
            "NewImage": item,
            "SequenceNumber": "13021600000000001596893679",
            "SizeBytes": 112,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
        "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/items/stream/2016-11-16T20:42:48.104",
    }


def test_one_audit_item_per_change(lambda_module, table: str) -> None:
    event = {"Records": [_record("e1", "INSERT", {"id": {"S": "a"}}), _record("e2", "MODIFY", {"id": {"S": "a"}})]}
    assert lambda_module.lambda_handler(event, None) == {"audited": 2}
    items = boto3.client("dynamodb").scan(TableName=table)["Items"]
    assert sorted(i["event"]["S"] for i in items) == ["INSERT", "MODIFY"]


def test_a_refused_item_fails_the_batch(lambda_module, table: str) -> None:
    event = {"Records": [_record("e1", "INSERT", {"id": {"S": "a"}, "audit": {"S": "refuse"}})]}
    with pytest.raises(ValueError, match="refuses auditing"):
        lambda_module.lambda_handler(event, None)
