"""notify against a documented destination invocation record and a chain step's input, on moto."""

import json
import uuid

import boto3
import pytest

PREDICTION = {"prediction": "setosa", "probabilities": {"setosa": 0.98}, "model": "iris.npz"}


@pytest.fixture
def table(new_table, monkeypatch) -> str:
    name = new_table("predictions")
    monkeypatch.setenv("TABLE_PREDICTIONS", name)
    return name


def _stored_prediction(table: str) -> dict:
    prediction = {**PREDICTION, "id": str(uuid.uuid4())}
    boto3.client("dynamodb").put_item(
        TableName=table, Item={"id": {"S": prediction["id"]}, "prediction": {"S": "setosa"}}
    )
    return prediction


def _destination_record(prediction: dict) -> dict:
    """The on_success record Lambda sends for an asynchronous invocation (AWS documentation's shape)."""
    return {
        "version": "1.0",
        "timestamp": "2019-11-14T18:16:05.568Z",
        "requestContext": {
            "requestId": "e4b46cbf-b738-xmpl-8880-a18cdf61200e",
            "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:predict:$LATEST",
            "condition": "Success",
            "approximateInvokeCount": 1,
        },
        "requestPayload": {"features": [5.1, 3.5, 1.4, 0.2]},
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST"},
        "responsePayload": prediction,
    }


def _item(table: str, item_id: str) -> dict:
    return boto3.client("dynamodb").get_item(TableName=table, Key={"id": {"S": item_id}})["Item"]


def test_destination_record_is_stored_on_the_prediction(lambda_module, table):
    record = _destination_record(_stored_prediction(table))
    result = lambda_module.lambda_handler(record, None)
    item = _item(table, result["id"])
    assert item["notified_via"] == {"S": "destination"}
    assert json.loads(item["invocation_record"]["S"]) == record
    assert item["prediction"] == {"S": "setosa"}


def test_chain_step_input_is_the_prediction_itself(lambda_module, table):
    prediction = _stored_prediction(table)
    assert lambda_module.lambda_handler(prediction, None) == {"id": prediction["id"], "notified_via": "chain"}
    assert json.loads(_item(table, prediction["id"])["invocation_record"]["S"]) == prediction


def test_unknown_prediction_is_not_created(lambda_module, table):
    with pytest.raises(boto3.client("dynamodb").exceptions.ConditionalCheckFailedException):
        lambda_module.lambda_handler({**PREDICTION, "id": "never-stored"}, None)
    assert "Item" not in boto3.client("dynamodb").get_item(TableName=table, Key={"id": {"S": "never-stored"}})


@pytest.mark.parametrize("event", [{}, {"responsePayload": None}, {"responsePayload": {"id": 7}}])
def test_events_without_a_prediction_are_rejected(lambda_module, event):
    with pytest.raises(ValueError, match="neither"):
        lambda_module.lambda_handler(event, None)
